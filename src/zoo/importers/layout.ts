import { sizeOf, type HostArray } from './types.js';

/**
 * Layouts are permutations. A TF value held in ONNX with permutation `p` means: ONNX dim i is TF dim p[i]
 * (the ONNX tensor is TF's transposed by p). `undefined` is the identity. Channels-first for a rank-4
 * NHWC tensor is [0, 3, 1, 2].
 */
export type Perm = readonly number[] | undefined;

export const NCHW: readonly number[] = [0, 3, 1, 2];

export function isIdentity(p: Perm): boolean {
  return !p || p.every((v, i) => v === i);
}

export function samePerm(a: Perm, b: Perm): boolean {
  if (isIdentity(a)) return isIdentity(b);
  if (isIdentity(b)) return false;
  return a!.length === b!.length && a!.every((v, i) => v === b![i]);
}

export function permKey(p: Perm): string {
  return isIdentity(p) ? 'id' : p!.join(',');
}

/** ONNX Transpose perm taking data held in layout `from` to layout `to` (same rank). */
export function transposeBetween(from: Perm, to: Perm, rank: number): number[] {
  const f = from ?? range(rank);
  const t = to ?? range(rank);
  return t.map((tfAxis) => f.indexOf(tfAxis));
}

/** The ONNX-order shape of a TF shape held in layout p. */
export function permuteShape<T>(shape: readonly T[], p: Perm): T[] {
  return isIdentity(p) ? [...shape] : p!.map((i) => shape[i]!);
}

/** ONNX axis holding TF axis `a` (a may be negative). */
export function onnxAxis(a: number, rank: number, p: Perm): number {
  const tf = a < 0 ? a + rank : a;
  return isIdentity(p) ? tf : p!.indexOf(tf);
}

/**
 * Whether holding the TF shape in layout p changes the order of elements in memory. Moving size-1 axes
 * does not, so e.g. [N,1,1,C] read channels-first is already in TF's row-major order.
 */
export function reordersData(shape: readonly number[] | undefined, p: Perm): boolean {
  if (isIdentity(p)) return false;
  if (!shape) return true;
  const tfOrder = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const onnxOrder = p!.filter((i) => shape[i] !== 1);
  return tfOrder.some((v, i) => v !== onnxOrder[i]);
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Host-side transpose: out dim i = in dim perm[i]. */
export function transposeHost(a: HostArray, perm: readonly number[]): HostArray {
  const rank = a.shape.length;
  if (perm.length !== rank) throw new Error(`transposeHost: perm ${perm} for rank ${rank}`);
  const outShape = perm.map((i) => a.shape[i]!);
  const n = sizeOf(a.shape);
  const out = new (a.data.constructor as new (n: number) => typeof a.data)(n);
  if (n === 0) return { dtype: a.dtype, shape: outShape, data: out };
  const inStrides = stridesOf(a.shape);
  // walk the output in order, stepping the source offset with an odometer (weights reach tens of millions)
  const step = perm.map((p) => inStrides[p]!);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o++) {
    out[o] = a.data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) {
        src += step[d]!;
        break;
      }
      idx[d] = 0;
      src -= step[d]! * (outShape[d]! - 1);
    }
  }
  return { dtype: a.dtype, shape: outShape, data: out };
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** TF/NumPy broadcast of static shapes; -1 (unknown) meets a known size as that size. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === -1) out.push(y);
    else out.push(x);
  }
  return out;
}

/** Layout after dropping TF axes `dropped` from a value held in layout `perm`. */
export function dropAxes(perm: Perm, dropped: number[], rank: number): Perm {
  if (isIdentity(perm)) return undefined;
  const kept = range(rank).filter((a) => !dropped.includes(a));
  const renumber = new Map(kept.map((a, i) => [a, i]));
  const out = perm!.filter((a) => !dropped.includes(a)).map((a) => renumber.get(a)!);
  return isIdentity(out) ? undefined : out;
}
