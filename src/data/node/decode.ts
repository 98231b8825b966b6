import sharp, { type Sharp } from 'sharp';
import { GraftError } from '../../errors.js';
import type { RawImage } from '../image.js';
import { type DataLimits, DEFAULT_DATA_LIMITS, formatPixels } from '../limits.js';
import { type Preprocessing, planResize } from '../preprocessing.js';
import { readDataFile } from './read.js';

/** Formats Graft decodes. Others sharp may read (SVG, PDF, HEIF, ...) are refused as unsupported. */
export const DECODABLE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff'];

export interface ImageProbe {
  format: string;
  /** after EXIF orientation; of the first frame (page) of an animated or multi-page file */
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

/** Image limits taken by the decoders (the rest of DataLimits does not concern them). */
export type ImageLimits = Partial<Pick<DataLimits, 'maxImageBytes' | 'maxImagePixels'>>;

let configured = false;

/**
 * libvips' operation cache keeps recent inputs and results alive (50 MB, 100 operations by default) for
 * pipelines that repeat; a data set decodes each file once per epoch, so it only holds memory. Off, once,
 * before the first decode (process-wide, as sharp's settings are).
 */
function configureSharp(): void {
  if (configured) return;
  configured = true;
  sharp.cache(false);
}

/**
 * Decodes in flight share a budget of pixels (the default pixel limit): the decoders that must hold a whole
 * frame (GIF, interlaced PNG, progressive JPEG) take 3-8 bytes a pixel, so memory stays near 0.5 GB whatever
 * the concurrency callers ask for. An image over the budget (a raised limit) waits and decodes alone.
 */
export class PixelBudget {
  private used = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(readonly total: number) {}

