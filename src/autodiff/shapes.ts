import type { DType } from '../onnx/dtype.js';
import type { Dim, Graph, Node } from '../onnx/graph.js';
import { GraftError } from '../errors.js';
import { tensorFacts } from '../onnx/shape-rules/helpers.js';
import { SHAPE_RULES, type ShapeContext, type ValueFacts } from '../onnx/shape-rules/index.js';
import type { Tensor } from '../onnx/tensor.js';

/** Element type and shape of a value; either may be unknown. */
export interface ValueType {
  dtype?: DType;
  shape?: Dim[];
}

/**
 * Static types of one graph's values, kept current while the backward pass appends nodes: each node is
 * inferred as it is emitted, with the shared rules of `onnx/shape-rules` (the ones `inferShapes` uses).
 * Rules need shapes to undo broadcasting and to choose cheap formulations. Declared value_info seeds it.
 */
export class TypeEnv {
  private readonly facts = new Map<string, ValueFacts>();

  constructor(readonly opset: number) {}

  /** Seeds from value_info, outputs, inputs and initializers, then infers every node in order. */
  static fromGraph(graph: Graph, opset: number): TypeEnv {
    const env = new TypeEnv(opset);
    for (const v of graph.valueInfo.values()) env.declare(v.name, v);
    for (const v of graph.outputs) env.declare(v.name, v);
    for (const v of graph.inputs) env.declare(v.name, v);
    for (const t of graph.initializers.values()) {
      // an initializer that is also a graph input is only a default value: its contents may change
      if (graph.isGraphInput(t.name)) env.declare(t.name, { dtype: t.dtype, shape: [...t.dims] });
      else env.addTensor(t.name, t);
    }
    // Nodes listed before their producers wait for a later sweep (graphs are normally sorted: one sweep).
    const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
    const done = new Set<string>();
    let pending = graph.nodes;
    while (pending.length) {
      const waiting: Node[] = [];
      for (const n of pending) {
        if (n.inputs.some((v) => v && produced.has(v) && !done.has(v))) {
          waiting.push(n);
          continue;
        }
        env.infer(n);
        for (const o of n.outputs) done.add(o);
      }
      if (waiting.length === pending.length) break; // a cycle: checkGraph reports it
      pending = waiting;
    }
    return env;
  }

  type(value: string): ValueType | undefined {
    const f = this.facts.get(value);
    return f && { dtype: f.dtype, shape: f.shape };
  }

  shape(value: string): Dim[] | undefined {
    return this.facts.get(value)?.shape;
  }

  dtype(value: string): DType | undefined {
    return this.facts.get(value)?.dtype;
  }

  /** Elements of a small tensor known before running (dims taken from a `Shape` may be symbolic). */
  contents(value: string): Dim[] | undefined {
    return this.facts.get(value)?.value;
  }

  /** Contents as plain numbers, when every element is a known number. */
  numbers(value: string): number[] | undefined {
    const c = this.facts.get(value)?.value;
    return c && c.every((d): d is number => typeof d === 'number') ? c : undefined;
  }

  /** Merges a declared type with what is already known (the more specific dim wins). */
  declare(value: string, t: ValueType): void {
    const old = this.facts.get(value);
    this.facts.set(value, merge(old, { dtype: t.dtype, shape: t.shape && [...t.shape] }));
  }

  addTensor(name: string, t: Tensor): void {
    this.facts.set(name, tensorFacts(t));
  }

  /** Infers the node's outputs from its inputs; ops without a shape rule leave them as declared. */
  infer(node: Node): void {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return;
    const rule = SHAPE_RULES.get(node.opType);
    if (!rule) return;
    const results: ValueFacts[] = [];
    rule(this.context(node, results));
    node.outputs.forEach((o, i) => {
      const r = results[i];
      if (o && r) this.facts.set(o, merge(this.facts.get(o), r));
    });
  }

  private context(node: Node, results: ValueFacts[]): ShapeContext {
    const get = (i: number) => (node.inputs[i] ? this.facts.get(node.inputs[i]!) : undefined);
    return {
      node,
      opset: this.opset,
      has: (i) => !!node.inputs[i],
      dtype: (i) => get(i)?.dtype,
      shape: (i) => get(i)?.shape,
      value: (i) => get(i)?.value,
      numbers: (i) => {
        const v = get(i)?.value;
        return v && v.every((d): d is number => typeof d === 'number') ? v : undefined;
      },
      set: (i, f) => {
        results[i] = { dtype: f.dtype, shape: f.shape && [...f.shape], value: f.value && [...f.value] };
      },
      fail: (what, f = {}) => {
        throw new GraftError('SHAPE_MISMATCH', `${node.opType}: ${what}`, {
          node: node.label,
          op: node.opType,
          opset: this.opset,
          inputIndex: f.inputIndex,
          expected: f.expected,
          found: f.found,
          fix: f.fix ?? 'check the shapes of the values feeding this node',
        });
      },
      subgraph: () => [],
    };
  }
}

function merge(old: ValueFacts | undefined, t: ValueFacts): ValueFacts {
  if (!old) return t;
  const dtype = t.dtype ?? old.dtype;
  const value = t.value ?? old.value;
  if (!old.shape) return { dtype, shape: t.shape, value };
  if (!t.shape || t.shape.length !== old.shape.length) return { dtype, shape: old.shape, value };
  return { dtype, shape: old.shape.map((d, i) => specific(d, t.shape![i])), value };
}

function specific(a: Dim, b: Dim): Dim {
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The axes a Reduce* node reduces, null for "all axes", undefined when only known at run time. */
export function reduceAxes(
  node: Node,
  opset: number,
  numbers: (v: string) => number[] | undefined,
): number[] | null | undefined {
  const axesAsInput = node.opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
  if (!axesAsInput) {
    const a = node.intsAttr('axes');
    return a && a.length ? a : null;
  }
  const name = node.inputs[1];
  if (!name) return null;
  const c = numbers(name);
  if (!c) return undefined;
  return c.length ? c : null;
}
