import type { GradContext, GradTable } from '../types.js';
import { reduceSum } from '../ops.js';
import { nulls, rule, unsupported } from './helpers.js';
import { safeGroupWidth } from '../target.js';
import {
  INT_MAX,
  cropSpatial,
  floatConstant,
  forwardWindow,
  kernelOf,
  product,
  spatialAxes,
  spatialSizes,
  type Window,
} from './window.js';

/*
 * Convolution gradients. Each formulation was chosen by measuring the alternatives side by side:
 * onnxruntime-node 1.30, one intra-op thread, process CPU time (stable on this shared 2-core machine, where
 * wall times moved by 2x with other people's load), batch 32, MobileNetV2/ResNet/EfficientNet layer
 * shapes, times relative to the layer's own forward Conv (median of 3 after a warm-up):
 *
 *   input gradient                  chosen                                   alternatives
 *   depthwise 3x3 s1 (144ch @56)    flipped-kernel depthwise Conv   0.87x    ConvTranspose 2.05x
 *   depthwise 3x3 s2 (96ch @112)    grouped ConvTranspose           1.20x    zero-interleave (Concat) + flipped
 *                                                                            depthwise Conv 2.31x, interleave by
 *                                                                            Pad 4.1x, by 1x1 ConvTranspose 2.05x
 *   depthwise 3x3 s2 (144ch @56)    grouped ConvTranspose           1.17x    zero-interleave + Conv 2.18x
 *   dense 3x3 s1 (64->64 @56)       flipped, transposed-kernel Conv 0.96x    ConvTranspose 1.18x
 *   1x1 s1 (144->24 / 24->144 @56)  MatMul with w^T            0.57x/1.66x    Conv with w^T 0.89x/1.78x,
 *                                                                            ConvTranspose 0.92x/1.81x
 *   dense 3x3 s2 (64->128 @56)      ConvTranspose                   1.06x    zero-interleave + Conv 4.0x
 *   1x1 s2 (64->128 @56)            ConvTranspose                   1.18x    Conv then zero-interleave 1.9x
 *
 *   weight gradient                 chosen                                   alternatives
 *   1x1 (144->24 @56)               batched MatMul, sum over batch  0.79x    Conv with batch/channel swapped 6.3x
 *   1x1 (320->1280 @7)              one MatMul over batch+positions 1.01x    batched MatMul + sum 1.12x
 *   dense 3x3 (64->64 @56)          unfold + MatMul                 1.21x    batch/channel swap 2.60x, im2col by
 *                                                                            Slice + Concat 1.62x
 *   dense 3x3 s2 (64->128 @56)      unfold + MatMul                 1.15x    batch/channel swap 2.03x
 *   stem 3x3 s2 (3->32 @224)        unfold + MatMul                 1.36x    batch/channel swap 2.79x
 *   depthwise 3x3 (4 layers)        unfold + MatMul            1.5x-3.2x     batch/channel swap 1.5x-6.3x,
 *                                                                            (sample, channel) groups 1.5x-5.9x,
 *                                                                            per-tap Mul + ReduceSum 3.5x-6.9x
 *   depthwise 5x5 (672 @14, 240 @28) (sample, channel) groups  1.9x/2.7x    batch/channel swap 2.9x/2.7x,
 *                                                                            unfold + MatMul 3.7x/3.9x
 *
 * DESIGN.md's two-thread wall-clock figures (grouped ConvTranspose 3.7x for the strided depthwise input
 * gradient, 5.6x for 1x1) were not reproduced this way; under load, wall-clock ratios of the same pair swung
 * between 1.15x and 3.3x from one run to the next.
 * "unfold" is a grouped Conv with one-hot kernels: it writes the k*k shifted copies of each input channel
 * (im2col) with the forward node's own strides, dilations and pads; one batched MatMul against dL/dy then
 * contracts over positions, and a ReduceSum over the batch finishes. Its k*k-fold buffer is what makes it
 * lose to the batch/channel swap for 5x5 kernels.
 */

export interface ConvShape {
  group: number;
  /** input channels (C) and output channels (M) */
  cin: number;
  cout: number;
  window: Window;
}

