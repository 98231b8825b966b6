// Node-only: `graft embed` for text data: one feature vector per text from a text backbone.
import { extname, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { loadTextDataset } from '../data/node/text.js';
import { writeFileAtomic } from '../node/atomic.js';
import type { SessionOptions } from '../runtime/session.js';
import type { BadFile } from '../report/run-folder.js';
import { runInBatches } from '../transfer/text/features.js';
import { loadTextBackbone } from '../transfer/text/node/backbone.js';
import { textFeatureModel } from '../transfer/text/train.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { badFilesOf } from './data.js';
import { EMBEDDING_FORMATS, type EmbeddingFormat, npyHeader } from './embed.js';
import { DEFAULT_MAX_WORDS } from './train-text.js';
import { Session } from '../runtime/session.js';

export interface EmbedTextsOptions extends SourceSettings {
  /** a CSV/TSV/JSONL table with a text column (labels optional) or class folders of .txt files */
  data: string;
  out: string;
  format?: EmbeddingFormat;
  /** text backbone: zoo name or source (default glove.6b.100d) */
  model?: string;
  textField?: string;
  labelField?: string;
  /** tokens read per text (default: the model's, 128 for use_lite.en; 512 for word vectors) */
  maxTokens?: number;
  batchSize?: number;
  modelsFile?: string;
  session?: SessionOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onSourceEvent?: SourceEventListener;
  onProgress?: (p: { done: number; total: number; rate: number; etaSeconds: number }) => void;
  limits?: DataLimits;
}

export interface EmbedTextsResult {
  out: string;
  index?: string;
  format: EmbeddingFormat;
  rows: number;
  dim: number;
  model: string;
  seconds: number;
  textsPerSecond: number;
  tokensPerSecond: number;
  skipped: BadFile[];
}

/**
 * Writes one embedding per text: `.npy` (float32 [N, dim], with a JSON Lines row index beside it),
 * `.jsonl` (id, label, split, embedding) or `.csv` (id, label, split, f0..). Word vectors are pooled
 * (mean and max); a sentence encoder gives its sentence embedding (use_lite.en: 512-d, L2-normalised).
 */
export async function embedTexts(opts: EmbedTextsOptions): Promise<EmbedTextsResult> {
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const format = opts.format ?? formatOf(out);
  const ds = await loadTextDataset(resolve(cwd, opts.data), {
    fields: { text: opts.textField, label: opts.labelField },
    invalidUtf8: 'replace',
    minClasses: 1,
    limits: opts.limits,
  });
  const loaded = await loadTextBackbone({
    model: opts.model,
    maxWords: DEFAULT_MAX_WORDS,
    cacheDir: opts.cacheDir,
    offline: opts.offline,
    refresh: opts.refresh,
    modelsFile: opts.modelsFile,
    env: opts.env,
    cwd,
    onEvent: opts.onSourceEvent,
  });
  const maxTokens = opts.maxTokens ?? (loaded.backbone.kind === 'sentence-encoder' ? (loaded.maxTokens ?? 256) : 512);
  const fm = textFeatureModel(loaded.backbone, { tokenizer: { maxTokens } });
  const started = performance.now();
  const lists = ds.items.map((it) => fm.encoder.encode(it.text));
  const session = await Session.create(fm.model, opts.session);
  let f: { data: Float32Array; dim: number };
  try {
    f = await runInBatches({
      session,
      count: lists.length,
      lengthOf: (i) => lists[i]!.length,
      feeds: (idx) => fm.encoder.feeds(idx.map((i) => lists[i]!)),
      output: fm.features,
      batchSize: opts.batchSize ?? 32,
      onProgress: (done, total) => {
        const rate = done / Math.max((performance.now() - started) / 1000, 1e-9);
        opts.onProgress?.({ done, total, rate, etaSeconds: (total - done) / rate });
      },
    });
  } finally {
    await session.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const tokens = lists.reduce((a, l) => a + l.length, 0);
  const rows = ds.items.map((it) => ({ id: it.id, label: it.label, split: it.split }));
  const dim = f.dim;
  const enc = new TextEncoder();
  let index: string | undefined;
  if (format === 'npy') {
    writeFileAtomic(out, [
      npyHeader([rows.length, dim]),
      new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength),
    ]);
    index = `${out.replace(/\.npy$/i, '')}.rows.jsonl`;
    writeFileAtomic(index, enc.encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  } else if (format === 'jsonl') {
    const lines = rows.map((r, i) =>
      JSON.stringify({ ...r, embedding: Array.from(f.data.subarray(i * dim, (i + 1) * dim)) }),
    );
    writeFileAtomic(out, enc.encode(lines.join('\n') + '\n'));
  } else {
    const head = ['id', 'label', 'split', ...Array.from({ length: dim }, (_, j) => `f${j}`)].join(',');
    const lines = rows.map((r, i) =>
      [csvCell(r.id), csvCell(r.label), r.split, ...Array.from(f.data.subarray(i * dim, (i + 1) * dim), String)].join(
        ',',
      ),
    );
    writeFileAtomic(out, enc.encode([head, ...lines].join('\n') + '\n'));
  }
  return {
    out,
    ...(index ? { index } : {}),
    format,
    rows: rows.length,
    dim,
    model: loaded.name,
    seconds,
    textsPerSecond: rows.length / Math.max(seconds, 1e-9),
    tokensPerSecond: tokens / Math.max(seconds, 1e-9),
    skipped: badFilesOf(ds.report.issues),
  };
}

function formatOf(path: string): EmbeddingFormat {
  const ext = extname(path).slice(1).toLowerCase();
  if ((EMBEDDING_FORMATS as readonly string[]).includes(ext)) return ext as EmbeddingFormat;
  throw new GraftError('BAD_INPUT', 'Cannot tell the embedding file format from its name', {
    file: path,
    found: ext ? `.${ext}` : 'no extension',
    choices: EMBEDDING_FORMATS.map((f) => `.${f}`),
    fix: 'name the output file .npy, .jsonl or .csv (or pass --format)',
  });
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