  async run<T>(pixels: number, fn: () => Promise<T>): Promise<T> {
    const n = Math.max(1, Math.min(pixels, this.total));
    if (this.waiting.length === 0 && this.used + n <= this.total) this.used += n;
    else await new Promise<void>((go) => this.waiting.push({ n, go }));
    try {
      return await fn();
    } finally {
      this.used -= n;
      while (this.waiting.length && this.used + this.waiting[0]!.n <= this.total) {
        const w = this.waiting.shift()!;
        this.used += w.n;
        w.go();
      }
    }
  }
}

const budget = new PixelBudget(DEFAULT_DATA_LIMITS.maxImagePixels);

/**
 * Reads the header only (no pixel decode; a path is read as a bounded regular file first). Throws sharp's
 * error for non-images; the caller turns it into a report entry. The pixel limit is not applied here, so a
 * bomb's declared size can be reported (`imageSizeProblem`); header reads cost the same at any size.
 */
export async function probeImage(input: string | Buffer, limits: ImageLimits = {}): Promise<ImageProbe> {
  configureSharp();
  const bytes = typeof input === 'string' ? await readImage(input, limits) : input;
  const m = await sharp(bytes, { limitInputPixels: false }).metadata();
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

/** Why a probed image must not be decoded (over the pixel limit), or undefined when it may. */
export function imageSizeProblem(probe: ImageProbe, limits: ImageLimits = {}): string | undefined {
  const max = pixelLimit(limits);
  const pixels = probe.width * probe.height;
  if (pixels <= max) return undefined;
  return `${probe.width}x${probe.height} (${formatPixels(pixels)}), over the ${formatPixels(max)} limit for one image`;
}

function readImage(path: string, limits: ImageLimits): Promise<Buffer> {
  return readDataFile(path, limits.maxImageBytes ?? DEFAULT_DATA_LIMITS.maxImageBytes, 'Image');
}

/**
 * The checks every decode starts with, on the bytes about to be decoded: a supported format, a declared size
 * within the pixel limit (before any pixel is allocated), and the size a scan saw, when given (a file that
 * changed since is refused rather than cropped with stale geometry).
 */
async function admit(
  input: string | Buffer,
  limits: ImageLimits,
  expected?: { width: number; height: number },
): Promise<{ bytes: Buffer; probe: ImageProbe; file: string | undefined }> {
  const file = typeof input === 'string' ? input : undefined;
  const bytes = typeof input === 'string' ? await readImage(input, limits) : input;
  const probe = await probeImage(bytes);
  if (!DECODABLE_FORMATS.includes(probe.format)) {
    throw new GraftError('BAD_INPUT', `Unsupported image format: ${probe.format}`, {
      file,
      choices: DECODABLE_FORMATS,
      fix: 'convert the image to JPEG or PNG',
    });
  }
  const tooLarge = imageSizeProblem(probe, limits);
  if (tooLarge) {
    throw new GraftError('BAD_INPUT', `Image too large: ${tooLarge}`, {
      file,
      fix: 'raise the limit (graft: --max-pixels) if the image is genuine',
    });
  }
  if (expected && expected.width > 0 && (expected.width !== probe.width || expected.height !== probe.height)) {
    throw new GraftError('BAD_INPUT', 'Image changed since the data set was scanned', {
      file,
      expected: `${expected.width}x${expected.height}`,
      found: `${probe.width}x${probe.height}`,
      fix: 'run the command again to rescan the data set',
    });
  }
  return { bytes, probe, file };
}

/**
 * A sharp pipeline on an image that passed the checks every decode makes (bounded regular-file read, format,
 * pixel limit from the header), first frame only, with sharp's pixel limit set: for callers that render
 * images themselves, such as report thumbnails. Rejects with the same GraftErrors as decodeForModel.
 */
export async function openImage(input: string | Buffer, limits: ImageLimits = {}): Promise<Sharp> {
  const { bytes } = await admit(input, limits);
  return sharp(bytes, { pages: 1, limitInputPixels: pixelLimit(limits) });
}

/**
 * Fully decodes the image at a small size: JPEG shrink-on-load still reads every coded block, so truncated
 * or damaged data fails here as it would in training, at a fraction of the cost of a full-size decode.
 */
export async function verifyDecodes(input: string | Buffer, limits: ImageLimits = {}): Promise<void> {
  const { bytes, probe } = await admit(input, limits);
  await budget.run(probe.width * probe.height, () =>
    sharp(bytes, { failOn: 'warning', pages: 1, limitInputPixels: pixelLimit(limits) })
      .rotate()
      .resize(16, 16, { fit: 'fill' })
      .raw()
      .toBuffer(),
  );
}

function pixelLimit(limits: ImageLimits): number {
  return limits.maxImagePixels ?? DEFAULT_DATA_LIMITS.maxImagePixels;
}

/**
 * The common front of every decode: first frame only (GIF/TIFF/WebP), EXIF orientation applied, alpha
 * composited on white or dropped, and any colour space or bit depth (CMYK, 16-bit, grey) converted to
 * 8-bit sRGB. `failOn: 'warning'` makes truncated files fail rather than decode with a grey tail; sharp's
 * own pixel limit backs up the header check.
 */
function front(bytes: Buffer, p: Preprocessing, limits: ImageLimits): Sharp {
  let s = sharp(bytes, { failOn: 'warning', pages: 1, limitInputPixels: pixelLimit(limits) }).rotate();
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

/**
 * Decodes and resizes to the model input per the preprocessing's resize mode, in libvips (lanczos3
 * resampling, JPEG shrink-on-load). The geometry is `planResize`'s, so the browser path lands the same
 * pixels within resampling differences. A path is read as a bounded regular file (never a FIFO or device);
 * images over the pixel limit or in other formats are refused before decoding (GraftError BAD_INPUT); `size`
 * (oriented, from the scan), when given, must match the file's header.
 */
export async function decodeForModel(
  input: string | Buffer,
  p: Preprocessing,
  size?: { width: number; height: number },
  limits: ImageLimits = {},
): Promise<RawImage> {
  const { bytes, probe, file } = await admit(input, limits, size);
  return budget.run(probe.width * probe.height, () => decodeModelInput(bytes, probe, p, limits, file));
}

async function decodeModelInput(
  bytes: Buffer,
  { width, height }: ImageProbe,
  p: Preprocessing,
  limits: ImageLimits,
  file: string | undefined,
): Promise<RawImage> {
  const plan = planResize(width, height, p);
  const [outH, outW] = p.size;
  let s = front(bytes, p, limits);
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
  return finish(s, file);
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
  limits: ImageLimits = {},
): Promise<RawImage> {
  const { bytes, probe, file } = await admit(input, limits, size);
  const { width, height } = probe;
  const target = 2 * Math.max(p.size[0], p.size[1]);
  const k = target / Math.min(width, height);
  return budget.run(width * height, () => {
    let s = front(bytes, p, limits);
    if (k < 1) {
      s = s.resize(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k)), { fit: 'fill' });
    }
    return finish(s, file);
  });
}