/**
 * The kernel [M, C/g, k...] as the kernel of the adjoint convolution [C, M/g, k...], spatially flipped: a
 * stride-1 Conv of dL/dy with it is dL/dx. Weights are usually initializers or small inputs, so this is cheap.
 */
function adjointKernel(c: GradContext, w: string, s: ConvShape): string {
  const { group: g, cin, cout } = s;
  const k = s.window.kernel;
  let t = w;
  if (g === 1) {
    if (cin > 1 || cout > 1) t = c.emit('Transpose', [w], { perm: [1, 0, ...spatialAxes(k.length)] });
  } else if (!(cin === g && cout === g)) {
    const grouped = c.emit('Reshape', [w, c.ints([g, cout / g, cin / g, ...k])]);
    const swapped = c.emit('Transpose', [grouped], { perm: [0, 2, 1, ...k.map((_, i) => i + 3)] });
    t = c.emit('Reshape', [swapped, c.ints([cin, cout / g, ...k])]);
  }
  const flip = k.map((d, i) => (d > 1 ? i + 2 : -1)).filter((a) => a >= 0);
  if (flip.length === 0) return t;
  return c.emit('Slice', [
    t,
    c.ints(flip.map(() => -1)),
    c.ints(flip.map(() => -INT_MAX)),
    c.ints(flip),
    c.ints(flip.map(() => -1)),
  ]);
}

/**
 * A stride-1 Conv of `g` with `kernel` padded by `before`/`after` per spatial axis; negative amounts crop
 * instead (a forward pad wider than the kernel span).
 */
function paddedConv(
  c: GradContext,
  g: string,
  kernel: string,
  s: ConvShape,
  before: number[],
  after: number[],
): string {
  const n = s.window.kernel.length;
  const conv = c.emit('Conv', [g, kernel], {
    group: s.group,
    kernel_shape: s.window.kernel,
    dilations: s.window.dilations.some((d) => d !== 1) ? s.window.dilations : undefined,
    pads: [...before.map((p) => Math.max(0, p)), ...after.map((p) => Math.max(0, p))],
  });
  return cropSpatial(
    c,
    conv,
    before.map((p) => Math.max(0, -p)),
    after.slice(0, n).map((p) => (p < 0 ? p : INT_MAX)),
  );
}

/** dL/dx of y = Conv(x, w): see the table at the top of this file for why each branch is written so. */
export function convInputGrad(c: GradContext, gy: string, w: string, x: string, s: ConvShape): string {
  const win = s.window;
  const n = win.kernel.length;
  const span = win.kernel.map((k, i) => (k - 1) * win.dilations[i]!);
  const pointwise = win.kernel.every((k) => k === 1) && [...win.begin, ...win.end].every((p) => p === 0);
  if (pointwise && s.group === 1 && win.strides.every((v) => v === 1)) {
    // 1x1: dL/dx[n] = w^T [C, M] x dL/dy[n] [M, positions], one MatMul broadcast over the batch
    const wt = c.emit('Transpose', [c.emit('Reshape', [w, c.ints([s.cout, s.cin])])], { perm: [1, 0] });
    const product = c.emit('MatMul', [wt, c.emit('Reshape', [gy, c.ints([0, s.cout, -1])])]);
    return c.emit('Reshape', [product, c.shapeOf(x)]);
  }
  if (win.strides.every((v) => v === 1)) {
    return paddedConv(
      c,
      gy,
      adjointKernel(c, w, s),
      s,
      span.map((p, i) => p - win.begin[i]!),
      span.map((p, i) => p - win.end[i]!),
    );
  }
  const inSize = spatialSizes(c, x, n);
  const outSize = spatialSizes(c, gy, n);
  const staticSizes = inSize.every((d) => d !== undefined) && outSize.every((d) => d !== undefined);
  // ConvTranspose is Conv's adjoint; output_padding restores the input rows the forward stride skipped.
  const outputPadding = staticSizes
    ? inSize.map((h, i) => h! - ((outSize[i]! - 1) * win.strides[i]! + span[i]! + 1 - win.begin[i]! - win.end[i]!))
    : win.strides.map((st) => st - 1);
  const t = c.emit('ConvTranspose', [gy, w], {
    group: s.group,
    kernel_shape: win.kernel,
    strides: win.strides,
    dilations: win.dilations.some((d) => d !== 1) ? win.dilations : undefined,
    pads: [...win.begin, ...win.end],
    output_padding: outputPadding.some((p) => p !== 0) ? outputPadding : undefined,
  });
  if (staticSizes) return t;
  // Sizes known at run time: the extra rows output_padding may have added are cut to x's size.
  const size = c.emit('Slice', [c.emit('Shape', [x]), c.ints([2]), c.ints([INT_MAX])]);
  return c.emit('Slice', [t, c.ints(new Array<number>(n).fill(0)), size, c.ints(spatialAxes(n))]);
}

