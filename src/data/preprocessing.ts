import { GraftError } from '../errors.js';
import { type DataLimits, DEFAULT_DATA_LIMITS, formatPixels } from './limits.js';

/** How a source image of any shape becomes the model's fixed input size. */
export type ResizeMode = 'squash' | 'center-crop' | 'pad' | 'shorter-side-then-crop';
export type Layout = 'NCHW' | 'NHWC';

/**
 * Everything needed to turn decoded pixels into the tensor a backbone was trained on. A zoo entry supplies
 * it (and the exported model carries it), so users never have to know a network's mean/std or resize rule.
 */
export interface Preprocessing {
  /** [height, width] of the model input */
  size: readonly [number, number];
  resize: ResizeMode;
  /**
   * Fraction of the image kept by 'center-crop' (default 1) and 'shorter-side-then-crop' (default 0.875,
   * i.e. resize to 256 then crop 224 as ImageNet evaluation does).
   */
  cropFraction?: number;
  /** multiplies raw 0..255 values first, e.g. 1/255 */
  scale: number;
  /** per channel, subtracted after scaling; length = channels */
  mean: readonly number[];
  /** per channel, divided after subtracting the mean; length = channels */
  std: readonly number[];
  layout: Layout;
  /** 1: luminance (ITU-R BT.601 weights) of the RGB image */
  channels: 3 | 1;
  /** transparent pixels: composited on white (default) or the alpha channel is simply dropped */
  alpha?: 'flatten' | 'drop';
  /** raw 0..255 value of the border added by 'pad' (default 0) */
  padValue?: number;
}

const RESIZE_MODES: readonly ResizeMode[] = ['squash', 'center-crop', 'pad', 'shorter-side-then-crop'];

/**
 * A value as an error may show it: numbers (and short lists of numbers) as they are, anything else by its
 * type only. A spec can come from a model file's metadata, and messages never quote a file's text.
 */
function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    return v.length <= 4 && v.every((x) => typeof x === 'number') ? `[${v.join(', ')}]` : `a list of ${v.length}`;
  }
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  return `a ${typeof v}`;
}

/**
 * Checks a preprocessing spec once, so a bad zoo entry, config or model metadata fails before any image is
 * decoded or any input tensor allocated: sizes are positive integers whose area is within
 * `limits.maxInputPixels` (a 30000x30000 input would cost gigabytes per image), numbers are finite, mean and
 * std have one value per channel, and modes and layout are known ones. Errors are CONFIG GraftErrors naming
 * the field; they show numbers, never strings from the spec.
 */
export function checkPreprocessing(
  p: Preprocessing,
  limits: Pick<DataLimits, 'maxInputPixels'> = DEFAULT_DATA_LIMITS,
): Preprocessing {
  const bad = (what: string, expected: string, found: unknown, fix: string): never => {
    throw new GraftError('CONFIG', `Invalid preprocessing: ${what}`, { expected, found: describe(found), fix });
  };
  if (p === null || typeof p !== 'object' || Array.isArray(p)) {
    bad('not an object', 'an object with size, resize, scale, mean, std, layout, channels', p, 'give a full spec');
  }
  const size: unknown = p.size;
  const [h, w] = Array.isArray(size) && size.length === 2 ? (size as unknown[]) : [];
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || (h as number) < 1 || (w as number) < 1) {
    bad('size', '[height, width] of positive integers', size, 'set size, e.g. [224, 224]');
  }
  if ((h as number) * (w as number) > limits.maxInputPixels) {
    bad(
      'size',
      `an input of at most ${formatPixels(limits.maxInputPixels)} (height x width)`,
      size,
      'use the size the model was trained at (e.g. [224, 224]), or raise the limit (graft: --max-input-pixels)',
    );
  }
  if (!RESIZE_MODES.includes(p.resize)) {
    throw new GraftError('CONFIG', 'Invalid preprocessing: resize mode', {
      found: describe(p.resize),
      choices: RESIZE_MODES,
      fix: 'pick one of the listed resize modes',
    });
  }
  if (
    p.cropFraction !== undefined &&
    !(typeof p.cropFraction === 'number' && p.cropFraction > 0 && p.cropFraction <= 1)
  ) {
    bad('cropFraction', 'a number in (0, 1]', p.cropFraction, 'use e.g. 0.875');
  }
  if (!(typeof p.scale === 'number' && Number.isFinite(p.scale) && p.scale > 0)) {
    bad('scale', 'a positive finite number', p.scale, 'use 1/255 or 1');
  }
  if (p.channels !== 1 && p.channels !== 3) bad('channels', '1 or 3', p.channels, 'use 3 for RGB models');
  for (const [name, v] of [
    ['mean', p.mean],
    ['std', p.std],
  ] as const) {
    if (!Array.isArray(v) || v.length !== p.channels || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(name, `${p.channels} finite numbers (one per channel)`, v, `give ${name} one value per channel`);
    }
  }
  if (!p.std.every((s) => s !== 0)) bad('std', 'non-zero values', p.std, 'use 1 for no division');
  if (p.layout !== 'NCHW' && p.layout !== 'NHWC') {
    bad('layout', "'NCHW' or 'NHWC'", p.layout, 'use the model input layout');
  }
  if (p.alpha !== undefined && p.alpha !== 'flatten' && p.alpha !== 'drop') {
    bad('alpha', "'flatten' or 'drop'", p.alpha, "use 'flatten' (on white)");
  }
  if (p.padValue !== undefined && !(typeof p.padValue === 'number' && p.padValue >= 0 && p.padValue <= 255)) {
    bad('padValue', 'a number in [0, 255]', p.padValue, 'use 0');
  }
  return p;
}

