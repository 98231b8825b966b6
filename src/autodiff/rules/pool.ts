import { Tensor } from '../../onnx/tensor.js';
import type { Formulations } from '../target.js';
import type { GradContext, GradTable } from '../types.js';
import { unsqueeze } from '../ops.js';
import { nulls, requireRank, rule, unsupported } from './helpers.js';
import { convInputGrad } from './conv.js';
import { INT_MAX, floatConstant, forwardWindow, product, spatialAxes, spatialSizes, type Window } from './window.js';

/** dL/dy spread evenly over the positions each output averaged: Expand of dL/dy / (H*W...). */
const globalAveragePoolRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  const x = c.I(0);
  const n = requireRank(c, x) - 2;
  const sizes = spatialSizes(c, x, n);
  let scaled: string;
  if (sizes.every((d) => d !== undefined)) {
    scaled = c.emit('Mul', [go, c.scalar(1 / product(sizes as number[]), go)]);
  } else {
    const count = c.emit('ReduceProd', [c.emit('Slice', [c.emit('Shape', [x]), c.ints([2]), c.ints([INT_MAX])])], {
      keepdims: 0,
    });
    scaled = c.emit('Div', [go, c.emit('Cast', [count], { to: c.dtype(go) === 'float64' ? 11 : 1 })]);
  }
  out[0] = c.emit('Expand', [scaled, c.shapeOf(x)]);
  return out;
});

/**
 * Per output position along one axis, how many window taps AveragePool divides by: taps inside the input
 * (count_include_pad=0), or inside the padded input (=1; onnxruntime clips ceil_mode windows there too).
 */
function divisors(
  size: number,
  out: number,
  k: number,
  s: number,
  d: number,
  pb: number,
  pe: number,
  withPads: boolean,
) {
  return Array.from({ length: out }, (_, o) => {
    let n = 0;
    for (let t = 0; t < k; t++) {
      const p = o * s - pb + t * d;
      if (withPads ? p >= -pb && p < size + pe : p >= 0 && p < size) n++;
    }
    return n;
  });
}

/**
 * AveragePool: dL/dy divided by each window's divisor, then summed back over the windows. Windows that tile
 * the input (kernel == stride, no pads: the global pools written as AveragePool) are an Expand; otherwise the
 * sum over windows is the input gradient of a depthwise convolution with an all-ones kernel, written as in
 * the Conv rule (batch and channels folded together so the ones kernel has one channel).
 */
const averagePoolRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  const x = c.I(0);
  const n = requireRank(c, x) - 2;
  const kernel = c.node.intsAttr('kernel_shape');
  if (!kernel) throw unsupported(c, 'it has no kernel_shape', 'add kernel_shape');
  const inSize = spatialSizes(c, x, n);
  const outSize = spatialSizes(c, go, n);
  const win = forwardWindow(c, kernel, inSize);
  const ceil = c.node.intAttr('ceil_mode', 0) === 1;
  const withPads = c.node.intAttr('count_include_pad', 0) === 1;
  const padded = [...win.begin, ...win.end].some((p) => p !== 0);
  const staticSizes = inSize.every((d) => d !== undefined) && outSize.every((d) => d !== undefined);

  let scaled: string;
  if (!padded && !ceil) {
    scaled = c.emit('Mul', [go, c.scalar(1 / product(kernel), go)]);
  } else if (staticSizes) {
    const perAxis = kernel.map((k, i) =>
      divisors(inSize[i]!, outSize[i]!, k, win.strides[i]!, win.dilations[i]!, win.begin[i]!, win.end[i]!, withPads),
    );
    const dims = outSize as number[];
    const recip = Array.from({ length: product(dims) }, (_, flat) => {
      let rest = flat;
      let div = 1;
      for (let i = n - 1; i >= 0; i--) {
        div *= perAxis[i]![rest % dims[i]!]!;
        rest = Math.floor(rest / dims[i]!);
      }
      return 1 / div;
    });
    scaled = c.emit('Mul', [go, floatConstant(c, go, recip, dims)]);
  } else {
    throw unsupported(
      c,
      'with padding or ceil_mode its divisors depend on the input size, which is only known at run time',
      'give the model input a fixed spatial size before building the training graph',
    );
  }

  const tiles = !padded && !ceil && kernel.every((k, i) => k === win.strides[i] && win.dilations[i] === 1);
  out[0] =
    tiles && staticSizes
      ? spreadTiles(c, scaled, kernel, inSize, outSize)
      : windowSum(c, scaled, x, win, inSize, outSize, ceil);
  return out;
});

