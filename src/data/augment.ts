import { GraftError } from '../errors.js';
import { type Affine, type RawImage, boxDownsample, sampleAffine } from './image.js';
import { type Preprocessing, type Rect, planResize } from './preprocessing.js';

/**
 * Training-time augmentation. Each transform is off unless given; `standardAugment` is a sensible start
 * for fine-tuning. Factors for brightness/contrast/saturation are drawn uniformly from [1 - x, 1 + x].
 */
export interface AugmentSpec {
  /** random resized crop: area fraction range and aspect-ratio (w/h) range, as torchvision's */
  crop?: { scale?: readonly [number, number]; ratio?: readonly [number, number] };
  /** probability of a horizontal flip */
  hflip?: number;
  /** maximum rotation in degrees, either direction */
  rotate?: number;
  brightness?: number;
  contrast?: number;
  saturation?: number;
}

/** Mild augmentation for transfer learning on small data sets (objects stay mostly in frame). */
export const standardAugment: AugmentSpec = Object.freeze({
  crop: { scale: [0.35, 1] as const, ratio: [3 / 4, 4 / 3] as const },
  hflip: 0.5,
  rotate: 10,
  brightness: 0.2,
  contrast: 0.2,
  saturation: 0.2,
});

/**
 * One draw of the random transforms. The crop is in fractions of the source width/height, so the
 * parameters can be drawn (in a fixed order, from the trainer's generator) before the image is decoded at
 * whatever resolution the decoder picks: results do not depend on decode concurrency or completion order.
 */
export interface AugmentParams {
  /** source region in fractions of width/height; null keeps the preprocessing's own resize geometry */
  crop: Rect | null;
  flip: boolean;
  /** degrees, positive turns the content counter-clockwise */
  angle: number;
  brightness: number;
  contrast: number;
  saturation: number;
}

export function checkAugment(spec: AugmentSpec): AugmentSpec {
  const bad = (what: string, expected: string, found: unknown): never => {
    throw new GraftError('CONFIG', `Invalid augmentation: ${what}`, {
      expected,
      found: JSON.stringify(found),
      fix: 'see standardAugment for typical values',
    });
  };
  if (spec.crop) {
    const [s0, s1] = spec.crop.scale ?? [0.08, 1];
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) bad('crop.scale', '0 < min <= max <= 1', spec.crop.scale);
    const [r0, r1] = spec.crop.ratio ?? [3 / 4, 4 / 3];
    if (!(r0 > 0 && r0 <= r1)) bad('crop.ratio', '0 < min <= max', spec.crop.ratio);
  }
  if (spec.hflip !== undefined && !(spec.hflip >= 0 && spec.hflip <= 1))
    bad('hflip', 'a probability in [0, 1]', spec.hflip);
  if (spec.rotate !== undefined && !(spec.rotate >= 0 && spec.rotate <= 180))
    bad('rotate', 'degrees in [0, 180]', spec.rotate);
  for (const k of ['brightness', 'contrast', 'saturation'] as const) {
    const v = spec[k];
    if (v !== undefined && !(v >= 0 && v < 1)) bad(k, 'a number in [0, 1)', v);
  }
  return spec;
}

/**
 * Draws augmentation parameters for a source of srcW x srcH pixels (after EXIF orientation). The number
 * of draws depends only on the spec and the crop attempts, never on timing, so a seeded `rng` reproduces
 * the same sequence.
 */
export function sampleAugment(spec: AugmentSpec, srcW: number, srcH: number, rng: () => number): AugmentParams {
  let crop: Rect | null = null;
  if (spec.crop) crop = sampleCrop(srcW, srcH, spec.crop.scale ?? [0.08, 1], spec.crop.ratio ?? [3 / 4, 4 / 3], rng);
  const flip = spec.hflip ? rng() < spec.hflip : false;
  const angle = spec.rotate ? (2 * rng() - 1) * spec.rotate : 0;
  const factor = (x: number | undefined) => (x ? 1 - x + 2 * x * rng() : 1);
  const brightness = factor(spec.brightness);
  const contrast = factor(spec.contrast);
  const saturation = factor(spec.saturation);
  return { crop, flip, angle, brightness, contrast, saturation };
}

/**
 * Random resized crop in fractions of the source: a region covering a random share of the area with a
 * log-uniform aspect ratio; after 10 misses, the centred region with the nearest allowed aspect ratio.
 */
