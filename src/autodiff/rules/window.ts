import type { Dim } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import type { GradContext } from '../types.js';
import { unsupported } from './helpers.js';

/**
 * The geometry of a sliding window (Conv, ConvTranspose, pools) with padding resolved: what every
 * backward formulation of those ops is written in terms of.
 */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** resolved padding before / after each spatial axis (auto_pad applied) */
  begin: number[];
  end: number[];
}

export const INT_MAX = 2 ** 31 - 1;

export const spatialAxes = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 2);

export const product = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/** Static spatial sizes of a [N, C, spatial...] value; undefined entries where only known at run time. */
export function spatialSizes(c: GradContext, v: string, n: number): (number | undefined)[] {
  const s = c.shape(v);
  return Array.from({ length: n }, (_, i) => {
    const d: Dim = s?.[i + 2];
    return typeof d === 'number' ? d : undefined;
  });
}

/**
 * The window of a Conv or pooling node read from its attributes, with auto_pad turned into explicit pads.
 * SAME padding with a stride above 1 depends on the input size, which must then be static.
 */
export function forwardWindow(c: GradContext, kernel: number[], inSize: (number | undefined)[]): Window {
  const n = kernel.length;
  const node = c.node;
  const strides = node.intsAttr('strides') ?? new Array<number>(n).fill(1);
  const dilations = node.intsAttr('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = node.stringAttr('auto_pad', 'NOTSET');
  const pads = node.intsAttr('pads') ?? new Array<number>(2 * n).fill(0);
  let begin = pads.slice(0, n);
  let end = pads.slice(n, 2 * n);
  if (autoPad === 'VALID') {
    begin = new Array<number>(n).fill(0);
    end = new Array<number>(n).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    kernel.forEach((k, i) => {
      const s = strides[i]!;
      const span = (k - 1) * dilations[i]! + 1;
      const size = inSize[i];
      let total: number;
      if (s === 1) total = span - 1;
      else if (size !== undefined) total = Math.max(0, (Math.ceil(size / s) - 1) * s + span - size);
      else {
        throw unsupported(
          c,
          `auto_pad ${autoPad} with stride ${s} pads according to the input size, which is only known at run time`,
          'give the model input a fixed spatial size (or explicit pads) before building the training graph',
        );
      }
      const small = Math.floor(total / 2);
      begin[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      end[i] = total - begin[i]!;
    });
  }
  return { kernel, strides, dilations, begin, end };
}

/** Kernel sizes from the kernel_shape attribute or the static weight shape [M, C/group, k...]. */
export function kernelOf(c: GradContext, weightShape: Dim[] | undefined): number[] {
  const k = c.node.intsAttr('kernel_shape') ?? weightShape?.slice(2);
  if (!k || k.some((d) => typeof d !== 'number')) {
    throw unsupported(c, 'the kernel size is not known statically', 'give the weights a static shape');
  }
  return k as number[];
}

/** `v` cut to `[start, end)` on the spatial axes where that is not the whole axis (end <= 0 counts from the end). */
export function cropSpatial(c: GradContext, v: string, start: number[], end: number[]): string {
  const axes: number[] = [];
  start.forEach((s, i) => {
    if (s !== 0 || end[i]! < INT_MAX) axes.push(i);
  });
  if (axes.length === 0) return v;
  return c.emit('Slice', [
    v,
    c.ints(axes.map((i) => start[i]!)),
    c.ints(axes.map((i) => end[i]!)),
    c.ints(axes.map((i) => i + 2)),
  ]);
}

/** A float tensor of x's element type as a Constant node. */
export function floatConstant(c: GradContext, like: string, values: ArrayLike<number>, dims: number[]): string {
  const f64 = c.dtype(like) === 'float64';
  const data = f64 ? Float64Array.from(values) : Float32Array.from(values);
  return c.emit('Constant', [], { value: Tensor.from('value', data, dims, f64 ? 'float64' : 'float32') });
}
