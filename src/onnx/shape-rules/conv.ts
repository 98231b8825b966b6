import type { Dim } from '../graph.js';
import { formatShape, isNum } from './dims.js';
import { agree, sameDtype, unknownDims } from './helpers.js';
import type { ShapeContext, ShapeRule } from './types.js';

interface Window {
  kernel: Dim[];
  strides: number[];
  dilations: number[];
  /** begin pads then end pads, one per spatial axis */
  pads: number[];
  autoPad: string;
}

function windowAttrs(ctx: ShapeContext, spatial: number, kernelFromWeights?: Dim[]): Window {
  const n = ctx.node;
  const kAttr = n.intsAttr('kernel_shape');
  const kernel: Dim[] = kAttr ?? kernelFromWeights ?? unknownDims(spatial);
  const strides = n.intsAttr('strides') ?? new Array<number>(spatial).fill(1);
  const dilations = n.intsAttr('dilations') ?? new Array<number>(spatial).fill(1);
  const pads = n.intsAttr('pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = n.stringAttr('auto_pad', 'NOTSET');
  const check = (name: string, v: readonly unknown[], len: number) => {
    if (v.length !== len) {
      ctx.fail(`${name} has the wrong length`, {
        expected: `${len} values (${spatial} spatial axes)`,
        found: `${v.length}: [${v.join(', ')}]`,
      });
    }
  };
  check('kernel_shape', kernel, spatial);
  check('strides', strides, spatial);
  check('dilations', dilations, spatial);
  check('pads', pads, 2 * spatial);
  if (kAttr && kernelFromWeights) {
    kAttr.forEach((k, i) => agree(ctx, k, kernelFromWeights[i], `kernel_shape disagrees with the weights`, 1));
  }
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) {
    ctx.fail('unknown auto_pad', { expected: 'NOTSET, SAME_UPPER, SAME_LOWER or VALID', found: autoPad });
  }
  return { kernel, strides, dilations, pads, autoPad };
}

/** Output size of a sliding window over one axis (Conv and pools). */
function windowOut(ctx: ShapeContext, w: Window, axis: number, size: Dim, ceilMode: boolean): Dim {
  const k = w.kernel[axis];
  const s = w.strides[axis]!;
  const d = w.dilations[axis]!;
  if (!isNum(size)) return undefined;
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return Math.ceil(size / s);
  if (!isNum(k)) return undefined;
  const span = (k - 1) * d + 1;
  const padded = w.autoPad === 'VALID' ? size : size + w.pads[axis]! + w.pads[axis + w.kernel.length]!;
  if (padded < span) {
    ctx.fail(`the window is larger than the padded input on spatial axis ${axis}`, {
      expected: `padded size >= ${span} (kernel ${k}, dilation ${d})`,
      found: `${padded}`,
    });
  }
  if (!ceilMode) return Math.floor((padded - span) / s) + 1;
  let out = Math.ceil((padded - span) / s) + 1;
  // a window may not start in the end padding only (onnxruntime and PyTorch drop it)
  if ((out - 1) * s >= size + (w.autoPad === 'VALID' ? 0 : w.pads[axis]!)) out--;
  return out;
}

const conv: ShapeRule = (ctx) => {
  const dtype = sameDtype(ctx, [0, 1, 2]);
  const x = ctx.shape(0);
  const wt = ctx.shape(1);
  const rank = x?.length ?? wt?.length;
  if (rank === undefined) return ctx.set(0, { dtype });
  if (rank < 3) ctx.fail('Conv input must be [N, C, spatial...]', { found: formatShape(x ?? wt) });
  if (x && wt && x.length !== wt.length) {
    ctx.fail('input and weights have different ranks', {
      inputIndex: 1,
      expected: `rank ${x.length} weights [M, C/group, k...]`,
      found: formatShape(wt),
    });
  }
  const group = ctx.node.intAttr('group', 1);
  const c = x?.[1];
  const wc = wt?.[1];
  if (isNum(wc)) agree(ctx, c, wc * group, `input channels differ from weights [M, C/group, ...] x group ${group}`, 0);
  else if (isNum(c) && c % group !== 0) ctx.fail(`channels ${c} do not divide into ${group} groups`);
  const m = wt?.[0];
  if (isNum(m) && m % group !== 0)
    ctx.fail(`output channels ${m} do not divide into ${group} groups`, { inputIndex: 1 });
  if (ctx.has(2)) {
    const b = ctx.shape(2);
    if (b && b.length !== 1) ctx.fail('bias must be 1-D [M]', { inputIndex: 2, found: formatShape(b) });
    if (b) agree(ctx, m, b[0], 'bias length differs from the output channels', 2);
  }
  const w = windowAttrs(ctx, rank - 2, wt?.slice(2));
  const spatial = (x?.slice(2) ?? unknownDims(rank - 2)).map((d, i) => windowOut(ctx, w, i, d, false));
  ctx.set(0, { dtype, shape: [x?.[0], m ?? ctx.shape(2)?.[0], ...spatial] });
};

