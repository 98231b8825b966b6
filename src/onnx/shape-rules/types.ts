import type { DType } from '../dtype.js';
import type { Dim, Graph, Node } from '../graph.js';

/** What inference knows about one value. */
export interface ValueFacts {
  dtype?: DType;
  /** undefined: rank unknown */
  shape?: Dim[];
  /**
   * Elements (row-major) of a small tensor known before running: initializers, Constant outputs and
   * the shape arithmetic built on `Shape` (Gather, Concat, Slice...), so Reshape targets computed from
   * a symbolic batch size resolve. Elements may be symbols or undefined.
   */
  value?: Dim[];
}

/** The view a shape rule has of its node. Rules are pure: they read inputs and `set` outputs. */
export interface ShapeContext {
  readonly node: Node;
  /** default-domain opset the graph is read under */
  readonly opset: number;
  /** whether input `i` is given (present and not the '' placeholder) */
  has(i: number): boolean;
  dtype(i: number): DType | undefined;
  shape(i: number): Dim[] | undefined;
  /** statically known elements of input `i` */
  value(i: number): Dim[] | undefined;
  /** statically known elements of input `i`, only when every one is a number */
  numbers(i: number): number[] | undefined;
  set(i: number, facts: ValueFacts): void;
  /** throws SHAPE_MISMATCH naming the node */
  fail(what: string, f?: { expected?: string; found?: string; inputIndex?: number; fix?: string }): never;
  /** facts for the outputs of a subgraph attribute, inferred in this node's scope */
  subgraph(g: Graph): ValueFacts[];
}

export type ShapeRule = (ctx: ShapeContext) => void;