/** Windows that tile the input: dL/dy repeated k times along each axis; rows no window covers get zero. */
function spreadTiles(
  c: GradContext,
  g: string,
  kernel: number[],
  inSize: (number | undefined)[],
  outSize: (number | undefined)[],
): string {
  const n = kernel.length;
  const u = unsqueeze(
    c,
    g,
    kernel.map((_, i) => 3 + 2 * i),
  );
  const expanded = kernel.flatMap((k, i) => [outSize[i]!, k]);
  const us = c.shape(u)!;
  const shape =
    typeof us[0] === 'number' && typeof us[1] === 'number'
      ? c.ints([us[0], us[1], ...expanded])
      : c.emit('Concat', [c.emit('Slice', [c.emit('Shape', [u]), c.ints([0]), c.ints([2])]), c.ints(expanded)], {
          axis: 0,
        });
  const merged = c.emit('Reshape', [
    c.emit('Expand', [u, shape]),
    c.ints([0, 0, ...outSize.map((o, i) => o! * kernel[i]!)]),
  ]);
  const missing = inSize.map((h, i) => h! - outSize[i]! * kernel[i]!);
  if (missing.every((m) => m === 0)) return merged;
  return c.emit('Pad', [merged, c.ints([...new Array<number>(n + 2).fill(0), 0, 0, ...missing])]);
}

/**
 * The sum over overlapping windows: the input gradient of a convolution with an all-ones kernel, on
 * [N*C, 1, spatial...] so the kernel has one channel; written as the Conv rule writes it. A ceil_mode window
 * hanging past the end padding is given the padding it covers, so the adjoint keeps x's size.
 */
function windowSum(
  c: GradContext,
  scaled: string,
  x: string,
  win: Window,
  inSize: (number | undefined)[],
  outSize: (number | undefined)[],
  ceil: boolean,
): string {
  const kernel = win.kernel;
  const ones = floatConstant(c, x, new Array<number>(product(kernel)).fill(1), [1, 1, ...kernel]);
  const dyStatic = outSize.every((d) => d !== undefined);
  const g = c.emit('Reshape', [scaled, c.ints([-1, 1, ...(dyStatic ? (outSize as number[]) : outSize.map(() => 0))])]);
  let end = win.end;
  if (ceil) {
    if (!dyStatic || inSize.some((d) => d === undefined)) {
      throw unsupported(c, 'ceil_mode over sizes only known at run time', 'give the input a fixed spatial size');
    }
    end = kernel.map((k, i) =>
      Math.max(
        win.end[i]!,
        (outSize[i]! - 1) * win.strides[i]! + (k - 1) * win.dilations[i]! + 1 - win.begin[i]! - inSize[i]!,
      ),
    );
  }
  const grad = convInputGrad(c, g, ones, x, { group: 1, cin: 1, cout: 1, window: { ...win, end } });
  return c.emit('Reshape', [grad, c.shapeOf(x)]);
}

/**
 * MaxPool sends dL/dy to the input element each window picked, read from the node's Indices output (added
 * by `prepare` when the model does not ask for it): flat positions in x, batch and channel included.
 * Overlapping windows can pick the same element, so the scatter must add: ScatterElements' 'add'
 * reduction from opset 16. Before that, windows are taken in a^d phases (a = ceil(span / stride) per
 * axis) within which no two windows overlap, and each phase adds its part with a gather-add-scatter.
 */
const maxPoolRule = {
  kind: 'rule' as const,
  prepare: (
    node: { outputs: string[] },
    freshName: (base: string) => string,
    _opset: number,
    formulations: Formulations,
  ) => {
    if (!node.outputs[1] && !formulations.maxPoolByUnfold) node.outputs[1] = freshName(`${node.outputs[0]}_indices`);
  },
  rule: (c: GradContext) => {
    const out = nulls(c);
    const go = c.GO(0);
    if (!go || !c.needsGrad(0)) return out;
    const x = c.I(0);
    if (c.formulations.maxPoolByUnfold) {
      out[0] = maxPoolGradByUnfold(c, x, go);
      return out;
    }
    if (c.node.intAttr('storage_order', 0) !== 0) {
      throw unsupported(c, 'storage_order=1 (column-major indices)', 'export MaxPool with the default storage order');
    }
    const n = requireRank(c, x) - 2;
    const kernel = c.node.intsAttr('kernel_shape')!;
    const strides = c.node.intsAttr('strides') ?? kernel.map(() => 1);
    const dilations = c.node.intsAttr('dilations') ?? kernel.map(() => 1);
    const f64 = c.dtype(x) === 'float64';
    const zero = Tensor.from(
      'value',
      f64 ? new Float64Array(1) : new Float32Array(1),
      [1],
      f64 ? 'float64' : 'float32',
    );
    const xs = c.shape(x);
    const count =
      xs && xs.every((d): d is number => typeof d === 'number')
        ? c.ints([product(xs)])
        : c.emit('Reshape', [c.emit('Size', [x]), c.ints([1])]);
    const flatX = c.emit('ConstantOfShape', [count], { value: zero });
    const idx = c.emit('Reshape', [c.O(1), c.ints([-1])]);
    const phases = kernel.map((k, i) => Math.ceil(((k - 1) * dilations[i]! + 1) / strides[i]!));
    let flat: string;
    if (phases.every((p) => p === 1)) {
      flat = c.emit('ScatterElements', [flatX, idx, c.emit('Reshape', [go, c.ints([-1])])], { axis: 0 });
    } else if (c.opset >= 16) {
      flat = c.emit('ScatterElements', [flatX, idx, c.emit('Reshape', [go, c.ints([-1])])], {
        axis: 0,
        reduction: 'add',
      });
    } else {
      flat = flatX;
      const axes = spatialAxes(n);
      const visit = (i: number, start: number[]) => {
        if (i === n) {
          const part = (v: string) =>
            c.emit('Reshape', [
              c.emit('Slice', [v, c.ints(start), c.ints(start.map(() => INT_MAX)), c.ints(axes), c.ints(phases)]),
              c.ints([-1]),
            ]);
          const at = part(c.O(1));
          const sum = c.emit('Add', [c.emit('GatherElements', [flat, at], { axis: 0 }), part(go)]);
          flat = c.emit('ScatterElements', [flat, at, sum], { axis: 0 });
          return;
        }
        for (let p = 0; p < phases[i]!; p++) visit(i + 1, [...start, p]);
      };
      visit(0, []);
    }
    out[0] = c.emit('Reshape', [flat, c.shapeOf(x)]);
    return out;
  },
};