/**
 * dL/dw of y = Conv(x, w) [M, C/g, k...] (also ConvTranspose's, with x and dL/dy swapped): the windows of x
 * each output position saw ("unfold"), contracted with dL/dy over positions and summed over the batch.
 */
function convWeightGrad(c: GradContext, x: string, gy: string, s: ConvShape): string {
  const win = s.window;
  const { group: g, cin, cout } = s;
  const n = win.kernel.length;
  const taps = product(win.kernel);
  const unpadded = [...win.begin, ...win.end].every((p) => p === 0);
  const outSize = spatialSizes(c, gy, n);
  const positions = outSize.every((d) => d !== undefined) ? product(outSize as number[]) : undefined;
  if (cin === g && taps > 9 && !c.formulations.unfoldDepthwise) return depthwiseWeightGrad(c, x, gy, s);
  let cols: string;
  // unfolded rows per input channel: the taps, plus zero rows where the provider needs a wider group
  let width = taps;
  if (taps === 1 && unpadded) {
    // 1x1: the "unfolded" input is x itself, subsampled by the stride
    cols = win.strides.every((v) => v === 1)
      ? x
      : c.emit('Slice', [
          x,
          c.ints(new Array<number>(n).fill(0)),
          c.ints(new Array<number>(n).fill(INT_MAX)),
          c.ints(spatialAxes(n)),
          c.ints(win.strides),
        ]);
  } else {
    if (c.formulations.padUnfoldTaps) width = safeGroupWidth(taps);
    const eye = new Array<number>(width * taps).fill(0);
    for (let t = 0; t < taps; t++) eye[t * taps + t] = 1;
    // one one-hot kernel per tap, repeated for every channel: [C*taps, 1, k...] (constant-folded by onnxruntime)
    const oneHot = c.emit('Tile', [
      floatConstant(c, x, eye, [width, 1, ...win.kernel]),
      c.ints([cin, 1, ...win.kernel.map(() => 1)]),
    ]);
    cols = c.emit('Conv', [x, oneHot], {
      group: cin,
      kernel_shape: win.kernel,
      strides: win.strides,
      dilations: win.dilations.some((d) => d !== 1) ? win.dilations : undefined,
      pads: [...win.begin, ...win.end],
    });
  }
  // [M, C/g, width] -> [M, C/g, k...], dropping the zero rows
  const toKernel = (dw: string) => {
    const cut =
      width === taps
        ? dw
        : c.emit('Slice', [
            c.emit('Reshape', [dw, c.ints([cout, cin / g, width])]),
            c.ints([0]),
            c.ints([taps]),
            c.ints([2]),
          ]);
    return c.emit('Reshape', [cut, c.ints([cout, cin / g, ...win.kernel])]);
  };
  if (cin === g && cout === g) {
    // depthwise: per channel, [taps, P] x [P, 1]; no transposes
    const colsR = c.emit('Reshape', [cols, c.ints([0, cin, width, -1])]);
    const gyR = c.emit('Reshape', [gy, c.ints([0, cout, -1, 1])]);
    return toKernel(reduceSum(c, c.emit('MatMul', [colsR, gyR]), [0], false));
  }
  const rows = (cin / g) * width;
  const colsR = c.emit('Reshape', [cols, c.ints([0, g, rows, -1])]);
  const gyR = c.emit('Reshape', [gy, c.ints([0, g, cout / g, -1])]);
  let dw: string;
  if (positions !== undefined && (cout / g) * rows > positions * (cout / g + rows)) {
    // Few positions, many channels (late layers): one product over batch and positions together beats
    // N products whose [N, M, C] result is then summed. Both operands are transposed to put N next to
    // the positions. 1x1 320->1280 @7x7: 46 ms vs 182 ms; 576->96 @14x14: 56 vs 80; 144->24 @56x56: 98 vs 48.
    const flat = (v: string, r: number) =>
      c.emit('Reshape', [c.emit('Transpose', [v], { perm: [1, 2, 0, 3] }), c.ints([g, r, -1])]);
    dw = c.emit('MatMul', [flat(gyR, cout / g), c.emit('Transpose', [flat(colsR, rows)], { perm: [0, 2, 1] })]);
  } else {
    // onnxruntime fuses the Transpose into the MatMul (transB)
    const colsT = c.emit('Transpose', [colsR], { perm: [0, 1, 3, 2] });
    dw = reduceSum(c, c.emit('MatMul', [gyR, colsT]), [0], false);
  }
  return toKernel(dw);
}

