import type { DType } from '../onnx/dtype.js';
import type { Dim, Node } from '../onnx/graph.js';
import type { AttrInput } from '../onnx/attrs.js';
import type { OpOptions } from '../onnx/builder.js';
import type { Formulations } from './target.js';

/**
 * What a gradient rule sees: the forward node, names of its inputs/outputs and their gradients,
 * and an `emit` function that appends backward nodes (default ONNX domain only).
 * Rules are pure functions of this context (docs/architecture.md, "Gradient rules": onnxruntime's gradient builder table, JAX's vjp rules).
 */
export interface GradContext {
  readonly node: Node;
  /** default-domain opset of the model */
  readonly opset: number;
  /** formulation choices for the execution provider the graph is built for (target.ts) */
  readonly formulations: Formulations;
  /** name of forward input i ('' when the optional input is absent) */
  I(i: number): string;
  /** name of forward output i */
  O(i: number): string;
  /** name of the gradient flowing into output i, or null when no gradient reaches it */
  GO(i: number): string | null;
  /** true when input i needs a gradient (it leads to a trainable initializer) */
  needsGrad(i: number): boolean;
  /** static shape of a value when known (batch dims may be symbolic strings) */
  shape(value: string): Dim[] | undefined;
  dtype(value: string): DType | undefined;
  /** appends a node; returns its first output */
  emit(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts?: OpOptions,
  ): string;
  /** appends a node; returns all outputs */
  emitN(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts?: OpOptions,
  ): string[];
  /** int64 1-D constant */
  ints(values: readonly number[]): string;
  /** scalar constant of the dtype of `like` (float32 by default) */
  scalar(value: number, like?: string): string;
  /** sums `grad` over the axes along which `target` was broadcast, and reshapes it to target's shape */
  unbroadcast(grad: string, target: string): string;
  /**
   * Contents of a small constant known when the graph is built (an initializer, a Constant node, or a shape
   * computed from static dims), as numbers; undefined when the value is only known at run time.
   */
  constant(value: string): number[] | undefined;
  /** int64 1-D shape of `value`: a constant when its shape is static, else a `Shape` node */
  shapeOf(value: string): string;
  /**
   * The forward node producing `value` (undefined for inputs and initializers), for rules that recognise a
   * pattern around their node (Mul recognises x * Sigmoid(x)).
   */
  producer(value: string): Node | undefined;
}

/** A gradient rule returns one gradient name (or null: no gradient) per forward input. */
export type GradRule = (ctx: GradContext) => (string | null)[];

/** Three explicit states for an op (docs/architecture.md): a rule, every input's gradient is zero, or not differentiable. */
export type GradEntry =
  | {
      kind: 'rule';
      rule: GradRule;
      /** first default-domain opset the rule applies to (inclusive) */
      sinceOpset?: number;
      /** last default-domain opset the rule applies to (inclusive) */
      untilOpset?: number;
      /**
       * Adjusts the forward node before the backward pass when the rule needs a value the node does not
       * produce yet (Dropout's mask). Called only for nodes on the gradient path.
       */
      prepare?: (node: Node, freshName: (base: string) => string, opset: number, formulations: Formulations) => void;
    }
  | { kind: 'zero'; sinceOpset?: number; untilOpset?: number }
  | { kind: 'notDifferentiable'; sinceOpset?: number; untilOpset?: number };

/** What each rule family file exports: op type -> entry, or several entries that split the opset range. */
export type GradTable = Readonly<Record<string, GradEntry | readonly GradEntry[]>>;
