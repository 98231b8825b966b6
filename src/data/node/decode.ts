import sharp, { type Sharp } from 'sharp';
import { GraftError } from '../../errors.js';
import type { RawImage } from '../image.js';
import { type Preprocessing, planResize } from '../preprocessing.js';

/** Formats Graft decodes. Others sharp may read (SVG, PDF, HEIF, ...) are refused as unsupported. */
export const DECODABLE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff'];

export interface ImageProbe {
  format: string;
  /** after EXIF orientation */
  width: number;
  height: number;
  channels: number;
  /** libvips colour space: srgb, b-w, cmyk, rgb16, grey16 ... */
  space: string;
  /** uchar, ushort, ... */
  depth: string;
  hasAlpha: boolean;
  /** EXIF orientation 1..8, when present */
  orientation?: number;
}

/**
 * Reads the header only (no pixel decode). Throws sharp's error for non-images; the caller turns it into a
 * report entry.
 */
export async function probeImage(input: string | Buffer): Promise<ImageProbe> {
  const m = await sharp(input).metadata();
  const oriented = m.autoOrient ?? { width: m.width, height: m.height };
  const probe: ImageProbe = {
    format: m.format ?? 'unknown',
    width: oriented.width ?? 0,
    height: oriented.height ?? 0,
    channels: m.channels ?? 0,
    space: m.space ?? 'unknown',
    depth: m.depth ?? 'unknown',
    hasAlpha: m.hasAlpha ?? false,
  };
  if (m.orientation !== undefined) probe.orientation = m.orientation;
  return probe;
}

/**
 * Fully decodes the image at a small size: JPEG shrink-on-load still reads every coded block, so truncated
 * or damaged data fails here as it would in training, at a fraction of the cost of a full-size decode.
 */
export async function verifyDecodes(input: string | Buffer): Promise<void> {
  await sharp(input, { failOn: 'warning' }).rotate().resize(16, 16, { fit: 'fill' }).raw().toBuffer();
}

/**
 * The common front of every decode: first frame only (GIF/TIFF), EXIF orientation applied, alpha
 * composited on white or dropped, and any colour space or bit depth (CMYK, 16-bit, grey) converted to
 * 8-bit sRGB. `failOn: 'warning'` makes truncated files fail rather than decode with a grey tail.
 */
function front(input: string | Buffer, p: Preprocessing): Sharp {
  let s = sharp(input, { failOn: 'warning', pages: 1 }).rotate();
  s = (p.alpha ?? 'flatten') === 'flatten' ? s.flatten({ background: '#ffffff' }) : s.removeAlpha();
  return s.toColourspace('srgb');
}

async function finish(s: Sharp, file: string | undefined): Promise<RawImage> {
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    throw new GraftError('RUNTIME', 'Decoder returned an unexpected channel count', {
      file,
      expected: '3 channels (sRGB)',
      found: `${info.channels}`,
    });
  }
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: 3,
  };
}

async function orientedSize(input: string | Buffer, known?: { width: number; height: number }) {
  if (known && known.width > 0 && known.height > 0) return known;
  const probe = await probeImage(input);
  return { width: probe.width, height: probe.height };
}

/**
 * Decodes and resizes to the model input per the preprocessing's resize mode, in libvips (lanczos3
 * resampling, JPEG shrink-on-load). The geometry is `planResize`'s, so the browser path lands the same
 * pixels within resampling differences. `size` (oriented, from the scan) saves a header read.
 */
export async function decodeForModel(
  input: string | Buffer,
  p: Preprocessing,
  size?: { width: number; height: number },
): Promise<RawImage> {
  const { width, height } = await orientedSize(input, size);
  const plan = planResize(width, height, p);
  const [outH, outW] = p.size;
  let s = front(input, p);
  switch (p.resize) {
    case 'squash':
      s = s.resize(outW, outH, { fit: 'fill' });
      break;
    case 'center-crop':
      s = s
        .extract({ left: plan.src.x, top: plan.src.y, width: plan.src.w, height: plan.src.h })
        .resize(outW, outH, { fit: 'fill' });
      break;
    case 'pad': {
      const v = p.padValue ?? 0;
      s = s.resize(plan.dst.w, plan.dst.h, { fit: 'fill' }).extend({
        top: plan.dst.y,
        left: plan.dst.x,
        bottom: outH - plan.dst.h - plan.dst.y,
        right: outW - plan.dst.w - plan.dst.x,
        background: { r: v, g: v, b: v },
      });
      break;
    }
    case 'shorter-side-then-crop': {
      const im = plan.intermediate!;
      s = s.resize(im.w, im.h, { fit: 'fill' }).extract({ left: im.cropX, top: im.cropY, width: outW, height: outH });
      break;
    }
  }
  return finish(s, typeof input === 'string' ? input : undefined);
}

/**
 * Decodes for augmentation: sRGB 8-bit, shrunk (never enlarged) so the shorter side is about twice the
 * model's larger side. Random crops are then resampled in JS from this base at most ~2x down, where
 * bilinear averages instead of aliasing, while a full-resolution decode of a 12-megapixel photo is avoided.
 */
export async function decodeForAugment(
  input: string | Buffer,
  p: Preprocessing,
  size?: { width: number; height: number },
): Promise<RawImage> {
  const { width, height } = await orientedSize(input, size);
  const target = 2 * Math.max(p.size[0], p.size[1]);
  const k = target / Math.min(width, height);
  let s = front(input, p);
  if (k < 1) {
    s = s.resize(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k)), { fit: 'fill' });
  }
  return finish(s, typeof input === 'string' ? input : undefined);
}
