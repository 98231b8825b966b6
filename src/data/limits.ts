import { GraftError } from '../errors.js';

/**
 * How much of a hostile or broken input Graft agrees to read (issue 10): data sets, manifests and images are
 * other people's files, so every read and every decode is bounded before it starts. Each limit can be raised
 * (the CLI's --max-file-mb, --max-pixels, --max-input-pixels); none can be switched off.
 */
export interface DataLimits {
  /** largest image file read, in bytes */
  maxImageBytes: number;
  /** largest text example file (one example per file) read, in bytes */
  maxTextBytes: number;
  /** largest table (CSV/TSV/JSON Lines data set or manifest) read, in bytes */
  maxTableBytes: number;
  /** most records a table may hold */
  maxTableRows: number;
  /** longest record (CSV record or JSON line), in characters */
  maxRowChars: number;
  /** largest image decoded: width x height of its first frame, as its header declares */
  maxImagePixels: number;
  /** largest model input (height x width) a preprocessing spec, e.g. a model's metadata, may ask for */
  maxInputPixels: number;
}

const MiB = 1024 * 1024;

/**
 * The defaults, and why:
 * - images 64 MiB: a 61-megapixel camera JPEG is ~30 MB and a 48-megapixel phone photo ~15 MB; a data set
 *   scan holds up to 8 files in memory at once, so the worst case stays near 512 MiB.
 * - text files 8 MiB: about 1.5 million words, thousands of times what a text model reads (its token window);
 *   the loader reads 8 at once, and a JS string may take twice the bytes.
 * - tables 256 MiB, 2 million rows, 1 Mi characters a row: ImageNet-1k's 1.28 million training images fit in
 *   one manifest; V8 cannot hold a string over 512 MiB anyway, and parsed rows cost a few hundred bytes each,
 *   so the row cap (not the byte cap) is what bounds memory for a table of tiny rows.
 * - images 8192 x 8192 pixels (67 megapixels): above every phone and most camera sensors (61 MP); the decoders
 *   that must hold a whole frame (GIF, interlaced PNG) need 3-8 bytes a pixel, so one image at the limit stays
 *   under ~512 MiB, and decodes share a budget of that many pixels in flight (see decode.ts).
 * - model input 2048 x 2048: four times the area of the largest pretrained backbones Graft takes (SAM's 1024 x
 *   1024; classification backbones stop near 600 x 600); one float32 RGB example at the limit is 48 MiB.
 */
export const DEFAULT_DATA_LIMITS: Readonly<DataLimits> = Object.freeze({
  maxImageBytes: 64 * MiB,
  maxTextBytes: 8 * MiB,
  maxTableBytes: 256 * MiB,
  maxTableRows: 2_000_000,
  maxRowChars: MiB,
  maxImagePixels: 8192 * 8192,
  maxInputPixels: 2048 * 2048,
});

/** The defaults with the given limits raised (or lowered); each must be a positive integer. */
export function dataLimits(given: Partial<DataLimits> = {}): DataLimits {
  const out = { ...DEFAULT_DATA_LIMITS };
  for (const key of Object.keys(DEFAULT_DATA_LIMITS) as (keyof DataLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    if (!(Number.isSafeInteger(v) && v > 0)) {
      throw new GraftError('CONFIG', `Invalid data limit ${key}`, {
        expected: 'a positive integer',
        found: String(v),
        fix: `leave it out for the default (${DEFAULT_DATA_LIMITS[key]})`,
      });
    }
    out[key] = v;
  }
  return out;
}

/**
 * The limits the CLI's flags ask for: --max-file-mb N raises (or lowers) the cap on one image or text file
 * to N MiB and lets tables be at least that large too; --max-pixels N caps one decoded image at N pixels;
 * --max-input-pixels N caps a model input (height x width). Flags not given keep the defaults.
 */
export function limitsFromOptions(o: { maxFileMb?: number; maxPixels?: number; maxInputPixels?: number }): DataLimits {
  const out: Partial<DataLimits> = {};
  if (o.maxFileMb !== undefined) {
    if (!(Number.isFinite(o.maxFileMb) && o.maxFileMb > 0)) {
      throw new GraftError('CONFIG', 'Invalid --max-file-mb', {
        expected: 'a positive number of MiB',
        found: String(o.maxFileMb),
      });
    }
    const bytes = Math.max(1, Math.round(o.maxFileMb * MiB));
    out.maxImageBytes = bytes;
    out.maxTextBytes = bytes;
    out.maxTableBytes = Math.max(bytes, DEFAULT_DATA_LIMITS.maxTableBytes);
  }
  if (o.maxPixels !== undefined) out.maxImagePixels = o.maxPixels;
  if (o.maxInputPixels !== undefined) out.maxInputPixels = o.maxInputPixels;
  return dataLimits(out);
}

/** The error for a table with more than `maxTableRows` records (CSV and JSON Lines alike). */
export function tooManyRowsError(file: string, maxTableRows: number): GraftError {
  return new GraftError('BAD_INPUT', 'The data set table has too many rows', {
    file,
    expected: `at most ${maxTableRows} rows`,
    found: `more than ${maxTableRows}`,
    fix: 'split the table, or raise the limit (maxTableRows)',
  });
}

/** 2 GiB, 1.5 MiB, 300 KiB, 12 bytes: sizes in messages. */
export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${+(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** 67.1 megapixels, 4.2 megapixels, 1200 pixels. */
export function formatPixels(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`;
}
