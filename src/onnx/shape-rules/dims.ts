import type { Dim } from '../graph.js';

/**
 * Dimension algebra for shape inference. A Dim is a number, a symbol (string: the same symbol always
 * means the same size, e.g. the batch 'N') or undefined (unknown). Functions return undefined
 * wherever the answer cannot be known statically, and a `Conflict` when the dims provably disagree.
 */
export class Conflict {
  constructor(
    readonly a: Dim,
    readonly b: Dim,
  ) {}
}

export const isNum = (d: Dim): d is number => typeof d === 'number';

export function formatShape(s: readonly Dim[] | undefined): string {
  return s ? `[${s.map((d) => (d === undefined ? '?' : String(d))).join(', ')}]` : '(unknown rank)';
}

/** Two dims that must be equal: the more specific one, or a Conflict. */
export function unify(a: Dim, b: Dim): Dim | Conflict {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (isNum(a) && isNum(b)) return a === b ? a : new Conflict(a, b);
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a; // two symbols: they name the same size from here on; keep the first
}

/** numpy (multidirectional) broadcasting of two dims. */
export function broadcastDim(a: Dim, b: Dim): Dim | Conflict {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === undefined || b === undefined) {
    // an unknown dim is 1 or the other: only a known non-1 size is certain
    const other = a === undefined ? b : a;
    return isNum(other) ? other : undefined;
  }
  if (isNum(a) && isNum(b)) return a === b ? a : new Conflict(a, b);
  if (isNum(a)) return a; // the symbol must be a (or 1)
  if (isNum(b)) return b;
  return a === b ? a : undefined;
}

/** Broadcast shape of several shapes; undefined when a rank is unknown; a Conflict names the axis. */
export function broadcastShapes(
  shapes: readonly (readonly Dim[] | undefined)[],
): Dim[] | undefined | { conflict: Conflict; axis: number } {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = new Array(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s!.length;
    for (let i = 0; i < s!.length; i++) {
      const r = broadcastDim(out[off + i], s![i]);
      if (r instanceof Conflict) return { conflict: r, axis: off + i };
      out[off + i] = r;
    }
  }
  return out;
}

/** Product of dims, exact when it can be: numbers multiply, one symbol times ones stays that symbol. */
export function product(dims: readonly Dim[]): Dim {
  const f = factor(dims);
  return f ? fromFactor(f) : dims.some((d) => d === 0) ? 0 : undefined;
}

/** A product as a numeric coefficient times symbols (with multiplicity); undefined if a dim is unknown. */
interface Factor {
  num: number;
  syms: Map<string, number>;
}

function factor(dims: readonly Dim[]): Factor | undefined {
  const f: Factor = { num: 1, syms: new Map() };
  for (const d of dims) {
    if (d === undefined) return undefined;
    if (isNum(d)) f.num *= d;
    else f.syms.set(d, (f.syms.get(d) ?? 0) + 1);
  }
  return f;
}

function fromFactor(f: Factor): Dim {
  if (f.num === 0) return 0;
  if (f.syms.size === 0) return f.num;
  if (f.syms.size === 1 && f.num === 1) {
    const [s, n] = [...f.syms][0]!;
    if (n === 1) return s;
  }
  return undefined;
}

/**
 * `total / product(known)`: the size a -1 in Reshape stands for. Undefined when it cannot be known;
 * a Conflict when numbers show the element counts cannot match.
 */
export function quotient(total: readonly Dim[], known: readonly Dim[]): Dim | Conflict {
  const t = factor(total);
  const k = factor(known);
  if (!t || !k) return undefined;
  for (const [s, n] of k.syms) {
    const have = t.syms.get(s) ?? 0;
    if (have < n) return undefined;
    if (have === n) t.syms.delete(s);
    else t.syms.set(s, have - n);
  }
  if (k.num === 0) return undefined;
  if (t.syms.size === 0 && t.num % k.num !== 0) return new Conflict(t.num, k.num);
  if (t.num % k.num !== 0) return undefined;
  return fromFactor({ num: t.num / k.num, syms: t.syms });
}

/** Whether two element counts provably differ. */
export function countsDiffer(a: readonly Dim[], b: readonly Dim[]): boolean {
  const q = quotient(a, b);
  if (q instanceof Conflict) return true;
  return isNum(q) && q !== 1;
}

/** Normalises a possibly negative axis for a tensor of `rank`; undefined when out of range. */
export function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}
