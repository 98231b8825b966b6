// Index ops (Where, Gather, GatherNd, ScatterNd, SparseToDense) and the sequence ops around them (SplitV,
// Range): what a TF text model uses to go between a sparse batch of tokens and dense [batch, position] tensors.
// They work on values in TF layout: indices address TF axes.
import { GraftError } from '../../errors.js';
import type { DType } from '../../onnx/dtype.js';
import { Tensor } from '../../onnx/tensor.js';
import { konstNumbers, rankOf, symOf, type Emitter, type SymInt, type TfValue } from './emitter.js';
import { onnxAxis, range } from './layout.js';

const ONNX_TYPE: Record<TfValue['dtype'], DType> = { float32: 'float32', int32: 'int32', int64: 'int64', bool: 'bool' };

/** TF Where with one input: the coordinates of the true elements, [count, rank] int64, in row-major order. */
export function where(em: Emitter, cond: TfValue, name: string): TfValue {
  const rank = rankOf(cond);
  if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Where of a value of unknown rank', { node: name });
  const nz = em.emit1('NonZero', [em.get(cond, undefined)], undefined, `${name}/NonZero`);
  const out = em.emit1('Transpose', [nz], { perm: [1, 0] }, name);
  return em.produced({ name, dtype: 'int64', shape: [-1, rank], onnx: out });
}

/**
 * TF GatherV2 (batch_dims 0). Picking known elements of a known integer vector (the dims of a shape, as
 * Tensordot does) folds on the host, so the shape arithmetic after it still folds into static targets.
 */
export function gather(em: Emitter, params: TfValue, indices: TfValue, axis: number, name: string): TfValue {
  const rank = rankOf(params);
  const ir = rankOf(indices);
  if (rank === undefined || ir === undefined) {
    throw new GraftError('UNSUPPORTED_OP', 'GatherV2 of values of unknown rank', { node: name });
  }
  const a = axis < 0 ? axis + rank : axis;
  const sym = symOf(params);
  const picks = konstNumbers(indices);
  if (sym && rank === 1 && picks && ir <= 1) {
    const picked = picks.map((i) => sym[i < 0 ? i + sym.length : i]!);
    if (picked.every((p) => p !== undefined)) {
      return { name, dtype: params.dtype, shape: ir === 0 ? [] : [picked.length], sym: picked };
    }
  }
  const out = em.emit1('Gather', [em.get(params, undefined), em.get(indices, undefined)], { axis: a }, name);
  const shape =
    params.shape && indices.shape
      ? [...params.shape.slice(0, a), ...indices.shape, ...params.shape.slice(a + 1)]
      : undefined;
  return em.produced({ name, dtype: params.dtype, shape, onnx: out });
}

/** TF GatherNd: slices of `params` addressed by the last axis of `indices`. */
export function gatherNd(em: Emitter, params: TfValue, indices: TfValue, name: string): TfValue {
  const depth = indices.shape?.[indices.shape.length - 1];
  if (!params.shape || !indices.shape || depth === undefined || depth < 0) {
    throw new GraftError('UNSUPPORTED_OP', 'GatherNd needs index vectors of a known length', {
      node: name,
      found: `indices [${indices.shape?.join(', ') ?? '?'}]`,
    });
  }
  const out = em.emit1(
    'GatherND',
    [em.get(params, undefined), em.int64Of(indices, `${name}/indices`)],
    undefined,
    name,
  );
  const shape = [...indices.shape.slice(0, -1), ...params.shape.slice(depth)];
  return em.produced({ name, dtype: params.dtype, shape, onnx: out });
}

/**
 * TF ScatterNd: `updates` written into zeros of `shape` at `indices`. TF adds updates that share an index;
 * ONNX ScatterND does so with reduction 'add' (opset 16+); below that, the indices must be unique (they are
 * when they come from a Where, as in the text models this is for).
 */
export function scatterNd(em: Emitter, indices: TfValue, updates: TfValue, shape: TfValue, name: string): TfValue {
  const dims = targetDims(shape);
  const zeros = zerosOf(em, shape, updates.dtype, `${name}/zeros`);
  const out = em.emit1(
    'ScatterND',
    [zeros, em.int64Of(indices, `${name}/indices`), em.get(updates, undefined)],
    em.opset >= 16 ? { reduction: 'add' } : undefined,
    name,
  );
  return em.produced({ name, dtype: updates.dtype, shape: dims, onnx: out });
}

