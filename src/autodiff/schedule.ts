import type { Graph, Node } from '../onnx/graph.js';

/**
 * Reorders a training graph's node list so onnxruntime computes the backward pass's label-independent
 * nodes (ReLU masks, unfolded inputs for weight gradients, transposed activations) just before they are
 * used, instead of during the forward pass, where they would stay alive until the backward pass reaches
 * them.
 *
 * onnxruntime's default execution order is a post-order depth-first walk from the graph outputs that visits
 * a node's producers highest node index first, so between two inputs of a backward node the one produced
 * later in the file is computed first. Listing every node that does not depend on the labels (forward
 * nodes and the label-independent parts of the backward pass) before those that do makes the gradient
 * input of each backward node the later-listed one: its whole chain runs first and the label-independent
 * partner is computed last, right before the node that needs it. MobileNetV2 full fine-tuning at batch 32:
 * peak RSS 3.2 GB -> see the finetune benchmark for the figure with this order.
 *
 * The result is a topological order (Kahn's algorithm, label-independent nodes first, then file order).
 */
export function scheduleForMemory(g: Graph, labels: string): Graph {
  const late = new Set<string>([labels]);
  const isLate = new Set<Node>();
  for (const n of g.nodes) {
    if (n.inputs.some((v) => v && late.has(v))) {
      isLate.add(n);
      for (const o of n.outputs) if (o) late.add(o);
    }
  }
  const consumed = new Set<string>(g.nodes.flatMap((n) => n.inputs.filter((v) => v)));
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const waiting = g.nodes.map(() => 0);
  const consumers: number[][] = g.nodes.map(() => []);
  g.nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const v of n.inputs) {
      const p = v ? producer.get(v) : undefined;
      if (p !== undefined && p !== i) deps.add(p);
    }
    waiting[i] = deps.size;
    for (const p of deps) consumers[p]!.push(i);
  });
  // two ready lists, each kept in file order: label-independent nodes are always taken first
  const ready: [number[], number[]] = [[], []];
  const push = (i: number) => {
    const list = ready[isLate.has(g.nodes[i]!) ? 1 : 0];
    let k = list.length;
    list.push(i);
    while (k > 0 && list[k - 1]! > i) {
      list[k] = list[k - 1]!;
      k--;
    }
    list[k] = i;
  };
  g.nodes.forEach((_, i) => waiting[i] === 0 && push(i));
  const order: Node[] = [];
  while (ready[0].length || ready[1].length) {
    const i = (ready[0].length ? ready[0] : ready[1]).shift()!;
    order.push(g.nodes[i]!);
    for (const c of consumers[i]!) if (--waiting[c]! === 0) push(c);
  }
  if (order.length !== g.nodes.length) return g; // a cycle: leave it for checkGraph to report
  g.nodes = [...order.filter((n) => !isLeaf(n)), ...leavesCheapestLast(order, isLate)];
  return g.touch();

  function isLeaf(n: Node): boolean {
    return n.outputs.every((o) => !o || !consumed.has(o));
  }
}

/**
 * The graph's leaves (nodes whose outputs only leave the graph: loss, gradients), ordered so that the one
 * needing the fewest backward nodes comes last. onnxruntime's walk starts from the last-listed leaf, so
 * the gradients closest to the loss are finished first and each layer's weight gradient is computed as
 * soon as its output gradient exists, instead of every output gradient waiting for the walk to come back
 * for the leaves it left.
 */
function leavesCheapestLast(order: Node[], isLate: ReadonlySet<Node>): Node[] {
  const producer = new Map<string, Node>();
  for (const n of order) for (const o of n.outputs) if (o) producer.set(o, n);
  const consumers = new Set<string>(order.flatMap((n) => n.inputs.filter((v) => v)));
  const leaves = order.filter((n) => n.outputs.every((o) => !o || !consumers.has(o)));
  const cost = new Map<Node, number>();
  for (const leaf of leaves) {
    const seen = new Set<Node>([leaf]);
    const stack = [leaf];
    let late = 0;
    while (stack.length) {
      const n = stack.pop()!;
      if (isLate.has(n)) late++;
      for (const v of n.inputs) {
        const p = v ? producer.get(v) : undefined;
        if (p && !seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    cost.set(leaf, late);
  }
  return leaves
    .map((n, i) => ({ n, i }))
    .sort((a, b) => cost.get(b.n)! - cost.get(a.n)! || a.i - b.i)
    .map((x) => x.n);
}
