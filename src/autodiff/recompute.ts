import { Node, type Graph } from '../onnx/graph.js';
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
  backward: ReadonlySet<Node>,
  freshName: (base: string) => string,
): number {
  const readBack = new Map<string, Node[]>();
  for (const n of backward) {
    for (const v of n.inputs) {
      if (!v) continue;
      const list = readBack.get(v);
      if (list) list.push(n);
      else readBack.set(v, [n]);
    }
  }
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
    g.addNode(
      new Node({ name: freshName(`recompute/${n.name || z}`), opType: 'Mul', inputs: [small, big], outputs: [copy] }),
    );
    env.declare(copy, { dtype: env.dtype(z), shape: env.shape(z) });
    for (const r of readers) r.inputs = r.inputs.map((v) => (v === z ? copy : v));
    count++;
  }
  if (count) g.touch();
  return count;
}
