// Convolution, pooling, dense and batch-norm ops: TF's NHWC semantics emitted as channels-first ONNX.
import { GraftError } from '../../errors.js';
import type { AttrInput } from '../../onnx/attrs.js';
import { rankOf, type Emitter, type Padding, type TfValue } from './emitter.js';
import { NCHW, broadcastShapes, isIdentity, range, transposeHost } from './layout.js';
import { binary } from './ops_math.js';

export function conv2d(
  em: Emitter,
  o: {
    x: TfValue;
    /** HWIO, or HWCM when depthwise */
    kernel: TfValue;
    bias?: TfValue;
    strides: [number, number];
    dilations: [number, number];
    padding: Padding;
    depthwise: boolean;
    name: string;
  },
): TfValue {
  const { x, kernel, name } = o;
  em.requireRank(x, 4, name, o.depthwise ? 'DepthwiseConv2d' : 'Conv2D');
  if (!kernel.shape || kernel.shape.length !== 4 || kernel.shape.some((d) => d < 0)) {
    throw new GraftError('UNSUPPORTED_OP', 'Convolution kernels must have a static 4-D shape', {
      node: name,
      found: `[${kernel.shape?.join(', ') ?? '?'}]`,
    });
  }
  const [kh, kw, cin, m] = kernel.shape as [number, number, number, number];
  const channels = x.shape![3]!;
  const group = o.depthwise ? cin : channels > 0 && channels !== cin ? channels / cin : 1;
  if (!Number.isInteger(group)) {
    throw new GraftError('SHAPE_MISMATCH', 'Convolution input channels do not match its kernel', {
      node: name,
      expected: `a multiple of ${cin} input channels`,
      found: `${channels}`,
    });
  }
  const outChannels = o.depthwise ? cin * m : m;
  const pointwise =
    !o.depthwise &&
    group === 1 &&
    kh === 1 &&
    kw === 1 &&
    o.strides.every((v) => v === 1) &&
    (o.padding.kind !== 'EXPLICIT' || o.padding.pads.every((p) => p === 0));
  if (pointwise && isIdentity(x.perm) && kernel.konst) return pointwiseMatMul(em, o, cin, m);
  const w = convKernel(em, kernel, o.depthwise);
  const inputs = [em.get(x, NCHW), w];
  if (o.bias) inputs.push(em.get(o.bias, undefined));
  const [h, wd] = [x.shape![1]!, x.shape![2]!];
  const sp = spatialPads(o.padding, [h, wd], [kh, kw], o.strides, o.dilations);
  const out = em.emit1(
    'Conv',
    inputs,
    {
      kernel_shape: [kh, kw],
      strides: [...o.strides],
      dilations: [...o.dilations],
      group,
      ...sp.attrs,
    },
    name,
  );
  return em.produced({
    name,
    dtype: 'float32',
    shape: [x.shape![0]!, sp.out[0], sp.out[1], outChannels],
    onnx: out,
    perm: NCHW,
  });
}

/**
 * A 1x1, stride-1 convolution of a value held in TF layout (a text model's [N, T, 1, C] projection): a
 * MatMul over the channel axis, in place, with no transposes to and from channels-first; images (already
 * channels-first) keep the Conv.
 */
function pointwiseMatMul(
  em: Emitter,
  o: { x: TfValue; kernel: TfValue; bias?: TfValue; name: string },
  cin: number,
  cout: number,
): TfValue {
  const k = o.kernel.konst!;
  const cache = em.cacheOf(o.kernel);
  let w = cache.get('matmul');
  if (!w) {
    // HWIO with H = W = 1 is [Cin, Cout] in the same row-major order
    w = em.initializer(o.kernel.name, { ...k, shape: [cin, cout] });
    cache.set('matmul', w);
  }
  const mmName = o.bias ? `${o.name}/MatMul` : o.name;
  const mm = em.emit1('MatMul', [em.value(o.x), w], undefined, mmName);
  const shape = [...o.x.shape!.slice(0, 3), cout];
  const v = em.produced({ name: mmName, dtype: 'float32', shape, onnx: mm });
  return o.bias ? binary(em, 'Add', v, o.bias, o.name) : v;
}

/** HWIO -> OIHW; depthwise HWCM -> [C*M, 1, kh, kw] (output channel c*M+m, as TF orders them). */
function convKernel(em: Emitter, k: TfValue, depthwise: boolean): string {
  const key = depthwise ? 'dw' : 'oihw';
  const cache = em.cacheOf(k);
  const hit = cache.get(key);
  if (hit) return hit;
  const [kh, kw, c, m] = k.shape as [number, number, number, number];
  let name: string;
  if (k.konst) {
    if (depthwise) {
      const t = transposeHost(k.konst, [2, 3, 0, 1]);
      name = em.initializer(k.name, { ...t, shape: [c * m, 1, kh, kw] });
    } else name = em.initializer(k.name, transposeHost(k.konst, [3, 2, 0, 1]));
  } else {
    const src = em.get(k, undefined);
    const t = em.emit1('Transpose', [src], { perm: depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1] }, `${src}/oihw`);
    name = depthwise
      ? em.emit1('Reshape', [t, em.int64s([c * m, 1, kh, kw], `${src}/dw_shape`)], undefined, `${src}/dw`)
      : t;
  }
  cache.set(key, name);
  return name;
}

