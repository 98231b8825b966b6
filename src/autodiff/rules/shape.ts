import type { GradContext, GradTable } from '../types.js';
import { Tensor } from '../../onnx/tensor.js';
import { normAxis } from '../shapes.js';
import { reduceSum, reshapeLike, split, squeeze, unsqueeze } from '../ops.js';
import { defLinear, nulls, requireRank, rule, unsupported } from './helpers.js';

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

/** A tensor of zeros shaped like `like` (static or run-time shape), of the float type of `typeOf`. */
function zerosLike(c: GradContext, like: string, typeOf: string): string {
  const dtype = c.dtype(typeOf) === 'float64' ? 'float64' : 'float32';
  const zero = Tensor.from('value', dtype === 'float64' ? new Float64Array(1) : new Float32Array(1), [1], dtype);
  return c.emit('ConstantOfShape', [c.shapeOf(like)], { value: zero });
}

/** Constant contents of an optional input, `fallback` when it is absent, undefined when only known at run time. */
function constantInput(c: GradContext, i: number, fallback: number[]): number[] | undefined {
  return c.I(i) ? c.constant(c.I(i)) : fallback;
}

/** Bounds past the end (INT64_MAX and friends) mean "to the end"; anything this large is treated so. */
const TO_THE_END = 2 ** 31 - 1;

/** dL/dx of Slice (unit steps): dL/dy zero-padded back to the input's extent. */
const sliceRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  const x = c.I(0);
  const rank = requireRank(c, x);
  const dims = c.shape(x)!;
  const starts = c.constant(c.I(1));
  const ends = c.constant(c.I(2));
  const axes =
    starts &&
    constantInput(
      c,
      3,
      starts.map((_, i) => i),
    );
  const steps =
    starts &&
    constantInput(
      c,
      4,
      starts.map(() => 1),
    );
  if (!starts || !ends || !axes || !steps) {
    throw unsupported(c, 'its starts/ends/axes/steps are computed at run time', 'slice with constant bounds');
  }
  if (steps.some((s) => s !== 1)) throw unsupported(c, 'steps other than 1', 'slice with unit steps');
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a0, k) => {
    const a = normAxis(a0, rank);
    const d = dims[a];
    const [s0, e0] = [starts[k]!, ends[k]!];
    if (typeof d !== 'number') {
      // A run-time size (the batch): only a slice from a fixed offset to the end can be padded back.
      if (s0 < 0 || e0 < TO_THE_END) {
        throw unsupported(
          c,
          `axis ${a} has a run-time size and the slice does not run to its end`,
          'fix the size of that axis',
        );
      }
      pads[a] = s0;
      return;
    }
    const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
    const [s, e] = [clamp(s0), clamp(e0)];
    pads[a] = s;
    pads[a + rank] = d - Math.max(s, e);
  });
  out[0] = c.emit('Pad', [go, c.ints(pads)]);
  return out;
});

/** dL/dx of constant-mode Pad: the interior of dL/dy. */
const padRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  if (c.node.stringAttr('mode', 'constant') !== 'constant') {
    throw unsupported(
      c,
      `mode '${c.node.stringAttr('mode', 'constant')}'`,
      "use mode 'constant' or freeze the layers before it",
    );
  }
  const x = c.I(0);
  const rank = requireRank(c, x);
  const pads = c.constant(c.I(1));
  const axes = (
    pads &&
    constantInput(
      c,
      3,
      Array.from({ length: rank }, (_, i) => i),
    )
  )?.map((a) => normAxis(a, rank));
  if (!pads || !axes) throw unsupported(c, 'its pads are computed at run time', 'use constant pads');
  if (pads.some((p) => p < 0)) throw unsupported(c, 'negative pads (cropping)', 'crop with Slice instead');
  const begin = new Array<number>(rank).fill(0);
  axes.forEach((a, k) => (begin[a] = pads[k]!));
  const dims = c.shape(x)!;
  const ends = dims.every((d): d is number => typeof d === 'number')
    ? c.ints(dims.map((d, i) => d + begin[i]!))
    : c.emit('Add', [c.emit('Shape', [x]), c.ints(begin)]);
  out[0] = c.emit('Slice', [go, c.ints(begin), ends, c.ints(begin.map((_, i) => i))]);
  return out;
});

/** dL/dx of Split: the outputs' gradients concatenated back, zeros for outputs no gradient reached. */
const splitRule = rule((c) => {
  const out = nulls(c);
  if (!c.needsGrad(0)) return out;
  const rank = requireRank(c, c.I(0));
  const parts = c.node.outputs.map((o, i) => c.GO(i) ?? zerosLike(c, o, c.I(0)));
  out[0] = c.emit('Concat', parts, { axis: normAxis(c.node.intAttr('axis', 0), rank) });
  return out;
});

