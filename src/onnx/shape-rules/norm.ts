import { dtypeFromCode } from '../dtype.js';
import { formatShape } from './dims.js';
import { agree, axisOf, sameDtype } from './helpers.js';
import type { ShapeRule } from './types.js';

const batchNorm: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (x && x.length < 2) ctx.fail('BatchNormalization input must be [N, C, ...]', { found: formatShape(x) });
  let c = x?.[1];
  const names = ['scale', 'B', 'mean', 'var'];
  for (let i = 1; i <= 4; i++) {
    const s = ctx.shape(i);
    if (!s) continue;
    if (s.length !== 1) ctx.fail(`${names[i - 1]} must be 1-D [C]`, { inputIndex: i, found: formatShape(s) });
    c = agree(ctx, c, s[0], `${names[i - 1]} length differs from the channels of X ${formatShape(x)}`, i);
  }
  sameDtype(ctx, [1, 2]);
  sameDtype(ctx, [3, 4]);
  ctx.set(0, { dtype: ctx.dtype(0), shape: x && [x[0], c, ...x.slice(2)] });
  // training outputs (running mean/var; before opset 14 also the saved batch statistics) are all [C]
  for (let o = 1; o < ctx.node.outputs.length; o++) ctx.set(o, { dtype: ctx.dtype(3) ?? ctx.dtype(0), shape: [c] });
};

const layerNorm: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  ctx.set(0, { dtype, shape: x });
  if (!x) return;
  const axis = axisOf(ctx, ctx.node.intAttr('axis', -1), x.length);
  for (const i of [1, 2]) {
    const s = ctx.has(i) ? ctx.shape(i) : undefined;
    if (s && s.length > x.length - axis) {
      ctx.fail('Scale/B have more dimensions than the normalised axes', {
        inputIndex: i,
        expected: `broadcastable to ${formatShape(x.slice(axis))}`,
        found: formatShape(s),
      });
    }
  }
  const stats = [...x.slice(0, axis), ...x.slice(axis).map(() => 1)];
  const stash = dtypeFromCode(ctx.node.intAttr('stash_type', 1));
  for (let o = 1; o < ctx.node.outputs.length; o++) ctx.set(o, { dtype: stash, shape: stats });
};

/** Softmax and friends keep the shape; the axis must exist. */
const softmaxLike: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (x && x.length > 0) axisOf(ctx, ctx.node.intAttr('axis', ctx.opset >= 13 ? -1 : 1), x.length);
  ctx.set(0, { dtype: ctx.dtype(0), shape: x });
};

const instanceNorm: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  for (const i of [1, 2]) {
    const s = ctx.shape(i);
    if (s && x) agree(ctx, x[1], s[0], 'scale/B length differs from the channels', i);
  }
  ctx.set(0, { dtype: ctx.dtype(0), shape: x });
};

export const normRules: Record<string, ShapeRule> = {
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
  Softmax: softmaxLike,
  LogSoftmax: softmaxLike,
  Hardmax: softmaxLike,
};
