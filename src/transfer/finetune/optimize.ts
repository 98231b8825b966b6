import type { Graph, Model, Node } from '../../onnx/graph.js';
import { Node as GraphNode } from '../../onnx/graph.js';
import { inferShapes } from '../../onnx/shapes.js';
import { Tensor } from '../../onnx/tensor.js';

/**
 * Rewrites `ReduceSum(MatMul(A, B), axes=[0])` — a batched matrix product summed over the batch, which is
 * how convolution weight gradients come out of the conv rules — into one matrix product that contracts
 * over the batch too: `A [N, .., m, k]` becomes `[.., m, N*k]`, `B [N, .., k, n]` becomes `[.., N*k, n]`.
 * The result is the same, but the [N, .., m, n] intermediate (N times the weight's size) is never written
 * and summed: on small feature maps (7x7, 3x3, where fine-tuning the top blocks works) that sum dominated
 * the step (measured on EfficientNet-B0's top blocks at 96 px: 107 of 258 ms per batch of 32).
 * Returns how many products were rewritten; the model is changed in place.
 */
export function contractBatchedGradients(model: Model): number {
  const g = model.graph;
  const opset = model.opset;
  // Ranks come from shape inference on a copy: the model's own value_info is left as it was.
  const typed = model.clone();
  inferShapes(typed);
  const rankOf = (v: string) => typed.graph.info(v)?.shape?.length;
  let rewritten = 0;
  for (const r of [...g.nodes]) {
    if (r.opType !== 'ReduceSum' || r.domain !== '') continue;
    if (!sumsBatchOnly(g, r, opset)) continue;
    const mm = g.producer(r.inputs[0]!);
    if (!mm || mm.opType !== 'MatMul' || g.consumers(mm.outputs[0]!).length !== 1 || g.isGraphOutput(mm.outputs[0]!)) {
      continue;
    }
    const [a, b] = mm.inputs as [string, string];
    const rank = rankOf(a);
    if (rank === undefined || rank < 3 || rankOf(b) !== rank) continue;
    const batch = Array.from({ length: rank - 3 }, (_, i) => i + 1);
    const base = r.name || r.outputs[0]!;
    const fresh = (s: string) => g.uniqueName(`${base}/contract_${s}`);
    const zeros = (n: number) => {
      const name = fresh('shape');
      const v = new BigInt64Array(n + 1);
      v[n] = -1n;
      g.initializers.set(name, Tensor.from(name, v, [n + 1], 'int64'));
      return name;
    };
    const add = (opType: string, inputs: string[], out: string, attrs?: Node['attrs']) =>
      g.addNode(new GraphNode({ opType, inputs, outputs: [out], name: fresh(opType.toLowerCase()), attrs }));
    const perm = (p: number[]) => ({ perm: { type: 'ints' as const, value: p } });
    // A [N, b.., m, k] -> [b.., m, N, k] -> [b.., m, N*k]
    const at = fresh('a_t');
    add('Transpose', [a], at, perm([...batch, rank - 2, 0, rank - 1]));
    const ar = fresh('a');
    add('Reshape', [at, zeros(rank - 2)], ar);
    // B [N, b.., k, n] -> [b.., n, N, k] -> [b.., n, N*k]; the product reads it transposed (fused by onnxruntime)
    const bt = fresh('b_t');
    add('Transpose', [b], bt, perm([...batch, rank - 1, 0, rank - 2]));
    const br = fresh('b');
    add('Reshape', [bt, zeros(rank - 2)], br);
    const bT = fresh('b_tt');
    add('Transpose', [br], bT, perm([...batch.map((_, i) => i), rank - 2, rank - 3]));
    add('MatMul', [ar, bT], r.outputs[0]!);
    g.removeNodes((n) => n === r || n === mm);
    rewritten++;
  }
  if (rewritten) g.touch().toposort().cleanup();
  return rewritten;
}

/** Whether a ReduceSum sums over axis 0 only, without keeping it. */
function sumsBatchOnly(g: Graph, r: Node, opset: number): boolean {
  if (r.intAttr('keepdims', 1) !== 0) return false;
  let axes: number[] | undefined;
  if (opset >= 13) {
    const t = r.inputs[1] ? g.initializers.get(r.inputs[1]) : undefined;
    axes = t?.toNumbers();
  } else axes = r.intsAttr('axes');
  return axes !== undefined && axes.length === 1 && axes[0] === 0;
}
