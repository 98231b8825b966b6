import { GraftError } from '../errors.js';
import { type Preprocessing, type ResizePlan, planResize } from './preprocessing.js';

/**
 * Decoded pixels, interleaved (HWC), in the 0..255 range. Uint8 straight from a decoder or canvas
 * ImageData; Float32 after resampling or colour jitter, so values are not rounded between steps.
 */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

function checkImage(img: RawImage): void {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new GraftError('BAD_INPUT', 'Pixel buffer size does not match the image dimensions', {
      expected: `${img.width}x${img.height}x${img.channels} = ${img.width * img.height * img.channels} values`,
      found: `${img.data.length} values`,
      fix: 'pass interleaved (HWC) pixel data with the stated width, height and channel count',
    });
  }
}

/**
 * Any channel count to RGB. Grey is replicated; alpha (2nd or 4th channel) is composited on white
 * ('flatten') or ignored ('drop'), matching what the sharp decoder does for files.
 */
export function toRgb(img: RawImage, alpha: 'flatten' | 'drop' = 'flatten'): RawImage {
  checkImage(img);
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const src = img.data;
  const c = img.channels;
  const out = new Float32Array(n * 3);
  const hasAlpha = c === 2 || c === 4;
  for (let i = 0; i < n; i++) {
    const a = hasAlpha && alpha === 'flatten' ? src[i * c + c - 1]! / 255 : 1;
    const bg = (1 - a) * 255;
    if (c <= 2) {
      const v = src[i * c]! * a + bg;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = src[i * c]! * a + bg;
      out[i * 3 + 1] = src[i * c + 1]! * a + bg;
      out[i * 3 + 2] = src[i * c + 2]! * a + bg;
    }
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/**
 * Maps output pixel centres to source coordinates: source = (a*u + b*v + c, d*u + e*v + f), where (u, v)
 * is the output pixel centre (x + 0.5, y + 0.5) and the result is in continuous source coordinates
 * (pixel i covers [i, i+1)).
 */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/**
 * Bilinear resampling of `src` through an affine map into an outW x outH image. Samples outside the
 * source are clamped to the edge, or take `fill` when one is given. Bilinear only: shrink large images
 * first (boxDownsample, the decoder, or canvas drawImage) so the scale factor stays at most about 2,
 * where bilinear at pixel centres averages neighbours and does not alias.
 */
export function sampleAffine(src: RawImage, m: Affine, outW: number, outH: number, fill?: number): RawImage {
  checkImage(src);
  const { width: W, height: H, channels: C, data } = src;
  const out = new Float32Array(outW * outH * C);
  const useFill = fill !== undefined;
  const maxX = W - 1;
  const maxY = H - 1;
  for (let y = 0; y < outH; y++) {
    // continuous coordinates -> index space where sample k sits at k; stepped along the row
    let sx = m.a * 0.5 + m.b * (y + 0.5) + m.c - 0.5;
    let sy = m.d * 0.5 + m.e * (y + 0.5) + m.f - 0.5;
    let o = y * outW * C;
    for (let x = 0; x < outW; x++, sx += m.a, sy += m.d, o += C) {
      if (useFill && (sx < -0.5 || sy < -0.5 || sx > W - 0.5 || sy > H - 0.5)) {
        for (let k = 0; k < C; k++) out[o + k] = fill;
        continue;
      }
      const cx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
      const cy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
      const x0 = cx | 0;
      const y0 = cy | 0;
      const fx = cx - x0;
      const fy = cy - y0;
      const dx = x0 < maxX ? C : 0;
      const dy = y0 < maxY ? W * C : 0;
      const i00 = (y0 * W + x0) * C;
      if (C === 3) {
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        const i01 = i00 + dx;
        const i10 = i00 + dy;
        const i11 = i10 + dx;
        out[o] = data[i00]! * w00 + data[i01]! * w01 + data[i10]! * w10 + data[i11]! * w11;
        out[o + 1] = data[i00 + 1]! * w00 + data[i01 + 1]! * w01 + data[i10 + 1]! * w10 + data[i11 + 1]! * w11;
        out[o + 2] = data[i00 + 2]! * w00 + data[i01 + 2]! * w01 + data[i10 + 2]! * w10 + data[i11 + 2]! * w11;
      } else {
        for (let k = 0; k < C; k++) {
          const a = data[i00 + k]!;
          const b = data[i00 + dx + k]!;
          const c = data[i00 + dy + k]!;
          const d = data[i00 + dy + dx + k]!;
          const top = a + (b - a) * fx;
          out[o + k] = top + (c + (d - c) * fx - top) * fy;
        }
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: C };
}

/** The affine map that sends the output box `plan.dst` onto the source region `plan.src`. */
export function planAffine(plan: ResizePlan): Affine {
  const kx = plan.src.w / plan.dst.w;
  const ky = plan.src.h / plan.dst.h;
  return { a: kx, b: 0, c: plan.src.x - plan.dst.x * kx, d: 0, e: ky, f: plan.src.y - plan.dst.y * ky };
}

/**
 * The in-browser equivalent of the sharp decoder's resize: resamples `img` per a resize plan into the
 * model's size, padding outside the plan's destination box with `p.padValue`. Large sources are first
 * averaged down by an integer factor so bilinear never skips pixels.
 */
export function resizeToModel(img: RawImage, plan: ResizePlan, p: Preprocessing): RawImage {
  const [outH, outW] = p.size;
  let src = img;
  let scale = 1;
  const factor = Math.floor(Math.min(plan.src.w / plan.dst.w, plan.src.h / plan.dst.h) / 2);
  if (factor >= 2) {
    src = boxDownsample(img, factor);
    scale = factor;
  }
  const s = {
    x: plan.src.x / scale,
    y: plan.src.y / scale,
    w: plan.src.w / scale,
    h: plan.src.h / scale,
  };
  const padded = plan.dst.w !== outW || plan.dst.h !== outH;
  return sampleAffine(src, planAffine({ src: s, dst: plan.dst }), outW, outH, padded ? (p.padValue ?? 0) : undefined);
}

/** Averages k x k blocks (the ragged right/bottom edge averages what it has). */
export function boxDownsample(img: RawImage, k: number): RawImage {
  checkImage(img);
  const { width: W, height: H, channels: C, data } = img;
  const w = Math.ceil(W / k);
  const h = Math.ceil(H / k);
  const out = new Float32Array(w * h * C);
  for (let y = 0; y < h; y++) {
    const ys = y * k;
    const ye = Math.min(H, ys + k);
    for (let x = 0; x < w; x++) {
      const xs = x * k;
      const xe = Math.min(W, xs + k);
      const o = (y * w + x) * C;
      for (let yy = ys; yy < ye; yy++) {
        for (let xx = xs; xx < xe; xx++) {
          const i = (yy * W + xx) * C;
          for (let c = 0; c < C; c++) out[o + c]! += data[i + c]!;
        }
      }
      const n = (ye - ys) * (xe - xs);
      for (let c = 0; c < C; c++) out[o + c]! /= n;
    }
  }
  return { data: out, width: w, height: h, channels: C };
}

/** Mirror left-right; exact (no resampling), so flipping twice gives back the same pixels. */
export function flipHorizontal(img: RawImage): RawImage {
  checkImage(img);
  const { width: W, height: H, channels: C, data } = img;
  const out = new (data.constructor as { new (n: number): RawImage['data'] })(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * C;
      const j = (y * W + (W - 1 - x)) * C;
      for (let c = 0; c < C; c++) out[j + c] = data[i + c]!;
    }
  }
  return { data: out, width: W, height: H, channels: C };
}

/** Element count of one example for a preprocessing spec. */
export function exampleSize(p: Preprocessing): number {
  return p.size[0] * p.size[1] * p.channels;
}

/** Batch dimensions for `n` examples in the spec's layout. */
export function batchDims(n: number, p: Preprocessing): [number, number, number, number] {
  const [h, w] = p.size;
  return p.layout === 'NCHW' ? [n, p.channels, h, w] : [n, h, w, p.channels];
}

/**
 * Writes a decoded image of any size as example `index` of a batch: made RGB, resized by the preprocessing's
 * rule (`planResize`) unless it already has the model size, then normalised (`writeNormalized`).
 */
export function writeModelInput(img: RawImage, p: Preprocessing, out: Float32Array, index: number): void {
  const rgb = toRgb(img, p.alpha);
  const sized =
    rgb.width === p.size[1] && rgb.height === p.size[0]
      ? rgb
      : resizeToModel(rgb, planResize(rgb.width, rgb.height, p), p);
  writeNormalized(sized, p, out, index);
}

/**
 * Writes one RGB image (already at the model size) as example `index` of a batch: scale, subtract mean,
 * divide by std, and lay out as NCHW or NHWC. With channels = 1 the luminance Y = 0.299 R + 0.587 G +
 * 0.114 B is used.
 */
export function writeNormalized(img: RawImage, p: Preprocessing, out: Float32Array, index: number): void {
  checkImage(img);
  const [H, W] = p.size;
  if (img.width !== W || img.height !== H || img.channels !== 3) {
    throw new GraftError('SHAPE_MISMATCH', 'Image does not have the model input size', {
      expected: `${W}x${H} RGB`,
      found: `${img.width}x${img.height} with ${img.channels} channels`,
      fix: 'resize with resizeToModel (or the node decoder) before normalising',
    });
  }
  const C = p.channels;
  const plane = H * W;
  const base = index * plane * C;
  if (base + plane * C > out.length) {
    throw new GraftError('SHAPE_MISMATCH', 'Batch buffer too small for this example index', {
      expected: `at least ${base + plane * C} floats`,
      found: `${out.length}`,
    });
  }
  const src = img.data;
  const s = p.scale;
  if (C === 3) {
    const m0 = p.mean[0]!,
      m1 = p.mean[1]!,
      m2 = p.mean[2]!;
    const r0 = 1 / p.std[0]!,
      r1 = 1 / p.std[1]!,
      r2 = 1 / p.std[2]!;
    if (p.layout === 'NCHW') {
      for (let i = 0; i < plane; i++) {
        out[base + i] = (src[i * 3]! * s - m0) * r0;
        out[base + plane + i] = (src[i * 3 + 1]! * s - m1) * r1;
        out[base + 2 * plane + i] = (src[i * 3 + 2]! * s - m2) * r2;
      }
    } else {
      for (let i = 0; i < plane; i++) {
        out[base + i * 3] = (src[i * 3]! * s - m0) * r0;
        out[base + i * 3 + 1] = (src[i * 3 + 1]! * s - m1) * r1;
        out[base + i * 3 + 2] = (src[i * 3 + 2]! * s - m2) * r2;
      }
    }
  } else {
    // one channel: NCHW and NHWC are the same memory order
    const m = p.mean[0]!;
    const r = 1 / p.std[0]!;
    for (let i = 0; i < plane; i++) {
      const y = 0.299 * src[i * 3]! + 0.587 * src[i * 3 + 1]! + 0.114 * src[i * 3 + 2]!;
      out[base + i] = (y * s - m) * r;
    }
  }
}
