import { GraftError } from '../errors.js';
import type { GradContext } from './types.js';

/** The part of a rule context that emits ops; the builder's emitter provides the same surface. */
export type OpEmitter = Pick<
  GradContext,
  'opset' | 'emit' | 'emitN' | 'ints' | 'scalar' | 'shape' | 'dtype' | 'constant' | 'shapeOf' | 'unbroadcast'
>;

// Opset-aware spellings of ops whose axes moved from attributes to inputs. Rules call these instead of
// emitting the ops directly so the same rule works for every opset.

/** ReduceSum over `axes` (null: all axes). */
export function reduceSum(e: OpEmitter, x: string, axes: readonly number[] | null, keepdims: boolean): string {
  const k = keepdims ? 1 : 0;
  if (e.opset >= 13) return e.emit('ReduceSum', axes ? [x, e.ints(axes)] : [x], { keepdims: k });
  return e.emit('ReduceSum', [x], { axes: axes ? [...axes] : undefined, keepdims: k });
}

/** ReduceMean over `axes` (null: all axes). */
export function reduceMean(e: OpEmitter, x: string, axes: readonly number[] | null, keepdims: boolean): string {
  const k = keepdims ? 1 : 0;
  if (e.opset >= 18) return e.emit('ReduceMean', axes ? [x, e.ints(axes)] : [x], { keepdims: k });
  return e.emit('ReduceMean', [x], { axes: axes ? [...axes] : undefined, keepdims: k });
}

export function unsqueeze(e: OpEmitter, x: string, axes: readonly number[]): string {
  if (e.opset >= 13) return e.emit('Unsqueeze', [x, e.ints(axes)]);
  return e.emit('Unsqueeze', [x], { axes: [...axes] });
}

export function squeeze(e: OpEmitter, x: string, axes: readonly number[]): string {
  if (e.opset >= 13) return e.emit('Squeeze', [x, e.ints(axes)]);
  return e.emit('Squeeze', [x], { axes: [...axes] });
}

export function split(e: OpEmitter, x: string, sizes: readonly number[], axis: number): string[] {
  if (e.opset >= 13) return e.emitN('Split', [x, e.ints(sizes)], { axis }, { outputs: sizes.length });
  return e.emitN('Split', [x], { axis, split: [...sizes] }, { outputs: sizes.length });
}

/** Reshape to the (static or run-time) shape of `like`. Skipped when the shapes are already equal. */
export function reshapeLike(e: OpEmitter, x: string, like: string): string {
  if (sameStaticShape(e.shape(x), e.shape(like))) return x;
  return e.emit('Reshape', [x, e.shapeOf(like)]);
}

export function sameStaticShape(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((d, i) => d !== undefined && d === b[i]);
}

/**
 * Sums `grad` over the axes along which `target` was broadcast to produce it, then gives it target's shape.
 * Uses static ranks; a dim of 1 in the target against anything else in the gradient is a broadcast axis, a
 * symbolic target dim (the batch) is taken as not broadcast.
 */
export function unbroadcastGrad(e: OpEmitter, grad: string, target: string): string {
  const gs = e.shape(grad);
  const ts = e.shape(target);
  if (!gs || !ts) {
    throw new GraftError('NO_GRADIENT', 'Cannot undo broadcasting: the rank of a value is not known statically', {
      value: gs ? target : grad,
      expected: 'static ranks for the inputs of broadcasting ops on the gradient path',
      found: `gradient rank ${gs ? gs.length : 'unknown'}, target rank ${ts ? ts.length : 'unknown'}`,
      fix: 'give the model inputs a fixed rank (value_info / input shapes) before building the training graph',
    });
  }
  const lead = gs.length - ts.length;
  if (lead < 0) {
    // The forward op broadcast the gradient's source up to the target: expand instead of reduce.
    return e.emit('Expand', [grad, e.shapeOf(target)]);
  }
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  ts.forEach((t, j) => {
    if (t === 1 && gs[j + lead] !== 1) axes.push(j + lead);
  });
  if (axes.length === 0) return grad;
  if (axes.length === lead) return reduceSum(e, grad, axes, false);
  const summed = reduceSum(e, grad, axes, true);
  return lead === 0 ? summed : e.emit('Reshape', [summed, e.shapeOf(target)]);
}