const convTranspose: ShapeRule = (ctx) => {
  const dtype = sameDtype(ctx, [0, 1, 2]);
  const x = ctx.shape(0);
  const wt = ctx.shape(1);
  const rank = x?.length ?? wt?.length;
  if (rank === undefined) return ctx.set(0, { dtype });
  if (rank < 3) ctx.fail('ConvTranspose input must be [N, C, spatial...]', { found: formatShape(x ?? wt) });
  if (x && wt && x.length !== wt.length) {
    ctx.fail('input and weights have different ranks', { inputIndex: 1, found: formatShape(wt) });
  }
  const group = ctx.node.intAttr('group', 1);
  agree(ctx, x?.[1], wt?.[0], 'input channels differ from the weights [C, M/group, k...]', 1);
  const m = isNum(wt?.[1]) ? (wt[1] as number) * group : undefined;
  const nsp = rank - 2;
  const w = windowAttrs(ctx, nsp, wt?.slice(2));
  const outputShape = ctx.node.intsAttr('output_shape');
  const outPad = ctx.node.intsAttr('output_padding') ?? new Array<number>(nsp).fill(0);
  let spatial: Dim[];
  if (outputShape) {
    spatial = outputShape.slice(-nsp);
  } else {
    spatial = (x?.slice(2) ?? unknownDims(nsp)).map((size, i) => {
      const k = w.kernel[i];
      if (!isNum(size)) return undefined;
      const s = w.strides[i]!;
      if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return size * s;
      if (!isNum(k)) return undefined;
      const pads = w.autoPad === 'VALID' ? 0 : w.pads[i]! + w.pads[i + nsp]!;
      return s * (size - 1) + outPad[i]! + (k - 1) * w.dilations[i]! + 1 - pads;
    });
  }
  ctx.set(0, { dtype, shape: [x?.[0], m, ...spatial] });
};

function pool(kind: 'max' | 'avg' | 'lp'): ShapeRule {
  return (ctx) => {
    const x = ctx.shape(0);
    const dtype = ctx.dtype(0);
    if (!x) {
      ctx.set(0, { dtype });
      if (kind === 'max') ctx.set(1, { dtype: 'int64' });
      return;
    }
    if (x.length < 3) ctx.fail('pooling input must be [N, C, spatial...]', { found: formatShape(x) });
    if (!ctx.node.attrs.kernel_shape) ctx.fail('kernel_shape is required', { fix: 'add a kernel_shape attribute' });
    const w = windowAttrs(ctx, x.length - 2);
    const ceil = ctx.node.intAttr('ceil_mode', 0) !== 0;
    const shape = [x[0], x[1], ...x.slice(2).map((d, i) => windowOut(ctx, w, i, d, ceil))];
    ctx.set(0, { dtype, shape });
    if (kind === 'max') ctx.set(1, { dtype: 'int64', shape });
  };
}

const globalPool: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (x && x.length < 3) ctx.fail('pooling input must be [N, C, spatial...]', { found: formatShape(x) });
  ctx.set(0, { dtype: ctx.dtype(0), shape: x && [x[0], x[1], ...x.slice(2).map(() => 1)] });
};

export const convRules: Record<string, ShapeRule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  LpPool: pool('lp'),
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
};