/**
 * A canonical string of the fields that change the output tensor, for cache keys (feature stores key vectors
 * by backbone + preprocessing + content hash). Key order is fixed so equal specs give equal strings.
 */
export function preprocessingKey(p: Preprocessing): string {
  return JSON.stringify([
    p.size[0],
    p.size[1],
    p.resize,
    cropFractionOf(p),
    p.scale,
    [...p.mean],
    [...p.std],
    p.layout,
    p.channels,
    p.alpha ?? 'flatten',
    p.padValue ?? 0,
  ]);
}

export function cropFractionOf(p: Preprocessing): number {
  if (p.cropFraction !== undefined) return p.cropFraction;
  return p.resize === 'shorter-side-then-crop' ? 0.875 : 1;
}

/** An axis-aligned rectangle in pixel units; x/y is the top-left corner. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Where a source image lands in the model input: `src` (in source pixels, possibly fractional) is resampled
 * onto `dst` (integer pixels of the output); output outside `dst` is padding. For 'shorter-side-then-crop',
 * `intermediate` is the integer size of the first resize, so a decoder can resize then crop exactly as
 * torchvision's Resize + CenterCrop do; `src` is the same region expressed in source pixels.
 */
export interface ResizePlan {
  src: Rect;
  dst: Rect;
  intermediate?: { w: number; h: number; cropX: number; cropY: number };
}

/** The geometry of a resize mode for one source size; pure, shared by the sharp and the in-browser paths. */
export function planResize(srcW: number, srcH: number, p: Preprocessing): ResizePlan {
  const [outH, outW] = p.size;
  const full: Rect = { x: 0, y: 0, w: outW, h: outH };
  switch (p.resize) {
    case 'squash':
      return { src: { x: 0, y: 0, w: srcW, h: srcH }, dst: full };
    case 'center-crop': {
      // The largest centred region with the output's aspect ratio, shrunk by cropFraction.
      const f = cropFractionOf(p);
      const k = Math.min(srcW / outW, srcH / outH) * f;
      const w = Math.max(1, Math.min(srcW, Math.round(outW * k)));
      const h = Math.max(1, Math.min(srcH, Math.round(outH * k)));
      return { src: { x: Math.floor((srcW - w) / 2), y: Math.floor((srcH - h) / 2), w, h }, dst: full };
    }
    case 'pad': {
      const k = Math.min(outW / srcW, outH / srcH);
      const w = Math.max(1, Math.min(outW, Math.round(srcW * k)));
      const h = Math.max(1, Math.min(outH, Math.round(srcH * k)));
      return {
        src: { x: 0, y: 0, w: srcW, h: srcH },
        dst: { x: Math.floor((outW - w) / 2), y: Math.floor((outH - h) / 2), w, h },
      };
    }
    case 'shorter-side-then-crop': {
      const f = cropFractionOf(p);
      // Scale so the image covers (outH/f, outW/f); the long side is truncated like torchvision's Resize.
      const s = Math.max(Math.floor(outH / f) / srcH, Math.floor(outW / f) / srcW);
      const iw = Math.max(outW, Math.floor(srcW * s + 1e-9));
      const ih = Math.max(outH, Math.floor(srcH * s + 1e-9));
      const cropX = roundHalfEven((iw - outW) / 2);
      const cropY = roundHalfEven((ih - outH) / 2);
      const sx = srcW / iw;
      const sy = srcH / ih;
      return {
        src: { x: cropX * sx, y: cropY * sy, w: outW * sx, h: outH * sy },
        dst: full,
        intermediate: { w: iw, h: ih, cropX, cropY },
      };
    }
  }
}

/** Python's round(), which torchvision's CenterCrop uses: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
