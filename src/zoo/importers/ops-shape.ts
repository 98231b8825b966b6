// Shape ops (reshape, squeeze, concat, slice, pad...) and the folding of TF's shape arithmetic.
import { GraftError } from '../../errors.js';
import { rankOf, symOf, type Emitter, type SymInt, type TfDType, type TfValue } from './emitter.js';
import { broadcastShapes, dropAxes, isIdentity, onnxAxis, range } from './layout.js';
import { cast } from './ops-math.js';
import { sizeOf } from './types.js';

/** Keras Flatten / TF reshape to [N, -1]. */
export function flatten(em: Emitter, x: TfValue, name: string): TfValue {
  const out = em.emit1('Flatten', [em.rowMajor(x).name], { axis: 1 }, name);
  const rest = x.shape?.slice(1);
  const shape = x.shape ? [x.shape[0]!, rest!.some((d) => d < 0) ? -1 : sizeOf(rest!)] : undefined;
  return em.produced({ name, dtype: x.dtype, shape, onnx: out });
}

export function squeeze(em: Emitter, x: TfValue, axes: number[], name: string): TfValue {
  const rank = rankOf(x);
  if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Squeeze of a value of unknown rank', { node: name });
  let tfAxes = axes.map((a) => (a < 0 ? a + rank : a));
  if (tfAxes.length === 0) {
    if (x.shape!.some((d) => d < 0)) {
      throw new GraftError('UNSUPPORTED_OP', 'Squeeze without squeeze_dims needs a static input shape', {
        node: name,
        found: `[${x.shape!.join(', ')}]`,
        fix: 'pass inputSize to the importer so shapes are static',
      });
    }
    tfAxes = x.shape!.flatMap((d, i) => (d === 1 ? [i] : []));
  }
  tfAxes.sort((p, q) => p - q);
  if (x.sym) {
    return { name, dtype: x.dtype, shape: [], sym: x.sym };
  }
  const src = em.value(x);
  const onnxAxes = tfAxes.map((a) => onnxAxis(a, rank, x.perm));
  const out = em.emit1('Squeeze', [src, em.int64s(onnxAxes, `${name}/axes`)], undefined, name);
  const shape = x.shape!.filter((_, i) => !tfAxes.includes(i));
  return em.produced({ name, dtype: x.dtype, shape, onnx: out, perm: dropAxes(x.perm, tfAxes, rank) });
}

export function expandDims(em: Emitter, x: TfValue, axis: number, name: string): TfValue {
  const rank = rankOf(x);
  if (rank === undefined)
    throw new GraftError('UNSUPPORTED_OP', 'ExpandDims of a value of unknown rank', { node: name });
  const a = axis < 0 ? axis + rank + 1 : axis;
  if (x.sym && rank === 0) return { name, dtype: x.dtype, shape: [1], sym: x.sym };
  const src = em.get(x, undefined);
  const out = em.emit1('Unsqueeze', [src, em.int64s([a], `${name}/axes`)], undefined, name);
  const shape = [...x.shape!];
  shape.splice(a, 0, 1);
  return em.produced({ name, dtype: x.dtype, shape, onnx: out });
}

/** Reshape to a TF target shape (may contain -1 and run-time dims). */
export function reshape(em: Emitter, x: TfValue, target: SymInt[] | TfValue, name: string): TfValue {
  const input = em.rowMajor(x);
  if (!Array.isArray(target)) {
    // a shape computed from data at run time
    const shape = em.int64Of(target, `${name}/shape`);
    const out = em.emit1('Reshape', [input.name, shape], undefined, name);
    const rank = target.shape?.[0];
    const dims = rank !== undefined && rank >= 0 ? range(rank).map(() => -1) : undefined;
    return em.produced({ name, dtype: x.dtype, shape: dims, onnx: out });
  }
  // a run-time dim the input holds at the same position is copied (ONNX's 0), e.g. the batch
  const copies = (t: SymInt, i: number) =>
    typeof t !== 'number' && t.of === x && onnxAxis(t.axis, rankOf(x)!, input.perm) === i;
  const hasZero = target.some((t) => t === 0);
  const open = target.filter((t, i) => (typeof t !== 'number' && !(copies(t, i) && !hasZero)) || t === -1);
  let shapeInput: string;
  if (open.length <= 1) {
    const dims = target.map((t, i) => (typeof t === 'number' ? t : copies(t, i) && !hasZero ? 0 : -1));
    shapeInput = em.int64s(dims, `${name}/shape`);
  } else {
    const sym = { name: `${name}/shape`, dtype: 'int64' as const, shape: [target.length], sym: target };
    shapeInput = em.int64Of(sym, `${name}/shape`);
  }
  const attrs = hasZero ? { allowzero: 1 } : undefined;
  const out = em.emit1('Reshape', [input.name, shapeInput], attrs, name);
  return em.produced({ name, dtype: x.dtype, shape: resolveTarget(target, x.shape), onnx: out });
}

