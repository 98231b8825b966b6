import type { GradContext, GradTable } from '../types.js';
import { normAxis, reduceAxes } from '../shapes.js';
import { unsqueeze } from '../ops.js';
import { nulls, requireRank, rule, unsupported } from './helpers.js';

/**
 * dL/dx of a sum over axes: dL/dy broadcast back over the reduced axes (re-inserted when keepdims=0).
 * `scale` multiplies dL/dy first (on the smaller tensor) for means.
 */
function spreadBack(c: GradContext, go: string, scale?: (go: string) => string): string {
  const x = c.I(0);
  const keep = c.node.intAttr('keepdims', 1) === 1;
  const axes = reduceAxes(c.node, c.opset, (v) => c.constant(v));
  let g = scale ? scale(go) : go;
  if (!keep && axes) {
    const rank = requireRank(c, x);
    g = unsqueeze(
      c,
      g,
      [...new Set(axes.map((a) => normAxis(a, rank)))].sort((p, q) => p - q),
    );
  } else if (!keep && axes === undefined) {
    throw unsupported(c, 'the axes are computed at run time and keepdims=0', 'use constant axes or keepdims=1');
  }
  return c.emit('Expand', [g, c.shapeOf(x)]);
}

/** True when the node reduces nothing (axes as an absent input, with noop_with_empty_axes set). */
function isNoop(c: GradContext): boolean {
  const axesAsInput = c.node.opType === 'ReduceSum' ? c.opset >= 13 : c.opset >= 18;
  return axesAsInput && !c.I(1) && c.node.intAttr('noop_with_empty_axes', 0) === 1;
}

const reduceSumRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  out[0] = isNoop(c) ? go : spreadBack(c, go);
  return out;
});

const reduceMeanRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  const [x, y] = [c.I(0), c.O(0)];
  out[0] = isNoop(c)
    ? go
    : spreadBack(c, go, (g) => {
        const xs = c.shape(x);
        const ys = c.shape(y);
        const count = (s: typeof xs) =>
          s?.reduce<number | undefined>((p, d) => (p !== undefined && typeof d === 'number' ? p * d : undefined), 1);
        const [nx, ny] = [count(xs), count(ys)];
        if (nx !== undefined && ny !== undefined) return c.emit('Mul', [g, c.scalar(ny / nx, g)]);
        // Element counts known only at run time: scale by size(y) / size(x).
        const size = (v: string) => c.emit('Cast', [c.emit('Size', [v])], { to: c.dtype(g) === 'float64' ? 11 : 1 });
        return c.emit('Mul', [g, c.emit('Div', [size(y), size(x)])]);
      });
  return out;
});

export const reduceRules: GradTable = {
  ReduceSum: reduceSumRule,
  ReduceMean: reduceMeanRule,
  ArgMax: { kind: 'notDifferentiable' },
  ArgMin: { kind: 'notDifferentiable' },
};