function sampleCrop(
  W: number,
  H: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: () => number,
): Rect {
  const area = W * H;
  const lr0 = Math.log(ratio[0]);
  const lr1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng());
    const ar = Math.exp(lr0 + (lr1 - lr0) * rng());
    const w = Math.sqrt(target * ar);
    const h = Math.sqrt(target / ar);
    if (w <= W && h <= H) {
      const x = (W - w) * rng();
      const y = (H - h) * rng();
      return { x: x / W, y: y / H, w: w / W, h: h / H };
    }
  }
  const inRatio = W / H;
  let w = W;
  let h = H;
  if (inRatio < ratio[0]) h = W / ratio[0];
  else if (inRatio > ratio[1]) w = H * ratio[1];
  return { x: (W - w) / 2 / W, y: (H - h) / 2 / H, w: w / W, h: h / H };
}

/**
 * Applies drawn parameters to an RGB image: crop, flip and rotation are one affine map and one bilinear
 * resample straight to the model size; then colour jitter on the float pixels (clamped to 0..255 after
 * each step, as torchvision does). Rotated corners repeat the edge pixels, except in 'pad' geometry where
 * they take the pad value like the border.
 */
export function applyAugment(img: RawImage, params: AugmentParams, p: Preprocessing): RawImage {
  if (img.channels !== 3) {
    throw new GraftError('BAD_INPUT', 'Augmentation expects an RGB image', {
      expected: '3 channels',
      found: `${img.channels}`,
      fix: 'convert with toRgb first',
    });
  }
  const [outH, outW] = p.size;
  let src: Rect;
  let dst: Rect = { x: 0, y: 0, w: outW, h: outH };
  let fill: number | undefined;
  if (params.crop) {
    const c = params.crop;
    src = { x: c.x * img.width, y: c.y * img.height, w: c.w * img.width, h: c.h * img.height };
  } else {
    const plan = planResize(img.width, img.height, p);
    src = plan.src;
    dst = plan.dst;
    if (dst.w !== outW || dst.h !== outH) fill = p.padValue ?? 0;
  }
  // Keep bilinear within its ~2x comfort zone by averaging big sources down first.
  let source = img;
  const factor = Math.floor(Math.min(src.w / dst.w, src.h / dst.h) / 2);
  if (factor >= 2) {
    source = boxDownsample(img, factor);
    src = { x: src.x / factor, y: src.y / factor, w: src.w / factor, h: src.h / factor };
  }
  const out = sampleAffine(source, augmentAffine(src, dst, params.flip, params.angle), outW, outH, fill);
  jitterColour(out.data as Float32Array, params.brightness, params.contrast, params.saturation);
  return out;
}

/** Draw + apply in one call; `rng` is the trainer's seeded generator. */
export function augmentImage(img: RawImage, spec: AugmentSpec, p: Preprocessing, rng: () => number): RawImage {
  return applyAugment(img, sampleAugment(spec, img.width, img.height, rng), p);
}

/** Output centre -> optional mirror -> rotation -> scaled onto the source region's centre. */
function augmentAffine(src: Rect, dst: Rect, flip: boolean, angleDeg: number): Affine {
  const kx = src.w / dst.w;
  const ky = src.h / dst.h;
  const t = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const f = flip ? -1 : 1;
  const u0 = dst.x + dst.w / 2;
  const v0 = dst.y + dst.h / 2;
  const a = kx * cos * f;
  const b = -kx * sin;
  const d = ky * sin * f;
  const e = ky * cos;
  return {
    a,
    b,
    c: src.x + src.w / 2 - a * u0 - b * v0,
    d,
    e,
    f: src.y + src.h / 2 - d * u0 - e * v0,
  };
}

/**
 * Brightness (scale), contrast (towards the mean luminance), saturation (towards each pixel's grey), in that
 * order with clamping after each step. Two passes: brightness while summing luminance, then contrast and
 * saturation per pixel; the same result as three separate passes.
 */
export function jitterColour(px: Float32Array, brightness: number, contrast: number, saturation: number): void {
  const n = px.length / 3;
  let sum = 0;
  for (let i = 0; i < px.length; i += 3) {
    let r = px[i]!;
    let g = px[i + 1]!;
    let b = px[i + 2]!;
    if (brightness !== 1) {
      r = clamp255(r * brightness);
      g = clamp255(g * brightness);
      b = clamp255(b * brightness);
      px[i] = r;
      px[i + 1] = g;
      px[i + 2] = b;
    }
    sum += 0.299 * r + 0.587 * g + 0.114 * b;
  }
  if (contrast === 1 && saturation === 1) return;
  const m = sum / n;
  for (let i = 0; i < px.length; i += 3) {
    let r = px[i]!;
    let g = px[i + 1]!;
    let b = px[i + 2]!;
    if (contrast !== 1) {
      r = clamp255((r - m) * contrast + m);
      g = clamp255((g - m) * contrast + m);
      b = clamp255((b - m) * contrast + m);
    }
    if (saturation !== 1) {
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      r = clamp255(y + (r - y) * saturation);
      g = clamp255(y + (g - y) * saturation);
      b = clamp255(y + (b - y) * saturation);
    }
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
  }
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
