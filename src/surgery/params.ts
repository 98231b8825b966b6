import type { Graph } from '../onnx/graph.js';

/** Input positions that hold statistics or constants, never learnable weights. */
const NON_PARAM_INPUTS: Record<string, readonly number[]> = {
  BatchNormalization: [3, 4], // running mean, running variance
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1, 2, 3],
  Clip: [1, 2],
  Resize: [1, 2, 3],
  Dropout: [1, 2],
  Squeeze: [1],
  Unsqueeze: [1],
  ReduceMean: [1],
  ReduceSum: [1],
  Expand: [1],
  Tile: [1],
  Gather: [1],
  OneHot: [1, 2],
  Split: [1],
};

/**
 * Initializers that are learnable parameters: floating-point tensors read by some node at a position
 * that carries weights (so BN running statistics, shapes and axes are excluded).
 */
export function parameterNames(graph: Graph): string[] {
  const out: string[] = [];
  for (const [name, t] of graph.initializers) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16') continue;
    const uses = graph.nodes.flatMap((n) =>
      n.inputs
        .map((v, i) => (v === name ? (NON_PARAM_INPUTS[n.opType]?.includes(i) ?? false) : null))
        .filter((x) => x !== null),
    );
    if (uses.length > 0 && uses.some((nonParam) => !nonParam)) out.push(name);
  }
  return out;
}

/** Number of scalar weights in the named initializers. */
export function countParams(graph: Graph, names: Iterable<string>): number {
  let n = 0;
  for (const name of names) n += graph.initializers.get(name)?.size ?? 0;
  return n;
}
