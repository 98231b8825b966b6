import type { DataLimits } from '../data/limits.js';
import { extname, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { ResizeMode } from '../data/preprocessing.js';
import type { SessionOptions } from '../runtime/session.js';
import type { BadFile } from '../report/run-folder.js';
import type { ExtractProgress } from '../transfer/extract.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { writeFileAtomic } from '../node/atomic.js';
import { autoResize, featureCacheDir, chooseBackbone, withBackboneResize } from './backbone.js';
import { badFilesOf, scanAndSplitImages } from './data.js';
import { extractImageFeatures } from './features.js';

export type EmbeddingFormat = 'npy' | 'jsonl' | 'csv';
export const EMBEDDING_FORMATS: readonly EmbeddingFormat[] = ['npy', 'jsonl', 'csv'];

export interface EmbedOptions extends SourceSettings {
  data: string;
  /** output file; its extension picks the format unless `format` is given */
  out: string;
  format?: EmbeddingFormat;
  model?: string;
  cut?: string;
  /** as for training ('auto' by default), so train and embed share cached vectors */
  resize?: ResizeMode | 'auto';
  batchSize?: number;
  modelsFile?: string;
  session?: SessionOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onSourceEvent?: SourceEventListener;
  onProgress?: (p: ExtractProgress) => void;
  /** caps on the files read, the images decoded and the model input */
  limits?: DataLimits;
}

export interface EmbedResult {
  out: string;
  /** for npy: the row index (file, label, split per row) written beside the matrix */
  index?: string;
  format: EmbeddingFormat;
  rows: number;
  dim: number;
  model: string;
  featureValue: string;
  computed: number;
  reused: number;
  skipped: BadFile[];
}

/**
 * Writes one feature vector per image of a data set, for users' own tools: `.npy` (float32 [N, dim],
 * with a JSON Lines row index beside it), `.jsonl` (file, label, split, embedding per line) or `.csv`
 * (file, label, split, f0..). Vectors come from and go to the same feature cache `graft train` uses.
 */
export async function embedImages(opts: EmbedOptions): Promise<EmbedResult> {
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const format = opts.format ?? formatFromExtension(out);
  const ds = await scanAndSplitImages(resolve(cwd, opts.data), { minClasses: 1, limits: opts.limits });
  const loaded = await chooseBackbone(opts, cwd);
  const resize = opts.resize ?? 'auto';
  const backbone = withBackboneResize(loaded, resize === 'auto' ? autoResize(loaded, ds.items).resize : resize);
  const feats = await extractImageFeatures({
    backbone,
    images: ds.items.map((it) => ({ key: it.hash, input: it.path, label: it.id, size: it })),
    cacheDir: featureCacheDir({ cacheDir: opts.cacheDir, env: opts.env, cwd }),
    batchSize: opts.batchSize,
    session: opts.session,
    onProgress: opts.onProgress,
  });
  const rows = ds.items.flatMap((it, i) => {
    const v = feats.vectors[i];
    return v ? [{ file: it.id, label: it.label, split: it.split, v }] : [];
  });
  const dim = backbone.dim;
  const enc = new TextEncoder();
  let index: string | undefined;
  if (format === 'npy') {
    const m = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => m.set(r.v, i * dim));
    writeFileAtomic(out, [npyHeader([rows.length, dim]), new Uint8Array(m.buffer)]);
    index = `${out.replace(/\.npy$/i, '')}.rows.jsonl`;
    writeFileAtomic(
      index,
      enc.encode(rows.map((r) => JSON.stringify({ file: r.file, label: r.label, split: r.split })).join('\n') + '\n'),
    );
  } else if (format === 'jsonl') {
    const lines = rows.map((r) =>
      JSON.stringify({ file: r.file, label: r.label, split: r.split, embedding: Array.from(r.v) }),
    );
    writeFileAtomic(out, enc.encode(lines.join('\n') + '\n'));
  } else {
    const head = ['file', 'label', 'split', ...Array.from({ length: dim }, (_, j) => `f${j}`)].join(',');
    const lines = rows.map((r) =>
      [csvCell(r.file), csvCell(r.label), r.split, ...Array.from(r.v, (x) => String(x))].join(','),
    );
    writeFileAtomic(out, enc.encode([head, ...lines].join('\n') + '\n'));
  }
  const skipped = badFilesOf(ds.report.issues);
  for (const f of feats.failed) skipped.push({ path: f.label ?? f.key, reason: `decode-failed: ${f.error}` });
  return {
    out,
    ...(index ? { index } : {}),
    format,
    rows: rows.length,
    dim,
    model: backbone.name,
    featureValue: backbone.featureValue,
    computed: feats.computed,
    reused: feats.reused,
    skipped,
  };
}

function formatFromExtension(path: string): EmbeddingFormat {
  const ext = extname(path).slice(1).toLowerCase();
  if ((EMBEDDING_FORMATS as readonly string[]).includes(ext)) return ext as EmbeddingFormat;
  throw new GraftError('BAD_INPUT', 'Cannot tell the embedding file format from its name', {
    file: path,
    found: ext ? `.${ext}` : 'no extension',
    choices: EMBEDDING_FORMATS.map((f) => `.${f}`),
    fix: 'name the output file .npy, .jsonl or .csv (or pass --format)',
  });
}

/** NumPy .npy v1.0 header for a little-endian float32 C-order array, padded to 64 bytes. */
export function npyHeader(shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  const out = new Uint8Array(10 + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), 10);
  return out;
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
