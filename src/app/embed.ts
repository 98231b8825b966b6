import type { DataLimits } from '../data/limits.js';
import { extname, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { ResizeMode } from '../data/preprocessing.js';
import type { SessionOptions } from '../runtime/session.js';
import type { BadFile } from '../report/run-folder.js';
import type { ExtractProgress } from '../transfer/extract.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { writeFileAtomic } from '../node/atomic.js';
import { DEFAULT_IMAGE_BACKBONE, autoResize, featureCacheDir, chooseBackbone, withBackboneResize } from './backbone.js';
import { badFilesOf, scanAndSplitImages } from './data.js';
import {
  EMBED_SHARD_KIND,
  type EmbedShardMarker,
  describeFiles,
  embedShardDir,
  embedShardFile,
  embedShardMarkerFile,
  filesIntact,
  npyIndexFile,
  readEmbedShardMarker,
} from './embed-shards.js';
import { extractImageFeatures } from './features.js';
import { type Shard, fingerprint, resolveShard, shardRange, writeShardMarker } from './shard.js';

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
  /**
   * embed only this share of the data set ('i/N', or 'N' with i from the array-job variable), into
   * `<out>.shards/`; `graft merge <out>` joins the shares into the file one run would have written
   */
  shard?: string | Shard;
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
  /** with `shard`: which share this was, and whether it had already finished (then nothing was done) */
  shard?: Shard & { alreadyDone: boolean };
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
  const shard = opts.shard === undefined ? undefined : resolveShard(opts.shard, opts.env ?? process.env);
  const data = resolve(cwd, opts.data);
  // what decides a shard's output: a finished shard with the same settings is not run again
  const settings = fingerprint({
    data,
    model: opts.model ?? DEFAULT_IMAGE_BACKBONE,
    cut: opts.cut ?? null,
    resize: opts.resize ?? 'auto',
    format,
    limits: opts.limits ?? null,
  });
  if (shard) {
    const done = await finishedShard(out, shard, settings);
    if (done) return done;
  }
  const ds = await scanAndSplitImages(data, { minClasses: 1, limits: opts.limits });
  const loaded = await chooseBackbone(opts, cwd);
  const resize = opts.resize ?? 'auto';
  const backbone = withBackboneResize(loaded, resize === 'auto' ? autoResize(loaded, ds.items).resize : resize);
  // every shard scans the whole data set (duplicates and the auto resize are decided over all of it) and
  // embeds one contiguous block of its items, so the blocks joined in order are the rows of one run
  const [start, end] = shard ? shardRange(ds.items.length, shard) : [0, ds.items.length];
  const items = ds.items.slice(start, end);
  const feats = await extractImageFeatures({
    backbone,
    images: items.map((it) => ({ key: it.hash, input: it.path, label: it.id, size: it })),
    cacheDir: featureCacheDir({ cacheDir: opts.cacheDir, env: opts.env, cwd }),
    batchSize: opts.batchSize,
    session: opts.session,
    onProgress: opts.onProgress,
  });
  const rows = items.flatMap((it, i) => {
    const v = feats.vectors[i];
    return v ? [{ file: it.id, label: it.label, split: it.split, v }] : [];
  });
  const dim = backbone.dim;
  const target = shard ? embedShardFile(out, format, shard) : out;
  const index = writeEmbeddings(target, format, rows, dim);
  const scanSkipped = badFilesOf(ds.report.issues);
  const decodeFailed = feats.failed.map((f) => ({ path: f.label ?? f.key, reason: `decode-failed: ${f.error}` }));
  const result: EmbedResult = {
    out: target,
    ...(index ? { index } : {}),
    format,
    rows: rows.length,
    dim,
    model: backbone.name,
    featureValue: backbone.featureValue,
    computed: feats.computed,
    reused: feats.reused,
    skipped: [...scanSkipped, ...decodeFailed],
  };
  if (!shard) return result;
  const marker: EmbedShardMarker = {
    kind: EMBED_SHARD_KIND,
    version: 1,
    shard,
    settings,
    dataset: {
      items: ds.items.length,
      fingerprint: fingerprint(ds.items.map((it) => [it.id, it.label, it.split, it.hash])),
    },
    range: [start, end],
    format,
    rows: rows.length,
    dim,
    model: backbone.name,
    featureValue: backbone.featureValue,
    namespace: backbone.namespace,
    computed: feats.computed,
    reused: feats.reused,
    scanSkipped,
    decodeFailed,
    files: await describeFiles(index ? [target, index] : [target]),
  };
  // written last: a shard killed before this line has no marker and runs again (its vectors are cached)
  writeShardMarker(embedShardMarkerFile(out, shard), marker);
  return { ...result, shard: { ...shard, alreadyDone: false } };
}

/** The result of a shard that already finished with the same settings and whose files are intact. */
async function finishedShard(out: string, shard: Shard, settings: string): Promise<EmbedResult | undefined> {
  const m = readEmbedShardMarker(embedShardMarkerFile(out, shard));
  if (!m || m.settings !== settings || m.shard.count !== shard.count || m.shard.index !== shard.index) return;
  if (!(await filesIntact(embedShardDir(out), m.files))) return;
  const target = embedShardFile(out, m.format, shard);
  return {
    out: target,
    ...(m.format === 'npy' ? { index: npyIndexFile(target) } : {}),
    format: m.format,
    rows: m.rows,
    dim: m.dim,
    model: m.model,
    featureValue: m.featureValue,
    computed: 0,
    reused: 0,
    skipped: [...m.scanSkipped, ...m.decodeFailed],
    shard: { ...shard, alreadyDone: true },
  };
}

interface EmbeddingRow {
  file: string;
  label: string;
  split: string;
  v: Float32Array;
}

/** Writes the rows in `format`; for npy also the row index beside it, whose path is returned. */
function writeEmbeddings(out: string, format: EmbeddingFormat, rows: readonly EmbeddingRow[], dim: number) {
  const enc = new TextEncoder();
  if (format === 'npy') {
    const m = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => m.set(r.v, i * dim));
    writeFileAtomic(out, [npyHeader([rows.length, dim]), new Uint8Array(m.buffer)]);
    const index = npyIndexFile(out);
    writeFileAtomic(
      index,
      enc.encode(rows.map((r) => JSON.stringify({ file: r.file, label: r.label, split: r.split })).join('\n') + '\n'),
    );
    return index;
  } else if (format === 'jsonl') {
    const lines = rows.map((r) =>
      JSON.stringify({ file: r.file, label: r.label, split: r.split, embedding: Array.from(r.v) }),
    );
    writeFileAtomic(out, enc.encode(lines.join('\n') + '\n'));
  } else {
    writeFileAtomic(out, enc.encode([csvHeader(dim), ...rows.map(csvLine)].join('\n') + '\n'));
  }
  return undefined;
}

export function csvHeader(dim: number): string {
  return ['file', 'label', 'split', ...Array.from({ length: dim }, (_, j) => `f${j}`)].join(',');
}

function csvLine(r: EmbeddingRow): string {
  return [csvCell(r.file), csvCell(r.label), r.split, ...Array.from(r.v, (x) => String(x))].join(',');
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