/**
 * dL/dx of Gather: dL/dy scattered back with ScatterND's 'add' reduction (opset 16+), so indices picked
 * twice (a token appearing twice in a batch) accumulate. A gathered axis other than 0 is moved to the front
 * for the scatter and back afterwards.
 */
const gatherRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  if (c.opset < 16) {
    throw unsupported(
      c,
      'scatter-add (ScatterND reduction) needs opset 16',
      'export with opset 16 or later, or freeze the gathered tensor',
    );
  }
  const [x, idx] = [c.I(0), c.I(1)];
  const rank = requireRank(c, x);
  const ir = requireRank(c, idx);
  const axis = normAxis(c.node.intAttr('axis', 0), rank);
  const where = unsqueeze(c, idx, [ir]);
  if (axis === 0) {
    out[0] = c.emit('ScatterND', [zerosLike(c, x, x), where, go], { reduction: 'add' });
    return out;
  }
  // x' = x with `axis` first; dL/dy' = dL/dy with the index dims first.
  const permX = [axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis)];
  const rest = Array.from({ length: rank - 1 + ir }, (_, i) => i).filter((i) => i < axis || i >= axis + ir);
  const permGo = [...Array.from({ length: ir }, (_, i) => axis + i), ...rest];
  const dims = c.shape(x)!;
  const shapeT = dims.every((d): d is number => typeof d === 'number')
    ? c.ints(permX.map((p) => dims[p]!))
    : c.emit('Gather', [c.emit('Shape', [x]), c.ints(permX)]);
  const zero = Tensor.from(
    'value',
    c.dtype(x) === 'float64' ? new Float64Array(1) : new Float32Array(1),
    [1],
    c.dtype(x) === 'float64' ? 'float64' : 'float32',
  );
  const scattered = c.emit(
    'ScatterND',
    [c.emit('ConstantOfShape', [shapeT], { value: zero }), where, c.emit('Transpose', [go], { perm: permGo })],
    { reduction: 'add' },
  );
  const inverse = new Array<number>(rank);
  permX.forEach((p, i) => (inverse[p] = i));
  out[0] = c.emit('Transpose', [scattered], { perm: inverse });
  return out;
});

/**
 * dL/dx of Gather before opset 16 (no scatter-add): a one-hot matrix of the indices times dL/dy, which sums
 * the gradient of indices picked twice as the scatter would. It costs [indices x axis length] floats: fine
 * for a class-token pick or a vocabulary of thousands, the opset-16 rule is leaner for bigger tables.
 */
const gatherOneHotRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  const [x, idx] = [c.I(0), c.I(1)];
  const rank = requireRank(c, x);
  const ir = requireRank(c, idx);
  const axis = normAxis(c.node.intAttr('axis', 0), rank);
  out[0] = oneHotScatter(c, x, idx, ir, axis, go);
  return out;
});

/** The gradient of Gather(x, idx, axis) as OneHot(idx)^T @ dL/dy, any opset from 11. */
function oneHotScatter(
  c: GradContext,
  x: string,
  idx: string,
  ir: number,
  axis: number,
  go: string,
  xRank?: number,
): string {
  const rank = xRank ?? requireRank(c, x);
  const dims = c.shape(x) ?? Array.from({ length: rank }, () => undefined);
  const float64 = c.dtype(x) === 'float64';
  const depth =
    typeof dims[axis] === 'number'
      ? c.ints([dims[axis] as number])
      : c.emit('Gather', [c.emit('Shape', [x]), c.ints([axis])]);
  // one-hot rows by comparison with 0..depth-1 (onnxruntime's OneHot has no float64 kernel); negative
  // indices count from the end, as Gather reads them
  const flat64 = c.emit('Reshape', [idx, c.ints([-1])]);
  const flat = c.dtype(idx) === 'int64' ? flat64 : c.emit('Cast', [flat64], { to: 7 });
  const wrapped = c.emit('Mod', [c.emit('Add', [flat, depth]), depth]);
  const positions =
    typeof dims[axis] === 'number'
      ? c.ints(Array.from({ length: dims[axis] as number }, (_, i) => i))
      : c.emit('Range', [squeeze(c, c.ints([0]), [0]), squeeze(c, depth, [0]), squeeze(c, c.ints([1]), [0])]);
  const oneHot = c.emit('Cast', [c.emit('Equal', [unsqueeze(c, wrapped, [1]), unsqueeze(c, positions, [0])])], {
    to: float64 ? 11 : 1,
  });
  // dL/dy with the index dims first, as rows [K, rest]
  const rest = Array.from({ length: rank - 1 + ir }, (_, i) => i).filter((i) => i < axis || i >= axis + ir);
  const permGo = [...Array.from({ length: ir }, (_, i) => axis + i), ...rest];
  const k = c.constant(c.shapeOf(flat));
  const rowsShape = k ? c.ints([k[0]!, -1]) : c.emit('Concat', [c.shapeOf(flat), c.ints([-1])], { axis: 0 });
  const rows = c.emit('Reshape', [c.emit('Transpose', [go], { perm: permGo }), rowsShape]);
  const summed = c.emit('MatMul', [c.emit('Transpose', [oneHot], { perm: [1, 0] }), rows]);
  // [axis length, rest] back to x's shape: reshape as x with `axis` first, then move it home
  const permX = [axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis)];
  const shapeT = dims.every((d): d is number => typeof d === 'number')
    ? c.ints(permX.map((p) => dims[p]!))
    : c.emit('Gather', [c.emit('Shape', [x]), c.ints(permX)]);
  const inverse = new Array<number>(rank);
  permX.forEach((p, i) => (inverse[p] = i));
  return c.emit('Transpose', [c.emit('Reshape', [summed, shapeT])], { perm: inverse });
}