export function pool(
  em: Emitter,
  kind: 'max' | 'avg',
  x: TfValue,
  ksize: [number, number],
  strides: [number, number],
  padding: Padding,
  name: string,
): TfValue {
  em.requireRank(x, 4, name, kind === 'max' ? 'MaxPool' : 'AvgPool');
  const sp = spatialPads(padding, [x.shape![1]!, x.shape![2]!], ksize, strides, [1, 1]);
  const attrs: Record<string, AttrInput> = { kernel_shape: [...ksize], strides: [...strides], ...sp.attrs };
  // TF averages over the in-bounds elements only
  if (kind === 'avg') attrs.count_include_pad = 0;
  const out = em.emit1(kind === 'max' ? 'MaxPool' : 'AveragePool', [em.get(x, NCHW)], attrs, name);
  return em.produced({
    name,
    dtype: x.dtype,
    shape: [x.shape![0]!, sp.out[0], sp.out[1], x.shape![3]!],
    onnx: out,
    perm: NCHW,
  });
}

/** Rank-2 matrix product (+ optional bias): a Gemm, the form heads and surgery expect. */
export function matmul(
  em: Emitter,
  a: TfValue,
  b: TfValue,
  transA: boolean,
  transB: boolean,
  bias: TfValue | undefined,
  name: string,
): TfValue {
  const ra = rankOf(a);
  const rb = rankOf(b);
  // rows of a and columns of b: the last two axes (batched products have leading batch axes)
  const m = a.shape && ra ? a.shape[ra - (transA ? 1 : 2)]! : -1;
  const n = b.shape && rb ? b.shape[rb - (transB ? 2 : 1)]! : -1;
  if (ra === 2 && rb === 2) {
    const inputs = [em.get(a, undefined), em.get(b, undefined)];
    if (bias) inputs.push(em.get(bias, undefined));
    const out = em.emit1('Gemm', inputs, { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, name);
    return em.produced({ name, dtype: a.dtype, shape: [m, n], onnx: out });
  }
  // batched: transpose the last two axes where asked, then MatMul (+ Add)
  const swapLast = (v: TfValue, tag: string): string => {
    const r = rankOf(v)!;
    const src = em.get(v, undefined);
    const perm = [...range(r - 2), r - 1, r - 2];
    return em.emit1('Transpose', [src], { perm }, `${name}/${tag}_T`);
  };
  const ia = transA ? swapLast(a, 'a') : em.get(a, undefined);
  const ib = transB ? swapLast(b, 'b') : em.get(b, undefined);
  const mm = em.emit1('MatMul', [ia, ib], undefined, bias ? `${name}/MatMul` : name);
  const shape = a.shape && b.shape ? [...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n] : undefined;
  const v = em.produced({ name: bias ? `${name}/MatMul` : name, dtype: a.dtype, shape, onnx: mm });
  return bias ? binary(em, 'Add', v, bias, name) : v;
}

/** Inference batch norm over the last (channel) axis. */
export function batchNorm(
  em: Emitter,
  x: TfValue,
  scale: TfValue,
  offset: TfValue,
  mean: TfValue,
  variance: TfValue,
  epsilon: number,
  name: string,
) {
  const rank = rankOf(x);
  if (rank === undefined || rank < 2) {
    throw new GraftError('UNSUPPORTED_OP', 'Batch normalization needs an input of known rank >= 2', {
      node: name,
      found: rank === undefined ? 'unknown rank' : `rank ${rank}`,
    });
  }
  // ONNX normalizes axis 1: hold the channel (TF's last axis) there
  const perm = rank === 2 ? undefined : [0, rank - 1, ...range(rank - 2).map((i) => i + 1)];
  const inputs = [em.get(x, perm), ...[scale, offset, mean, variance].map((p) => em.get(p, undefined))];
  const out = em.emit1('BatchNormalization', inputs, { epsilon }, name);
  return em.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm });
}

/**
 * Pads for TF 'SAME'/'VALID'/explicit padding. With static spatial sizes 'SAME' becomes explicit
 * (possibly asymmetric) pads, the extra pixel at the end as TF puts it; otherwise auto_pad SAME_UPPER,
 * which pads the same way at run time.
 */
export function spatialPads(
  padding: Padding,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): { attrs: Record<string, AttrInput>; out: [number, number] } {
  const eff = [0, 1].map((i) => (kernel[i]! - 1) * dilations[i]! + 1);
  if (padding.kind === 'VALID') {
    const out = [0, 1].map((i) => (size[i]! < 0 ? -1 : Math.floor((size[i]! - eff[i]!) / strides[i]!) + 1));
    return { attrs: { pads: [0, 0, 0, 0] }, out: out as [number, number] };
  }
  if (padding.kind === 'EXPLICIT') {
    const [t, b, l, r] = padding.pads;
    const padded = [size[0] < 0 ? -1 : size[0] + t + b, size[1] < 0 ? -1 : size[1] + l + r];
    const out = [0, 1].map((i) => (padded[i]! < 0 ? -1 : Math.floor((padded[i]! - eff[i]!) / strides[i]!) + 1));
    return { attrs: { pads: [t, l, b, r] }, out: out as [number, number] };
  }
  if (size[0] < 0 || size[1] < 0) {
    const out = [0, 1].map((i) => (size[i]! < 0 ? -1 : Math.ceil(size[i]! / strides[i]!)));
    return { attrs: { auto_pad: 'SAME_UPPER' }, out: out as [number, number] };
  }
  const out = [0, 1].map((i) => Math.ceil(size[i]! / strides[i]!));
  const total = [0, 1].map((i) => Math.max((out[i]! - 1) * strides[i]! + eff[i]! - size[i]!, 0));
  const begin = total.map((t) => Math.floor(t / 2));
  const end = total.map((t, i) => t - begin[i]!);
  return { attrs: { pads: [begin[0]!, begin[1]!, end[0]!, end[1]!] }, out: out as [number, number] };
}