/** TF SparseToDense: `values` (or one scalar for all) at `indices` of a `shape` tensor filled with `fill`. */
export function sparseToDense(
  em: Emitter,
  indices: TfValue,
  shape: TfValue,
  values: TfValue,
  fill: TfValue,
  name: string,
): TfValue {
  const dims = targetDims(shape);
  const base = em.emit1(
    'Expand',
    [em.get(fill, undefined), em.int64Of(shape, `${name}/shape`)],
    undefined,
    `${name}/default`,
  );
  // a 1-D index list addresses a vector: one coordinate per value
  const idx = em.int64Of(indices, `${name}/indices`);
  const coords =
    rankOf(indices) === 1
      ? em.emit1('Unsqueeze', [idx, em.int64s([1], `${name}/axes`)], undefined, `${name}/coords`)
      : idx;
  let vals = em.get(values, undefined);
  if (rankOf(values) === 0) {
    // one value for every index: as many copies as there are index rows
    const count = em.emit1('Shape', [coords], { start: 0, end: 1 }, `${name}/count`);
    vals = em.emit1('Expand', [vals, count], undefined, `${name}/values`);
  }
  const out = em.emit1('ScatterND', [base, coords, vals], undefined, name);
  return em.produced({ name, dtype: values.dtype, shape: dims, onnx: out });
}

/** TF SplitV: pieces of the given sizes along an axis (one size may be -1: the rest). */
export function splitV(em: Emitter, x: TfValue, sizes: number[], axis: number, name: string): TfValue[] {
  const rank = rankOf(x);
  if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'SplitV of a value of unknown rank', { node: name });
  const a = axis < 0 ? axis + rank : axis;
  const total = x.shape![a]!;
  const open = sizes.filter((s) => s === -1).length;
  if (open > 1 || (open === 1 && total < 0)) {
    throw new GraftError('UNSUPPORTED_OP', 'SplitV sizes must be known when importing', {
      node: name,
      expected: 'split sizes that add up to a known axis length (at most one -1)',
      found: `sizes [${sizes.join(', ')}] of an axis of ${total < 0 ? 'unknown' : total} elements`,
      fix: 'export the model with static split sizes',
    });
  }
  const known = sizes.filter((s) => s !== -1).reduce((p, q) => p + q, 0);
  const resolved = sizes.map((s) => (s === -1 ? total - known : s));
  const outs = em.emit(
    'Split',
    [em.value(x), em.int64s(resolved, `${name}/split`)],
    { axis: onnxAxis(a, rank, x.perm) },
    name,
    resolved.length,
  );
  return outs.map((onnx, i) =>
    em.produced({
      name: i === 0 ? name : `${name}:${i}`,
      dtype: x.dtype,
      shape: x.shape!.map((d, k) => (k === a ? resolved[i]! : d)),
      onnx,
      perm: x.perm,
    }),
  );
}

/** TF Range; folds when start, limit and delta are known. */
export function rangeOf(em: Emitter, start: TfValue, limit: TfValue, delta: TfValue, name: string): TfValue {
  const [s, l, d] = [start, limit, delta].map((v) => konstNumbers(v)?.[0]);
  if (s !== undefined && l !== undefined && d !== undefined && d !== 0 && start.dtype !== 'float32') {
    const n = Math.max(0, Math.ceil((l - s) / d));
    return { name, dtype: start.dtype, shape: [n], sym: range(n).map((i) => s + i * d) };
  }
  const dtype = start.dtype;
  const scalar = (v: TfValue, tag: string): string => {
    if (v.dtype === dtype) return em.value(v);
    const code = { float32: 1, int32: 6, int64: 7, bool: 9 }[dtype];
    return em.emit1('Cast', [em.value(v)], { to: code }, `${name}/${tag}`);
  };
  const out = em.emit1(
    'Range',
    [scalar(start, 'start'), scalar(limit, 'limit'), scalar(delta, 'delta')],
    undefined,
    name,
  );
  return em.produced({ name, dtype, shape: [-1], onnx: out });
}

/** The static dims a shape vector gives (-1 where only known at run time). */
function targetDims(shape: TfValue): number[] | undefined {
  const sym = symOf(shape);
  if (sym) return sym.map((s: SymInt) => (typeof s === 'number' ? s : (s.of.shape?.[s.axis] ?? -1)));
  const n = shape.shape?.[0];
  return n !== undefined && n >= 0 ? range(n).map(() => -1) : undefined;
}

/** Zeros of `dtype` in the shape a shape vector gives. */
function zerosOf(em: Emitter, shape: TfValue, dtype: TfValue['dtype'], name: string): string {
  const t = ONNX_TYPE[dtype];
  const one =
    t === 'float32'
      ? new Float32Array(1)
      : t === 'int32'
        ? new Int32Array(1)
        : t === 'int64'
          ? new BigInt64Array(1)
          : new Uint8Array(1);
  return em.emit1(
    'ConstantOfShape',
    [em.int64Of(shape, `${name}/shape`)],
    { value: Tensor.from('value', one, [1], t) },
    name,
  );
}
