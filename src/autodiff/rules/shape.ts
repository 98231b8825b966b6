import type { GradContext, GradTable } from '../types.js';
import { normAxis } from '../shapes.js';
import { reshapeLike, split } from '../ops.js';
import { defLinear, nulls, requireRank, rule } from './helpers.js';

/** Ops that only move elements: the gradient is dL/dy given the input's shape back. */
const reshapeBack = defLinear((c, go) => reshapeLike(c, go, c.I(0)));

/** dL/dx of Concat: the slices of dL/dy that each input occupied. */
const concatRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const inputs = c.node.inputs;
  if (inputs.length === 1) {
    out[0] = c.needsGrad(0) ? go : null;
    return out;
  }
  const rank = requireRank(c, go);
  const axis = normAxis(c.node.intAttr('axis', 0), rank);
  const sizes = inputs.map((v) => c.shape(v)?.[axis]);
  if (sizes.every((d): d is number => typeof d === 'number')) {
    const parts = split(c, go, sizes, axis);
    inputs.forEach((_, i) => {
      if (c.needsGrad(i)) out[i] = parts[i]!;
    });
    return out;
  }
  // Sizes known only at run time: slice each needed part at offsets summed from the inputs' shapes.
  const axes = c.ints([axis]);
  let start = c.ints([0]);
  inputs.forEach((v, i) => {
    const d = sizes[i];
    const len = typeof d === 'number' ? c.ints([d]) : c.emit('Gather', [c.emit('Shape', [v]), c.ints([axis])]);
    const end = c.emit('Add', [start, len]);
    if (c.needsGrad(i)) out[i] = c.emit('Slice', [go, start, end, axes]);
    start = end;
  });
  return out;
});

function inversePerm(c: GradContext): number[] | undefined {
  const perm = c.node.intsAttr('perm');
  if (!perm) return undefined; // the default (reversal) is its own inverse
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export const shapeRules: GradTable = {
  Identity: defLinear((_, go) => go),
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: defLinear((c, go) => c.emit('Transpose', [go], { perm: inversePerm(c) })),
  Expand: defLinear((c, go) => c.unbroadcast(go, c.I(0))),
  Concat: concatRule,
  Shape: { kind: 'notDifferentiable' },
  Size: { kind: 'notDifferentiable' },
};
