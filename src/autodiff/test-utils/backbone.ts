// Helpers for whole-network training-graph tests and benchmarks.
import type { Graph, Model } from '../../onnx/graph.js';

/** Parameters ordered by the position of their first consumer in the (sorted) forward graph. */
export function paramsInOrder(graph: Graph, params: readonly string[]): string[] {
  const g = graph.clone().toposort();
  const first = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => first.has(v) || first.set(v, i)));
  return [...params].sort((a, b) => (first.get(a) ?? Infinity) - (first.get(b) ?? Infinity));
}

/**
 * Reads of frozen-prefix activations by the backward pass, as 'node reads value'. A forward value is in
 * the frozen prefix when it does not depend on a trainable parameter; the backward pass may read those
 * consumed directly by a node that does (the boundary: the input of the first trainable layer), and
 * nothing earlier, so onnxruntime can free the prefix's activations as soon as the forward pass is past
 * them. Backward nodes are the training graph's nodes the forward model does not have.
 */
export function frozenPrefixReads(forward: Model, training: Model, trainable: readonly string[]): string[] {
  const fg = forward.graph.clone().toposort();
  const active = new Set(trainable);
  const prefix = new Set<string>(fg.inputs.map((i) => i.name).filter((n) => !fg.initializers.has(n)));
  const boundary = new Set<string>();
  for (const n of fg.nodes) {
    if (n.inputs.some((v) => active.has(v))) {
      for (const v of n.inputs) if (prefix.has(v)) boundary.add(v);
      for (const o of n.outputs) if (o) active.add(o);
    } else {
      for (const o of n.outputs) if (o) prefix.add(o);
    }
  }
  const forwardNodes = new Set(fg.nodes.map((n) => n.name));
  const reads: string[] = [];
  for (const n of training.graph.nodes) {
    if (forwardNodes.has(n.name)) continue;
    for (const v of n.inputs) if (prefix.has(v) && !boundary.has(v)) reads.push(`${n.name} reads ${v}`);
  }
  return reads;
}
