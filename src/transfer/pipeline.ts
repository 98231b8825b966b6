import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { type Preprocessing, type ResizeMode, checkPreprocessing } from '../data/preprocessing.js';
import type { ImagePreprocessing, Layout } from '../zoo/types.js';

/**
 * The transfer strategies that train on cached backbone features. `feature-extract` trains an MLP head,
 * `linear-probe` a single linear layer (multinomial logistic regression with L2), `knn` and `prototype`
 * are fitted in closed form (cosine k-nearest neighbours, nearest class mean).
 */
export type FeatureStrategy = 'feature-extract' | 'linear-probe' | 'knn' | 'prototype';
export const FEATURE_STRATEGIES: readonly FeatureStrategy[] = ['feature-extract', 'linear-probe', 'knn', 'prototype'];

/** A head over feature vectors, as parsed from `--head`. */
export type HeadChoice =
  { kind: 'linear' } | { kind: 'mlp'; hidden: number[] } | { kind: 'knn'; k: number } | { kind: 'prototype' };

export const DEFAULT_MLP_HIDDEN = [256];
export const DEFAULT_KNN_K = 5;

const HEAD_SYNTAX = ['linear', 'mlp', 'mlp:256', 'mlp:512,128', 'knn', 'knn:K', 'prototype'];

/** Parses a head as users write it: `linear`, `mlp:256`, `mlp:512,128`, `knn:5`, `prototype`. */
export function parseHeadChoice(text: string): HeadChoice {
  const [kind, arg, ...extra] = text.trim().toLowerCase().split(':');
  const bad = (why: string): never => {
    throw new GraftError('BAD_INPUT', `Cannot read the head '${text}': ${why}`, {
      found: text,
      choices: HEAD_SYNTAX,
      fix: 'write e.g. --head mlp:256 (hidden sizes separated by commas) or --head knn:5',
    });
  };
  if (extra.length) bad('too many colons');
  const ints = (s: string, what: string): number[] =>
    s.split(',').map((p) => {
      const n = Number(p.trim());
      if (!Number.isInteger(n) || n < 1) bad(`${what} must be positive whole numbers, found '${p}'`);
      return n;
    });
  switch (kind) {
    case 'linear':
    case 'logistic':
      if (arg !== undefined) bad('a linear head takes no sizes');
      return { kind: 'linear' };
    case 'mlp':
      return { kind: 'mlp', hidden: arg === undefined || arg === '' ? [...DEFAULT_MLP_HIDDEN] : ints(arg, 'sizes') };
    case 'knn': {
      const k = arg === undefined ? [DEFAULT_KNN_K] : ints(arg, 'k');
      if (k.length !== 1) bad('kNN takes one k');
      return { kind: 'knn', k: k[0]! };
    }
    case 'prototype':
    case 'ncm':
      if (arg !== undefined) bad('a prototype head takes no argument');
      return { kind: 'prototype' };
    default:
      return bad(`unknown head kind '${kind}'`);
  }
}

export function formatHeadChoice(h: HeadChoice): string {
  switch (h.kind) {
    case 'linear':
    case 'prototype':
      return h.kind;
    case 'mlp':
      return `mlp:${h.hidden.join(',')}`;
    case 'knn':
      return `knn:${h.k}`;
  }
}

/**
 * The head a strategy trains: the given one when it fits the strategy, else the strategy's default.
 * A head that contradicts the strategy (an MLP for a linear probe) is an error, not silently replaced.
 */
export function headForStrategy(strategy: FeatureStrategy, head?: HeadChoice): HeadChoice {
  const fits: Record<FeatureStrategy, HeadChoice['kind'][]> = {
    'feature-extract': ['mlp', 'linear'],
    'linear-probe': ['linear'],
    knn: ['knn'],
    prototype: ['prototype'],
  };
  if (!FEATURE_STRATEGIES.includes(strategy)) {
    throw new GraftError('BAD_INPUT', `Unknown strategy '${strategy}'`, {
      choices: FEATURE_STRATEGIES,
      fix: 'pick one of the valid strategies',
    });
  }
  if (head && !fits[strategy].includes(head.kind)) {
    throw new GraftError('BAD_INPUT', `The head '${formatHeadChoice(head)}' does not fit --strategy ${strategy}`, {
      expected: `a head of kind ${fits[strategy].join(' or ')}`,
      found: head.kind,
      fix:
        head.kind === 'knn' || head.kind === 'prototype'
          ? `use --strategy ${head.kind}`
          : head.kind === 'mlp'
            ? 'use --strategy feature-extract for an MLP head'
            : 'drop --head to use the strategy default',
    });
  }
  if (head) return head;
  switch (strategy) {
    case 'feature-extract':
      return { kind: 'mlp', hidden: [...DEFAULT_MLP_HIDDEN] };
    case 'linear-probe':
      return { kind: 'linear' };
    case 'knn':
      return { kind: 'knn', k: DEFAULT_KNN_K };
    case 'prototype':
      return { kind: 'prototype' };
  }
}

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