/**
 * Depthwise dL/dw as the classic batch/channel swap: a Conv of x (channels moved to the front, one group of
 * N per channel) with dL/dy as the kernel; the forward stride becomes the dilation and vice versa. Exact
 * work (no k*k-fold unfold buffer); chosen for 5x5 kernels and small maps (see the table at the top).
 */
function depthwiseWeightGrad(c: GradContext, x: string, gy: string, s: ConvShape): string {
  const win = s.window;
  const n = win.kernel.length;
  const rest = new Array<number>(n).fill(0);
  const batch = c.shape(x)?.[0];
  if (typeof batch === 'number' && win.strides.every((v) => v === 1)) {
    // one group per (sample, channel): no transposes; the group count needs the batch size
    const xs = c.emit('Reshape', [x, c.ints([1, -1, ...rest])]);
    const kernel = c.emit('Reshape', [gy, c.ints([-1, 1, ...rest])]);
    const corr = c.emit('Conv', [xs, kernel], {
      group: batch * s.cin,
      dilations: undefined,
      strides: win.dilations.some((d) => d !== 1) ? win.dilations : undefined,
      pads: [...win.begin, ...win.end],
    });
    const cropped = c.emit('Slice', [corr, c.ints(rest), c.ints(win.kernel), c.ints(spatialAxes(n))]);
    const perSample = c.emit('Reshape', [cropped, c.ints([batch, s.cout, -1])]);
    return c.emit('Reshape', [reduceSum(c, perSample, [0], false), c.ints([s.cout, 1, ...win.kernel])]);
  }
  const swap = [1, 0, ...spatialAxes(n)];
  const xs = c.emit('Reshape', [c.emit('Transpose', [x], { perm: swap }), c.ints([1, -1, ...rest])]);
  const kernel = c.emit('Transpose', [gy], { perm: swap });
  const corr = c.emit('Conv', [xs, kernel], {
    group: s.cin,
    strides: win.dilations.some((d) => d !== 1) ? win.dilations : undefined,
    dilations: win.strides.some((d) => d !== 1) ? win.strides : undefined,
    pads: [...win.begin, ...win.end],
  });
  // the correlation may run past the kernel's extent (padding beyond what the last window used)
  const cropped = c.emit('Slice', [corr, c.ints(rest), c.ints(win.kernel), c.ints(spatialAxes(n))]);
  return c.emit('Reshape', [cropped, c.ints([s.cout, 1, ...win.kernel])]);
}

function staticWeightShape(c: GradContext, w: string): number[] {
  const ws = c.shape(w);
  if (!ws || ws.length < 3 || ws.some((d) => typeof d !== 'number')) {
    throw unsupported(
      c,
      `the weights' shape is not static (${ws ? `[${ws.join(', ')}]` : 'unknown'})`,
      'give the weights a fixed shape (initializers always have one)',
    );
  }
  return ws as number[];
}

const convRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const [x, w, b] = [c.I(0), c.I(1), c.I(2)];
  const ws = staticWeightShape(c, w);
  const group = c.node.intAttr('group', 1);
  const kernel = kernelOf(c, ws);
  const shape: ConvShape = {
    group,
    cin: ws[1]! * group,
    cout: ws[0]!,
    window: forwardWindow(c, kernel, spatialSizes(c, x, kernel.length)),
  };
  if (c.needsGrad(0)) out[0] = convInputGrad(c, go, w, x, shape);
  if (c.needsGrad(1)) out[1] = convWeightGrad(c, x, go, shape);
  if (b && c.needsGrad(2)) out[2] = reduceSum(c, go, [0, ...spatialAxes(kernel.length)], false);
  return out;
});

/**
 * Pads of ConvTranspose, as those of the Conv that maps its output back onto its input. With output_shape
 * (or SAME padding) the total is what makes the output that size, split as the ONNX spec says.
 */
function transposeWindow(c: GradContext, kernel: number[], x: string, y: string): Window {
  const node = c.node;
  const n = kernel.length;
  const strides = node.intsAttr('strides') ?? new Array<number>(n).fill(1);
  const dilations = node.intsAttr('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = node.stringAttr('auto_pad', 'NOTSET');
  const outputShape = node.intsAttr('output_shape');
  const outPad = node.intsAttr('output_padding') ?? new Array<number>(n).fill(0);
  const pads = node.intsAttr('pads') ?? new Array<number>(2 * n).fill(0);
  if (autoPad === 'VALID')
    return { kernel, strides, dilations, begin: pads.map(() => 0).slice(0, n), end: pads.map(() => 0).slice(0, n) };
  if (!outputShape && autoPad === 'NOTSET')
    return { kernel, strides, dilations, begin: pads.slice(0, n), end: pads.slice(n) };
  const inSize = spatialSizes(c, x, n);
  const want = outputShape ? outputShape.slice(-n) : spatialSizes(c, y, n);
  const begin: number[] = [];
  const end: number[] = [];
  kernel.forEach((k, i) => {
    const h = inSize[i];
    const o = want[i];
    if (h === undefined || o === undefined) {
      throw unsupported(c, 'its padding depends on sizes only known at run time', 'give the input a fixed size');
    }
    const total = strides[i]! * (h - 1) + outPad[i]! + (k - 1) * dilations[i]! + 1 - o;
    if (total < 0) throw unsupported(c, 'output_shape is larger than the stride covers', 'use output_padding');
    const half = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? half : total - half);
    end.push(total - begin[i]!);
  });
  return { kernel, strides, dilations, begin, end };
}

/** y = ConvTranspose(x, w): the adjoint of Conv, so dL/dx is a plain Conv of dL/dy with the same kernel. */
const convTransposeRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const [x, w, b] = [c.I(0), c.I(1), c.I(2)];
  const ws = staticWeightShape(c, w);
  const group = c.node.intAttr('group', 1);
  const kernel = kernelOf(c, ws);
  const window = transposeWindow(c, kernel, x, c.O(0));
  // seen from the output side: a Conv from y's channels (M = ws[1] * group) to x's (C = ws[0])
  const adjoint: ConvShape = { group, cin: ws[1]! * group, cout: ws[0]!, window };
  if (c.needsGrad(0)) {
    out[0] = c.emit('Conv', [go, w], {
      group,
      kernel_shape: kernel,
      strides: window.strides,
      dilations: window.dilations.some((d) => d !== 1) ? window.dilations : undefined,
      pads: [...window.begin, ...window.end],
    });
  }
  if (c.needsGrad(1)) out[1] = convWeightGrad(c, go, x, adjoint);
  if (b && c.needsGrad(2)) out[2] = reduceSum(c, go, [0, ...spatialAxes(kernel.length)], false);
  return out;
});

export const convRules: GradTable = {
  Conv: convRule,
  ConvTranspose: convTransposeRule,
};
