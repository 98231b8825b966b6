// Elementwise, activation and reduction ops in TF semantics, emitted in the operands' layout.
import { GraftError } from '../../errors.js';
import type { AttrInput } from '../../onnx/attrs.js';
import {
  konstNumbers,
  rankOf,
  type Activation,
  type Emitter,
  type SymInt,
  type TfDType,
  type TfValue,
} from './emitter.js';
import { broadcastShapes, dropAxes, isIdentity, onnxAxis, permKey, range, transposeHost, type Perm } from './layout.js';
import { sizeOf } from './types.js';

export function identity(em: Emitter, x: TfValue, name: string): TfValue {
  if (!x.onnx && (x.konst || x.sym)) return { ...x, name };
  const out = em.emit1('Identity', [em.value(x)], undefined, name);
  return em.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
}

export function unary(em: Emitter, op: string, x: TfValue, name: string, attrs?: Record<string, AttrInput>): TfValue {
  const out = em.emit1(op, [em.value(x)], attrs, name);
  return em.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
}

export function clip(em: Emitter, x: TfValue, min: number, max: number, name: string): TfValue {
  const lo = em.scalarOf(min, x.dtype, `${name}/min`);
  const hi = em.scalarOf(max, x.dtype, `${name}/max`);
  const out = em.emit1('Clip', [em.value(x), lo, hi], undefined, name);
  return em.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
}

export function cast(em: Emitter, x: TfValue, to: TfDType, name: string): TfValue {
  if (x.sym && (to === 'int32' || to === 'int64')) return { ...x, name, dtype: to, onnx: undefined };
  const code = { float32: 1, int32: 6, int64: 7, bool: 9 }[to];
  const out = em.emit1('Cast', [em.value(x)], { to: code }, name);
  return em.produced({ name, dtype: to, shape: x.shape, onnx: out, perm: x.perm });
}

export function activation(em: Emitter, x: TfValue, act: Activation, name: string): TfValue {
  switch (act.kind) {
    case 'relu':
      return unary(em, 'Relu', x, name);
    case 'relu6':
      return clip(em, x, 0, 6, name);
    case 'clip':
      return clip(em, x, act.min, act.max, name);
    case 'elu':
      return unary(em, 'Elu', x, name, { alpha: act.alpha ?? 1 });
    case 'selu':
      // Keras/TF constants, which are also ONNX's defaults
      return unary(em, 'Selu', x, name);
    case 'leakyrelu':
      return unary(em, 'LeakyRelu', x, name, { alpha: act.alpha });
    case 'prelu':
      return binary(em, 'PRelu', x, act.alpha, name);
    case 'sigmoid':
      return unary(em, 'Sigmoid', x, name);
    case 'hard_sigmoid':
      return unary(em, 'HardSigmoid', x, name, { alpha: 0.2, beta: 0.5 });
    case 'tanh':
      return unary(em, 'Tanh', x, name);
    case 'softplus':
      return unary(em, 'Softplus', x, name);
    case 'softsign':
      return unary(em, 'Softsign', x, name);
    case 'exp':
      return unary(em, 'Exp', x, name);
    case 'swish': {
      const s = unary(em, 'Sigmoid', x, `${name}/sigmoid`);
      return binary(em, 'Mul', x, s, name);
    }
    case 'softmax':
      return softmax(em, x, -1, name);
  }
}

/** Elementwise binary op with TF broadcasting, in the layout of the higher-rank permuted operand. */
export function binary(em: Emitter, op: string, a: TfValue, b: TfValue, name: string, outDtype?: TfDType): TfValue {
  if (b.broadcast && broadcastCovered(b.broadcast, a)) b = b.broadcast.base;
  if (a.broadcast && broadcastCovered(a.broadcast, b)) a = a.broadcast.base;
  const folded = foldIntBinary(op, a, b, name);
  if (folded) return folded;
  const ra = rankOf(a);
  const rb = rankOf(b);
  const shape = a.shape && b.shape ? broadcastShapes(a.shape, b.shape) : undefined;
  const rank = shape?.length;
  let perm: Perm;
  if (rank !== undefined) {
    if (ra === rank && !isIdentity(a.perm)) perm = a.perm;
    else if (rb === rank && !isIdentity(b.perm)) perm = b.perm;
  }
  const ia = broadcastable(em, a, perm, rank);
  const ib = broadcastable(em, b, perm, rank);
  const out = em.emit1(op, [ia, ib], undefined, name);
  return em.produced({ name, dtype: outDtype ?? a.dtype, shape, onnx: out, perm });
}

