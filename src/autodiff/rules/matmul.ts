import type { GradContext, GradTable } from '../types.js';
import { reshapeLike, unsqueeze } from '../ops.js';
import { nulls, requireRank, rule } from './helpers.js';

interface GemmFlags {
  alpha?: number;
  transA?: number;
  transB?: number;
}

/** alpha * op(a) op(b) as one Gemm: the transposes ride on its flags instead of Transpose nodes. */
function gemm(c: GradContext, a: string, b: string, f: GemmFlags): string {
  const attrs = {
    alpha: f.alpha !== undefined && f.alpha !== 1 ? f.alpha : undefined,
    transA: f.transA ? 1 : undefined,
    transB: f.transB ? 1 : undefined,
  };
  return c.emit('Gemm', [a, b], attrs);
}

/** Swaps the last two axes of a rank-r value. */
function transposeLast(c: GradContext, v: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return c.emit('Transpose', [v], { perm });
}

/** Y = alpha op(A) op(B) + beta C */
const gemmRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const [a, b] = [c.I(0), c.I(1)];
  const alpha = c.node.floatAttr('alpha', 1);
  const beta = c.node.floatAttr('beta', 1);
  const tA = c.node.intAttr('transA', 0);
  const tB = c.node.intAttr('transB', 0);
  if (c.needsGrad(0)) {
    // dA = alpha go op(B)^T, or its transpose when A enters transposed
    out[0] = tA ? gemm(c, b, go, { alpha, transA: tB, transB: 1 }) : gemm(c, go, b, { alpha, transB: 1 - tB });
  }
  if (c.needsGrad(1)) {
    // dB = alpha op(A)^T go, or its transpose when B enters transposed
    out[1] = tB ? gemm(c, go, a, { alpha, transA: 1, transB: tA }) : gemm(c, a, go, { alpha, transA: 1 - tA });
  }
  const bias = c.I(2);
  if (bias && c.needsGrad(2) && beta !== 0) {
    const g = c.unbroadcast(go, bias);
    out[2] = beta === 1 ? g : c.emit('Mul', [g, c.scalar(beta, g)]);
  }
  return out;
});

/** numpy matmul: 1-D operands are promoted to matrices, batch dims broadcast. */
const matmulRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const [a, b] = [c.I(0), c.I(1)];
  const ra = requireRank(c, a);
  const rb = requireRank(c, b);
  if (ra === 2 && rb === 2) {
    if (c.needsGrad(0)) out[0] = gemm(c, go, b, { transB: 1 });
    if (c.needsGrad(1)) out[1] = gemm(c, a, go, { transA: 1 });
    return out;
  }
  // Promote vectors so every operand is at least a matrix; results are reshaped back at the end.
  const a2 = ra === 1 ? unsqueeze(c, a, [0]) : a;
  const b2 = rb === 1 ? unsqueeze(c, b, [1]) : b;
  let go2 = go;
  if (ra === 1 && rb === 1) go2 = c.emit('Reshape', [go, c.ints([1, 1])]);
  else if (ra === 1) go2 = unsqueeze(c, go, [-2]);
  else if (rb === 1) go2 = unsqueeze(c, go, [-1]);
  const [ra2, rb2] = [Math.max(ra, 2), Math.max(rb, 2)];
  if (c.needsGrad(0)) {
    const g = c.emit('MatMul', [go2, transposeLast(c, b2, rb2)]);
    out[0] = reshapeLike(c, c.unbroadcast(g, a2), a);
  }
  if (c.needsGrad(1)) {
    const k = c.shape(a2)?.[ra2 - 1];
    const n = c.shape(go2)?.[Math.max(ra2, rb2) - 1];
    let g: string;
    if (rb2 === 2 && typeof k === 'number' && typeof n === 'number') {
      // A matrix shared across a batch (a linear layer on sequences): fold the batch into the rows and
      // contract once with Gemm, instead of a batched product followed by a reduction.
      const rows = c.emit('Reshape', [a2, c.ints([-1, k])]);
      const cols = c.emit('Reshape', [go2, c.ints([-1, n])]);
      g = gemm(c, rows, cols, { transA: 1 });
    } else {
      g = c.unbroadcast(c.emit('MatMul', [transposeLast(c, a2, ra2), go2]), b2);
    }
    out[1] = reshapeLike(c, g, b);
  }
  return out;
});

export const matmulRules: GradTable = {
  Gemm: gemmRule,
  MatMul: matmulRule,
};