/** TF Transpose: free in this representation (the layout absorbs it); an Identity keeps the TF name. */
export function transpose(em: Emitter, x: TfValue, tfPerm: number[], name: string): TfValue {
  const rank = tfPerm.length;
  const p = x.perm ?? range(rank);
  const perm = p.map((axis) => tfPerm.indexOf(axis));
  const out = em.emit1('Identity', [em.value(x)], undefined, name);
  const shape = x.shape ? tfPerm.map((i) => x.shape![i]!) : undefined;
  return em.produced({ name, dtype: x.dtype, shape, onnx: out, perm: isIdentity(perm) ? undefined : perm });
}

export function concat(em: Emitter, xs: TfValue[], axis: number, name: string): TfValue {
  if (xs.every((x) => rankOf(x) === 1 && konstOrSym(x))) {
    const sym = xs.flatMap((x) => symOf(x)!);
    return { name, dtype: xs[0]!.dtype, shape: [sym.length], sym };
  }
  const rank = rankOf(xs[0]!);
  if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Concat of values of unknown rank', { node: name });
  const a = axis < 0 ? axis + rank : axis;
  const perm = xs.find((x) => !isIdentity(x.perm) && !x.konst)?.perm;
  const out = em.emit1(
    'Concat',
    xs.map((x) => em.get(x, perm)),
    { axis: onnxAxis(a, rank, perm) },
    name,
  );
  const shape = xs[0]!.shape!.map((d, i) =>
    i === a ? (xs.some((x) => x.shape![i]! < 0) ? -1 : xs.reduce((s, x) => s + x.shape![i]!, 0)) : d,
  );
  return em.produced({ name, dtype: xs[0]!.dtype, shape, onnx: out, perm });
}

/** TF Pack/stack: integer scalars fold into a known vector; tensors are unsqueezed and concatenated. */
export function pack(em: Emitter, xs: TfValue[], axis: number, name: string): TfValue {
  if (xs.every((x) => rankOf(x) === 0 && konstOrSym(x))) {
    const sym = xs.map((x) => symOf(x)![0]!);
    return { name, dtype: xs[0]!.dtype, shape: [sym.length], sym };
  }
  const rank = rankOf(xs[0]!);
  if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Pack of values of unknown rank', { node: name });
  const a = axis < 0 ? axis + rank + 1 : axis;
  const parts = xs.map((x, i) => expandDims(em, x, a, `${name}/in${i}`));
  return concat(em, parts, a, name);
}

export function pad(
  em: Emitter,
  x: TfValue,
  paddings: [number, number][],
  mode: 'constant' | 'reflect' | 'edge',
  value: number,
  name: string,
) {
  const rank = rankOf(x) ?? paddings.length;
  const perm = x.perm;
  const order = perm ?? range(rank);
  const pads = [...order.map((i) => paddings[i]![0]), ...order.map((i) => paddings[i]![1])];
  const inputs = [em.value(x), em.int64s(pads, `${name}/pads`)];
  if (mode === 'constant' && value !== 0) inputs.push(em.scalarOf(value, x.dtype, `${name}/value`));
  const out = em.emit1('Pad', inputs, { mode }, name);
  const shape = x.shape?.map((d, i) => (d < 0 ? -1 : d + paddings[i]![0] + paddings[i]![1]));
  return em.produced({ name, dtype: x.dtype, shape, onnx: out, perm });
}