/** `v` ready to broadcast against a rank-`rank` tensor held in layout `perm`. */
function broadcastable(em: Emitter, v: TfValue, perm: Perm, rank: number | undefined): string {
  if (isIdentity(perm) || rank === undefined) return em.get(v, undefined);
  const r = rankOf(v)!;
  if (r === rank) return em.get(v, perm);
  // a single element broadcasts the same way in every layout
  if (v.shape && sizeOf(v.shape) === 1) return em.get(v, undefined);
  const lead = range(rank - r);
  if (v.konst) {
    const key = `b${rank}:${permKey(perm)}`;
    const cache = em.cacheOf(v);
    const hit = cache.get(key);
    if (hit) return hit;
    const padded = { ...v.konst, shape: [...lead.map(() => 1), ...v.konst.shape] };
    const name = em.initializer(v.name, transposeHost(padded, perm!));
    cache.set(key, name);
    return name;
  }
  const src = em.get(v, undefined);
  const up = em.emit1('Unsqueeze', [src, em.int64s(lead, `${src}/axes`)], undefined, `${src}/rank${rank}`);
  return em.emit1('Transpose', [up], { perm: [...perm!] }, `${up}/to_layout`);
}

/** Sum of any number of same-shaped tensors (TF AddN / Keras Add). */
export function sum(em: Emitter, xs: TfValue[], name: string): TfValue {
  if (xs.length === 1) return identity(em, xs[0]!, name);
  if (xs.length === 2) return binary(em, 'Add', xs[0]!, xs[1]!, name);
  const first = xs[0]!;
  const perm = first.perm;
  const out = em.emit1(
    'Sum',
    xs.map((x) => em.get(x, perm)),
    undefined,
    name,
  );
  return em.produced({ name, dtype: first.dtype, shape: first.shape, onnx: out, perm });
}

export function reduce(
  em: Emitter,
  kind: 'mean' | 'sum' | 'max' | 'min' | 'prod',
  x: TfValue,
  axes: number[],
  keepDims: boolean,
  name: string,
) {
  const rank = rankOf(x);
  if (rank === undefined) {
    throw new GraftError('UNSUPPORTED_OP', `Reduction over a value of unknown rank`, { node: name, value: x.name });
  }
  const tfAxes = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  const src = em.value(x);
  const onnxAxes = tfAxes.map((a) => onnxAxis(a, rank, x.perm));
  const op = { mean: 'ReduceMean', sum: 'ReduceSum', max: 'ReduceMax', min: 'ReduceMin', prod: 'ReduceProd' }[kind];
  const axesAsInput = kind === 'sum' || em.opset >= 18;
  const out = axesAsInput
    ? em.emit1(op, [src, em.int64s(onnxAxes, `${name}/axes`)], { keepdims: keepDims ? 1 : 0 }, name)
    : em.emit1(op, [src], { axes: onnxAxes, keepdims: keepDims ? 1 : 0 }, name);
  const shape = x.shape!.map((d, i) => (tfAxes.includes(i) ? 1 : d)).filter((_, i) => keepDims || !tfAxes.includes(i));
  const perm = keepDims ? x.perm : dropAxes(x.perm, tfAxes, rank);
  return em.produced({ name, dtype: x.dtype, shape, onnx: out, perm });
}

export function softmax(em: Emitter, x: TfValue, axis: number, name: string, log = false): TfValue {
  const rank = rankOf(x) ?? 2;
  const out = em.emit1(log ? 'LogSoftmax' : 'Softmax', [em.value(x)], { axis: onnxAxis(axis, rank, x.perm) }, name);
  return em.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
}

/** Whether `BroadcastTo(base, target)` used against `other` can be replaced by `base` alone. */
function broadcastCovered(b: { base: TfValue; target: SymInt[] }, other: TfValue): boolean {
  const s = other.shape;
  if (!s || s.length !== b.target.length) return false;
  const baseShape = b.base.shape;
  if (!baseShape || baseShape.length > s.length) return false;
  return b.target.every((t, i) => (typeof t === 'number' ? t === s[i] && t >= 0 : t.of === other && t.axis === i));
}

function foldIntBinary(op: string, a: TfValue, b: TfValue, name: string): TfValue | undefined {
  if (a.dtype !== 'int32' && a.dtype !== 'int64') return undefined;
  const x = konstNumbers(a);
  const y = konstNumbers(b);
  if (!x || !y || (x.length !== y.length && x.length !== 1 && y.length !== 1)) return undefined;
  const f: Record<string, (p: number, q: number) => number> = {
    Add: (p, q) => p + q,
    Sub: (p, q) => p - q,
    Mul: (p, q) => p * q,
    Div: (p, q) => Math.trunc(p / q),
    FloorDiv: (p, q) => Math.floor(p / q),
  };
  const fn = f[op];
  if (!fn) return undefined;
  const n = Math.max(x.length, y.length);
  const out = range(n).map((i) => fn(x[x.length === 1 ? 0 : i]!, y[y.length === 1 ? 0 : i]!));
  const shape = (a.shape?.length ?? 0) >= (b.shape?.length ?? 0) ? a.shape : b.shape;
  return { name, dtype: a.dtype, shape: shape ? [...shape] : [n], sym: out };
}
