import { Node, type Graph } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import type { TypeEnv } from './shapes.js';

type Shape = readonly (number | string | undefined)[];

/**
 * How many times larger `big` is than `small` broadcast against it (symbolic dims such as the batch may
 * appear in both), or undefined when that is not known statically.
 */
function broadcastFactor(big: Shape | undefined, small: Shape | undefined): number | undefined {
  if (!big || !small || small.length > big.length) return undefined;
  let factor = 1;
  for (let i = 1; i <= big.length; i++) {
    const b = big[big.length - i];
    const s = i <= small.length ? small[small.length - i] : 1;
    if (s === b && b !== undefined) continue;
    if (s === 1 && typeof b === 'number') factor *= b;
    else return undefined;
  }
  return factor;
}

const same = (a: Shape | undefined, b: Shape | undefined) =>
  !!a && !!b && a.length === b.length && a.every((d, i) => d !== undefined && d === b[i]);

/**
 * Recomputes, for the backward pass, forward products z = big * small (small: at most 1/16 of z, such as
 * squeeze-excitation's [N, C, 1, 1] gate) whose big operand the backward pass keeps anyway: the backward
 * readers of z read a copy computed again from those two, so z itself is freed as soon as the forward pass
 * is done with it. One cheap Mul buys back one activation per such product (EfficientNet-B0's 16 excitation
 * outputs). The copy multiplies the operands in the other order so onnxruntime's common-subexpression
 * elimination does not merge it back into the forward node.
 * `backward` is the set of nodes the backward pass added. Returns the number of products recomputed.
 */
export function recomputeCheapProducts(
  g: Graph,
  env: TypeEnv,
  backwardNodes: ReadonlySet<Node>,
  freshName: (base: string) => string,
): number {
  const backward = new Set(backwardNodes);
  const readBack = readsOf(backward);
  let count = 0;
  for (const n of [...g.nodes]) {
    if (backward.has(n) || n.opType !== 'Mul' || (n.domain !== '' && n.domain !== 'ai.onnx')) continue;
    const z = n.outputs[0]!;
    const readers = readBack.get(z);
    if (!readers || n.inputs.length !== 2 || g.isGraphOutput(z)) continue;
    const [a, b] = n.inputs as [string, string];
    const [za, zb, zz] = [env.shape(a), env.shape(b), env.shape(z)];
    const big =
      same(za, zz) && (broadcastFactor(za, zb) ?? 0) >= 16
        ? a
        : same(zb, zz) && (broadcastFactor(zb, za) ?? 0) >= 16
          ? b
          : undefined;
    if (!big || !readBack.has(big)) continue;
    const small = big === a ? b : a;
    const copy = freshName(`${z}_recomputed`);
    const node = new Node({
      name: freshName(`recompute/${n.name || z}`),
      opType: 'Mul',
      inputs: [small, big],
      outputs: [copy],
    });
    g.addNode(node);
    backward.add(node);
    env.declare(copy, { dtype: env.dtype(z), shape: env.shape(z) });
    for (const r of readers) r.inputs = r.inputs.map((v) => (v === z ? copy : v));
    count++;
  }
  g.touch();
  count += recomputeSwish(g, env, readsOf(backward), freshName);
  g.touch();
  return count;
}

/** value -> the nodes of `nodes` that read it */
function readsOf(nodes: Iterable<Node>): Map<string, Node[]> {
  const reads = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const v of n.inputs) {
      if (!v) continue;
      const list = reads.get(v);
      if (list) list.push(n);
      else reads.set(v, [n]);
    }
  }
  return reads;
}

/**
 * Swish y = x * Sigmoid(x) keeps Sigmoid(x) and y for the backward pass; recomputing both there from x
 * keeps one activation instead of two (EfficientNet-B0 at batch 32: 750 MB of Sigmoid outputs) for one
 * Sigmoid and one Mul more. The recomputed Sigmoid reads x through a Reshape so onnxruntime's common-
 * subexpression elimination cannot merge it into the forward one.
 */
function recomputeSwish(
  g: Graph,
  env: TypeEnv,
  readBack: ReadonlyMap<string, Node[]>,
  freshName: (base: string) => string,
): number {
  let count = 0;
  const add = (opType: string, inputs: string[], base: string, like: string, shape = env.shape(like)) => {
    const out = freshName(`${base}_recomputed`);
    g.addNode(new Node({ name: freshName(`recompute/${base}`), opType, inputs, outputs: [out] }));
    env.declare(out, { dtype: env.dtype(like), shape });
    return out;
  };
  for (const n of [...g.nodes]) {
    if (n.opType !== 'Mul' || (n.domain !== '' && n.domain !== 'ai.onnx') || n.inputs.length !== 2) continue;
    const y = n.outputs[0]!;
    const [a, b] = n.inputs as [string, string];
    const sig = [a, b].map((v) => g.producer(v)).find((p) => p?.opType === 'Sigmoid' && [a, b].includes(p.inputs[0]!));
    if (!sig || sig.inputs[0] === sig.outputs[0]) continue;
    const [x, s] = [sig.inputs[0]!, sig.outputs[0]!];
    if (g.isGraphOutput(s) || g.isGraphOutput(y) || (!readBack.has(s) && !readBack.has(y))) continue;
    const xs = env.shape(x);
    const rest = xs?.slice(1);
    const flatShape =
      xs && rest && rest.every((d): d is number => typeof d === 'number')
        ? [xs[0], rest.reduce((p, q) => p * q, 1)]
        : undefined;
    const flat = add('Reshape', [x, freshIntsLike(g, freshName)], `${x}_flat`, x, flatShape);
    const s2 = add(
      'Reshape',
      [add('Sigmoid', [flat], `${s}_flat`, flat, flatShape), shapeValue(g, env, x, freshName)],
      s,
      s,
    );
    const y2 = add('Mul', [s2, x], y, y);
    for (const [from, to] of [
      [s, s2],
      [y, y2],
    ] as const) {
      for (const r of readBack.get(from) ?? []) r.inputs = r.inputs.map((v) => (v === from ? to : v));
    }
    count++;
  }
  return count;
}

/** [0, -1]: keep the batch, flatten the rest (a view, no copy). */
function freshIntsLike(g: Graph, freshName: (base: string) => string): string {
  const name = freshName('recompute/flat_shape');
  g.initializers.set(name, Tensor.from(name, BigInt64Array.from([0n, -1n]), [2], 'int64'));
  return name;
}

/** x's shape as an int64 value: a constant when static, else a Shape node. */
function shapeValue(g: Graph, env: TypeEnv, x: string, freshName: (base: string) => string): string {
  const s = env.shape(x);
  const name = freshName(`recompute/${x}_shape`);
  if (s && s.every((d): d is number => typeof d === 'number')) {
    g.initializers.set(
      name,
      Tensor.from(
        name,
        BigInt64Array.from(s, (d) => BigInt(d)),
        [s.length],
        'int64',
      ),
    );
  } else {
    g.addNode(new Node({ name: freshName(`recompute/Shape`), opType: 'Shape', inputs: [x], outputs: [name] }));
  }
  return name;
}
