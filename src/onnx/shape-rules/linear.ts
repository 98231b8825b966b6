import type { Dim } from '../graph.js';
import { broadcastShapes, formatShape } from './dims.js';
import { agree, sameDtype } from './helpers.js';
import type { ShapeRule } from './types.js';

const gemm: ShapeRule = (ctx) => {
  const dtype = sameDtype(ctx, [0, 1, 2]);
  const a = ctx.shape(0);
  const b = ctx.shape(1);
  for (const [i, s] of [a, b].entries()) {
    if (s && s.length !== 2) {
      ctx.fail(`Gemm input #${i} must be a matrix`, { inputIndex: i, expected: 'rank 2', found: formatShape(s) });
    }
  }
  const tA = ctx.node.intAttr('transA', 0) !== 0;
  const tB = ctx.node.intAttr('transB', 0) !== 0;
  const m = a?.[tA ? 1 : 0];
  const n = b?.[tB ? 0 : 1];
  agree(
    ctx,
    a?.[tA ? 0 : 1],
    b?.[tB ? 1 : 0],
    `inner dimensions differ: A ${formatShape(a)}${tA ? 'ᵀ' : ''} times B ${formatShape(b)}${tB ? 'ᵀ' : ''}`,
    1,
  );
  let out: Dim[] = [m, n];
  if (ctx.has(2)) {
    const c = ctx.shape(2);
    // C broadcasts to [M, N] in one direction only: it may not add dimensions
    const r = broadcastShapes([out, c]);
    if ((r && !Array.isArray(r)) || (c && c.length > 2)) {
      ctx.fail('C cannot be broadcast to the [M, N] result', {
        inputIndex: 2,
        expected: `broadcastable to ${formatShape(out)}`,
        found: formatShape(c),
      });
    }
    if (Array.isArray(r)) out = r;
  }
  ctx.set(0, { dtype, shape: out });
};

/** numpy matmul: 1-D operands are promoted to matrices and the promoted axis dropped again. */
const matmul: ShapeRule = (ctx) => {
  const dtype = sameDtype(ctx, [0, 1]);
  const a = ctx.shape(0);
  const b = ctx.shape(1);
  if (!a || !b) return ctx.set(0, { dtype });
  if (a.length === 0 || b.length === 0) ctx.fail('MatMul inputs must have rank >= 1', { found: 'a scalar' });
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  agree(ctx, a2[a2.length - 1], b2[b2.length - 2], `inner dimensions differ: ${formatShape(a)} @ ${formatShape(b)}`, 1);
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (batch && !Array.isArray(batch)) {
    ctx.fail('batch dimensions cannot be broadcast', { found: `${formatShape(a)} @ ${formatShape(b)}` });
  }
  const out: Dim[] = [...(batch as Dim[])];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  ctx.set(0, { dtype, shape: out });
};

export const linearRules: Record<string, ShapeRule> = { Gemm: gemm, MatMul: matmul };