/**
 * MaxPool's gradient without its Indices output (providers that cannot return them): the windows of x are
 * unfolded by a one-hot Conv (x padded with the lowest float, so padding never wins), ArgMax picks each
 * window's first maximum as onnxruntime's indices do, dL/dy is placed on that tap, and the adjoint of the
 * unfold (the Conv rule's input gradient) adds the taps back onto x. Channels are folded into the batch so
 * every Conv has one input channel and no groups.
 */
function maxPoolGradByUnfold(c: GradContext, x: string, go: string): string {
  const n = requireRank(c, x) - 2;
  const kernel = c.node.intsAttr('kernel_shape')!;
  const inSize = spatialSizes(c, x, n);
  const outSize = spatialSizes(c, go, n);
  if (inSize.some((d) => d === undefined) || outSize.some((d) => d === undefined)) {
    throw unsupported(
      c,
      'its gradient without Indices unfolds windows over sizes only known at run time',
      'give the model input a fixed spatial size before building the training graph',
    );
  }
  const win = forwardWindow(c, kernel, inSize);
  // ceil_mode windows hanging past the end get the padding they cover
  const end = kernel.map((k, i) =>
    Math.max(
      win.end[i]!,
      (outSize[i]! - 1) * win.strides[i]! + (k - 1) * win.dilations[i]! + 1 - win.begin[i]! - inSize[i]!,
    ),
  );
  const taps = product(kernel);
  const eye = new Array<number>(taps * taps).fill(0);
  for (let t = 0; t < taps; t++) eye[t * taps + t] = 1;
  const oneHot = floatConstant(c, x, eye, [taps, 1, ...kernel]);
  const planes = c.emit('Reshape', [x, c.ints([-1, 1, ...(inSize as number[])])]);
  const lowest = c.dtype(x) === 'float64' ? -Number.MAX_VALUE : -3.4028234663852886e38;
  const padded = c.emit('Pad', [planes, c.ints([0, 0, ...win.begin, 0, 0, ...end]), floatConstant(c, x, [lowest], [])]);
  const windows = c.emit('Conv', [padded, oneHot], {
    kernel_shape: kernel,
    strides: win.strides,
    dilations: win.dilations.some((d) => d !== 1) ? win.dilations : undefined,
  });
  const pick = c.emit('ArgMax', [windows], { axis: 1, keepdims: 1 });
  const tapIds = c.ints(Array.from({ length: taps }, (_, t) => t));
  const onTap = c.emit('Equal', [pick, c.emit('Reshape', [tapIds, c.ints([1, taps, ...kernel.map(() => 1)])])]);
  const g = c.emit('Reshape', [go, c.ints([-1, 1, ...(outSize as number[])])]);
  const placed = c.emit('Where', [onTap, g, c.scalar(0, g)]);
  const back = convInputGrad(c, placed, oneHot, planes, {
    group: 1,
    cin: 1,
    cout: taps,
    window: { ...win, end },
  });
  return c.emit('Reshape', [back, c.shapeOf(x)]);
}

export const poolRules: GradTable = {
  GlobalAveragePool: globalAveragePoolRule,
  AveragePool: averagePoolRule,
  MaxPool: maxPoolRule,
};