/** StridedSlice without ellipsis/new-axis masks; folds on known integer vectors. */
export function stridedSlice(
  em: Emitter,
  x: TfValue,
  begin: number[],
  end: number[],
  strides: number[],
  masks: { begin: number; end: number; shrink: number },
  name: string,
): TfValue {
  const rank = rankOf(x);
  if (rank === undefined)
    throw new GraftError('UNSUPPORTED_OP', 'StridedSlice of a value of unknown rank', { node: name });
  const dims = range(begin.length);
  const bit = (mask: number, i: number) => (mask >> i) & 1;
  const sym = symOf(x);
  if (sym && rank === 1) {
    const n = sym.length;
    const i = 0;
    const s = strides[i] ?? 1;
    if (bit(masks.shrink, i)) {
      const b = begin[i]! < 0 ? begin[i]! + n : begin[i]!;
      return { name, dtype: x.dtype, shape: [], sym: [sym[b]!] };
    }
    const [lo, hi] = sliceBounds(n, begin[i]!, end[i]!, s, bit(masks.begin, i) === 1, bit(masks.end, i) === 1);
    const picked: SymInt[] = [];
    for (let k = lo; s > 0 ? k < hi : k > hi; k += s) picked.push(sym[k]!);
    return { name, dtype: x.dtype, shape: [picked.length], sym: picked };
  }
  const src = em.get(x, undefined);
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  const shrink: number[] = [];
  const BIG = 2 ** 31 - 1;
  for (const i of dims) {
    const s = strides[i] ?? 1;
    if (bit(masks.shrink, i)) {
      const b = begin[i]!;
      starts.push(b);
      ends.push(b === -1 ? BIG : b + 1);
      steps.push(1);
      shrink.push(i);
      continue;
    }
    starts.push(bit(masks.begin, i) ? (s > 0 ? 0 : BIG) : begin[i]!);
    ends.push(bit(masks.end, i) ? (s > 0 ? BIG : -BIG) : end[i]!);
    steps.push(s);
  }
  const sliced = em.emit1(
    'Slice',
    [
      src,
      em.int64s(starts, `${name}/starts`),
      em.int64s(ends, `${name}/ends`),
      em.int64s(dims, `${name}/axes`),
      em.int64s(steps, `${name}/steps`),
    ],
    undefined,
    shrink.length ? `${name}/slice` : name,
  );
  const shape = x.shape!.map((d, i) => {
    if (i >= dims.length) return d;
    if (bit(masks.shrink, i)) return 1;
    if (d < 0) return -1;
    const [lo, hi] = sliceBounds(d, begin[i]!, end[i]!, steps[i]!, bit(masks.begin, i) === 1, bit(masks.end, i) === 1);
    return Math.max(0, Math.ceil((hi - lo) / steps[i]!));
  });
  const v = em.produced({ name: shrink.length ? `${name}/slice` : name, dtype: x.dtype, shape, onnx: sliced });
  return shrink.length ? squeeze(em, v, shrink, name) : v;
}

/** The shape of `x` as a known-by-element vector. */
export function shapeOf(em: Emitter, x: TfValue, dtype: TfDType, name: string): TfValue {
  if (!x.shape) {
    const out = em.emit1('Shape', [em.get(x, undefined)], undefined, dtype === 'int64' ? name : `${name}/int64`);
    const v = em.produced({ name, dtype: 'int64', shape: [-1], onnx: out });
    return dtype === 'int64' ? v : cast(em, v, dtype, name);
  }
  const sym: SymInt[] = x.shape.map((d, i) => (d >= 0 ? d : { of: x, axis: i }));
  return { name, dtype, shape: [sym.length], sym };
}

/** TF BroadcastTo: kept lazy, since the binary ops that follow broadcast on their own. */
export function broadcastTo(em: Emitter, x: TfValue, target: TfValue, name: string): TfValue {
  const sym = symOf(target);
  if (!sym) {
    const out = em.emit1('Expand', [em.get(x, undefined), em.int64Of(target, `${name}/shape`)], undefined, name);
    return em.produced({ name, dtype: x.dtype, shape: undefined, onnx: out });
  }
  const shape = sym.map((s) => (typeof s === 'number' ? s : (s.of.shape?.[s.axis] ?? -1)));
  return {
    name,
    dtype: x.dtype,
    shape: x.shape ? broadcastShapes(x.shape, shape) : shape,
    broadcast: { base: x, target: sym },
  };
}

function konstOrSym(v: TfValue): boolean {
  return !!(v.sym || (v.konst && v.konst.dtype === 'int32'));
}

/** Python-style slice bounds [lo, hi) for a dim of size n. */
function sliceBounds(n: number, b: number, e: number, s: number, beginMasked: boolean, endMasked: boolean) {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let lo: number;
  let hi: number;
  if (s > 0) {
    lo = beginMasked ? 0 : clamp(b < 0 ? b + n : b, 0, n);
    hi = endMasked ? n : clamp(e < 0 ? e + n : e, 0, n);
  } else {
    lo = beginMasked ? n - 1 : clamp(b < 0 ? b + n : b, -1, n - 1);
    hi = endMasked ? -1 : clamp(e < 0 ? e + n : e, -1, n - 1);
  }
  return [lo, hi] as const;
}

/** Static shape a Reshape produces, resolving -1 when the rest is known. */
function resolveTarget(target: SymInt[], inShape: number[] | undefined): number[] {
  const dims = target.map((t) => (typeof t === 'number' ? t : (t.of.shape?.[t.axis] ?? -1)));
  const unknown = dims.filter((d) => d < 0).length;
  if (unknown === 1 && inShape && inShape.every((d) => d >= 0)) {
    const known = dims.filter((d) => d >= 0).reduce((p, q) => p * q, 1);
    return dims.map((d) => (d < 0 ? sizeOf(inShape) / known : d));
  }
  return dims;
}
