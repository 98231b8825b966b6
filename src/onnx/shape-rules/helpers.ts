import type { DType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { broadcastShapes, Conflict, formatShape, normAxis, unify } from './dims.js';
import type { Tensor } from '../tensor.js';
import type { ShapeContext, ValueFacts } from './types.js';

/** The common element type of inputs `idx` (those known); fails when two disagree. */
export function sameDtype(ctx: ShapeContext, idx: readonly number[]): DType | undefined {
  let d: DType | undefined;
  let from = -1;
  for (const i of idx) {
    const t = ctx.has(i) ? ctx.dtype(i) : undefined;
    if (t === undefined) continue;
    if (d !== undefined && t !== d) {
      ctx.fail('inputs have different element types', {
        inputIndex: i,
        expected: `${d} (as input #${from})`,
        found: t,
        fix: 'insert a Cast so both inputs have the same type',
      });
    }
    if (d === undefined) [d, from] = [t, i];
  }
  return d;
}

/** numpy broadcasting of the given inputs' shapes; fails naming the axis when sizes conflict. */
export function broadcastInputs(ctx: ShapeContext, idx: readonly number[]): Dim[] | undefined {
  const given = idx.filter((i) => ctx.has(i));
  const shapes = given.map((i) => ctx.shape(i));
  const r = broadcastShapes(shapes);
  if (r && !Array.isArray(r)) {
    ctx.fail(`input shapes cannot be broadcast together (axis ${r.axis} from the right-aligned end)`, {
      expected: 'equal sizes, or 1, on every right-aligned axis',
      found: given.map((i, k) => `#${i} ${formatShape(shapes[k])}`).join(' vs '),
    });
  }
  return r as Dim[] | undefined;
}

/** Two dims that must agree; fails with `what` otherwise. */
export function agree(ctx: ShapeContext, a: Dim, b: Dim, what: string, inputIndex?: number): Dim {
  const r = unify(a, b);
  if (r instanceof Conflict) ctx.fail(what, { expected: String(r.a), found: String(r.b), inputIndex });
  return r as Dim;
}

/** An axis attribute normalised against `rank`; fails when out of range. */
export function axisOf(ctx: ShapeContext, axis: number, rank: number, name = 'axis'): number {
  const a = normAxis(axis, rank);
  if (a === undefined) {
    ctx.fail(`${name} ${axis} is out of range`, {
      expected: `an axis in [${-rank}, ${rank - 1}]`,
      found: String(axis),
    });
  }
  return a as number;
}

/** Shape of a value known only by rank: all dims unknown. */
export const unknownDims = (rank: number): Dim[] => new Array<Dim>(rank).fill(undefined);

/** Input `i`'s known numbers, or an int/ints attribute for ops that moved it from attribute to input. */
export function attrOrInput(ctx: ShapeContext, attr: string, i: number): number[] | undefined | 'absent' {
  const a = ctx.node.attrs[attr];
  if (a) return ctx.node.intsAttr(attr) ?? [];
  if (!ctx.has(i)) return 'absent';
  return ctx.numbers(i);
}

/** Elementwise result for small integer shape arithmetic; undefined where a side is not a number. */
export function mapValues(
  a: readonly Dim[] | undefined,
  b: readonly Dim[] | undefined,
  f: (x: number, y: number) => number,
  identity?: { left?: number; right?: number },
): Dim[] | undefined {
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  if (!(a.length === n || a.length === 1) || !(b.length === n || b.length === 1)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length === 1 ? 0 : i];
    const y = b[b.length === 1 ? 0 : i];
    if (typeof x === 'number' && typeof y === 'number') out.push(f(x, y));
    else if (identity?.right !== undefined && y === identity.right) out.push(x);
    else if (identity?.left !== undefined && x === identity.left) out.push(y);
    else out.push(undefined);
  }
  return out;
}

/** Tensors up to this many elements have their values tracked (shapes, axes, scalars). */
export const MAX_VALUE_ELEMENTS = 64;

/** Facts about a constant tensor: its type, shape and, when small and numeric, its elements. */
export function tensorFacts(t: Tensor): ValueFacts {
  const facts: ValueFacts = { dtype: t.dtype, shape: [...t.dims] };
  // Half floats would read as their bit patterns; external data is not read just for this.
  const numeric = t.dtype !== 'string' && t.dtype !== 'float16' && t.dtype !== 'bfloat16';
  if (numeric && t.size <= MAX_VALUE_ELEMENTS && t.isLoaded) facts.value = t.toNumbers();
  return facts;
}