/**
 * dL/d data of GatherND (batch_dims 0): dL/dy scattered back, adding where slices repeat (ScatterND
 * 'add', opset 16+). Before 16, with the indexed leading dims static: the index tuples become row numbers
 * of the data seen as [rows, rest], and the one-hot form of Gather applies.
 */
const gatherNdRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  if (c.node.intAttr('batch_dims', 0) !== 0) throw unsupported(c, 'batch_dims other than 0', 'use batch_dims 0');
  const [x, idx] = [c.I(0), c.I(1)];
  if (c.opset >= 16) {
    out[0] = c.emit('ScatterND', [zerosLike(c, x, x), idx, go], { reduction: 'add' });
    return out;
  }
  const rank = requireRank(c, x);
  const ir = requireRank(c, idx);
  const q = c.shape(idx)?.[ir - 1];
  const lead = typeof q === 'number' ? c.shape(x)!.slice(0, q) : undefined;
  if (typeof q !== 'number' || !lead!.every((d): d is number => typeof d === 'number')) {
    throw unsupported(c, 'before opset 16 the indexed dims must be static', 'export with opset 16 or later');
  }
  const strides = lead.map((_, k) => lead.slice(k + 1).reduce((a, b) => a * b, 1));
  const rowsOf = reduceSum(c, c.emit('Mul', [idx, c.ints(strides)]), [-1], false);
  // the gradient of Gather(x seen as [rows, rest], row numbers, axis 0), reshaped back
  const rows = lead.reduce((a, b) => a * b, 1);
  const rest = c.shape(x)!.slice(q);
  const asRows = rest.every((d): d is number => typeof d === 'number')
    ? c.emit('Reshape', [x, c.ints([rows, ...rest])])
    : c.emit('Reshape', [
        x,
        c.emit('Concat', [c.ints([rows]), c.emit('Slice', [c.emit('Shape', [x]), c.ints([q]), c.ints([rank])])], {
          axis: 0,
        }),
      ]);
  const g = oneHotScatter(c, asRows, rowsOf, ir - 1, 0, go, rank - q + 1);
  out[0] = c.emit('Reshape', [g, c.shapeOf(x)]);
  return out;
});

/**
 * ScatterND: dL/d updates = dL/dy at the written places (GatherND); dL/d data = dL/dy ('add': every
 * element passes through) or dL/dy with the overwritten places zeroed (no reduction).
 */
const scatterNdRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const reduction = c.node.stringAttr('reduction', 'none');
  if (reduction !== 'none' && reduction !== 'add') {
    throw unsupported(c, `reduction '${reduction}'`, "use reduction 'none' or 'add', or freeze what comes before it");
  }
  const [idx, updates] = [c.I(1), c.I(2)];
  if (c.needsGrad(2)) out[2] = c.emit('GatherND', [go, idx]);
  if (c.needsGrad(0)) {
    out[0] = reduction === 'add' ? go : c.emit('ScatterND', [go, idx, zerosLike(c, updates, updates)]);
  }
  return out;
});

export const shapeRules: GradTable = {
  Slice: sliceRule,
  Pad: padRule,
  Split: splitRule,
  // scatter-add (ScatterND's reduction attribute) arrived in opset 16
  Gather: [
    { ...gatherOneHotRule, sinceOpset: 11, untilOpset: 15 },
    { ...gatherRule, sinceOpset: 16 },
  ],
  GatherND: [{ ...gatherNdRule, sinceOpset: 11 }],
  ScatterND: [{ ...scatterNdRule, sinceOpset: 11 }],
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
