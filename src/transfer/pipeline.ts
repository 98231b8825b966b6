import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { type Preprocessing, type ResizeMode, checkPreprocessing } from '../data/preprocessing.js';
import type { ImagePreprocessing, Layout } from '../zoo/types.js';

/**
 * Turns a zoo entry's preprocessing (resize rule, crop, scale, mean/std) into the data layer's spec for
 * a model whose input has `layout` and spatial size `inputSize`. "Shortest edge S, crop C" becomes
 * 'shorter-side-then-crop' with cropFraction C/S; "exact" becomes 'squash'.
 */
export function preprocessingFromZoo(
  p: ImagePreprocessing,
  layout: Layout,
  inputSize?: readonly [number, number],
  limits?: Pick<DataLimits, 'maxInputPixels'>,
): Preprocessing {
  if (p.channels !== 'RGB') {
    throw new GraftError('CONFIG', `Channel order ${p.channels} is not supported by the image pipeline`, {
      expected: 'RGB',
      found: p.channels,
      fix: 'use a model that takes RGB input, or convert the model to RGB first',
    });
  }
  const asPair = (s: number | readonly [number, number]): [number, number] =>
    typeof s === 'number' ? [s, s] : [s[0], s[1]];
  let out: Preprocessing;
  if (p.resize.mode === 'exact') {
    out = base(p, layout, p.crop ? asPair(p.crop) : asPair(p.resize.size), 'squash');
  } else {
    const shortest = typeof p.resize.size === 'number' ? p.resize.size : Math.min(...p.resize.size);
    const crop = p.crop
      ? asPair(p.crop)
      : ((inputSize ? [inputSize[0], inputSize[1]] : [shortest, shortest]) as [number, number]);
    out = base(p, layout, crop, 'shorter-side-then-crop');
    out.cropFraction = Math.min(1, Math.min(...crop) / shortest);
  }
  if (inputSize && (out.size[0] !== inputSize[0] || out.size[1] !== inputSize[1])) {
    throw new GraftError('CONFIG', 'The preprocessing size does not match the model input', {
      expected: `[${inputSize.join(', ')}] (the model input)`,
      found: `[${out.size.join(', ')}]`,
      fix: 'fix the zoo entry (crop or resize size)',
    });
  }
  return checkPreprocessing(out, limits);
}

function base(p: ImagePreprocessing, layout: Layout, size: [number, number], resize: ResizeMode): Preprocessing {
  return { size, resize, scale: p.scale, mean: [...p.mean], std: [...p.std], layout, channels: 3 };
}

/**
 * The same spec with another resize rule. 'squash' drops the crop, which suits images that are already
 * framed (small, centred objects such as Fashion-MNIST) better than ImageNet's resize-then-crop.
 */
export function withResizeMode(
  p: Preprocessing,
  resize: ResizeMode,
  limits?: Pick<DataLimits, 'maxInputPixels'>,
): Preprocessing {
  if (resize === p.resize) return p;
  const { cropFraction: _drop, ...rest } = p;
  return checkPreprocessing({ ...rest, resize }, limits);
}

/**
 * Per-class loss weights n / (C * n_c) (scikit-learn's 'balanced'): each class contributes equally to
 * the loss whatever its size. Classes without examples get weight 0.
 */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? labels.length / (present * c) : 0));
}
