import type { Dim } from '../graph.js';
import { attrOrInput, axisOf } from './helpers.js';
import type { ShapeRule } from './types.js';

const REDUCE = [
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
]; // prettier-ignore

/** Axes come from an attribute (ReduceSum before opset 13, the others before 18) or from input 1. */
const reduce: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const keep = ctx.node.intAttr('keepdims', 1) !== 0;
  const axes = attrOrInput(ctx, 'axes', 1);
  if (!x) return ctx.set(0, { dtype });
  if (axes === undefined) {
    // axes computed at run time: with keepdims the rank stays, and only size-1 dims are certain
    return ctx.set(0, { dtype, shape: keep ? x.map((d) => (d === 1 ? 1 : undefined)) : undefined });
  }
  let reduced: Set<number>;
  if (axes === 'absent' || axes.length === 0) {
    if (ctx.node.intAttr('noop_with_empty_axes', 0) !== 0) return ctx.set(0, { dtype, shape: x });
    reduced = new Set(x.map((_, i) => i));
  } else reduced = new Set(axes.map((a) => axisOf(ctx, a, x.length, 'axes')));
  const shape: Dim[] = keep ? x.map((d, i) => (reduced.has(i) ? 1 : d)) : x.filter((_, i) => !reduced.has(i));
  ctx.set(0, { dtype, shape });
};

const argReduce: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (!x) return ctx.set(0, { dtype: 'int64' });
  const axis = axisOf(ctx, ctx.node.intAttr('axis', 0), x.length);
  const keep = ctx.node.intAttr('keepdims', 1) !== 0;
  const shape = keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis);
  ctx.set(0, { dtype: 'int64', shape });
};

export const reduceRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(REDUCE.map((op) => [op, reduce])),
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: (ctx) => {
    const x = ctx.shape(0);
    const k = ctx.node.attrs.k ? [ctx.node.intAttr('k', 0)] : ctx.numbers(1); // an attribute before opset 10
    if (!x) {
      ctx.set(0, { dtype: ctx.dtype(0) });
      return ctx.set(1, { dtype: 'int64' });
    }
    const axis = axisOf(ctx, ctx.node.intAttr('axis', -1), x.length);
    const shape = x.map((d, i) => (i === axis ? k?.[0] : d));
    ctx.set(0, { dtype: ctx.dtype(0), shape });
    ctx.set(1, { dtype: 'int64', shape });
  },
};
