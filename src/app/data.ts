import { extname } from 'node:path';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { carveMissingSplits, countItems } from '../data/dataset.js';
import { statKind } from '../data/node/files.js';
import { type ImageDataset, type ImageItem, scanImages } from '../data/node/images.js';
import { readHead } from '../data/node/read.js';
import { type DatasetIssue, type DatasetReport, type Split, summariseIssues } from '../data/report.js';
import type { BadFile } from '../report/run-folder.js';
import type { DataKind } from '../transfer/strategies/index.js';

export interface SplitImagesOptions {
  /** fraction of each class's training images held out for validation when the data has no val split */
  valSplit?: number;
  /** the same for a test split (default 0: none unless the data has one) */
  testSplit?: number;
  seed?: number;
  /** fewer usable classes than this is an error (default 2; 1 for embedding) */
  minClasses?: number;
  /** caps on what the scan reads (file sizes, table rows) */
  limits?: DataLimits;
  onIssue?: (issue: DatasetIssue) => void;
}

/**
 * Scans an image data set and makes sure it has the splits asked for: a val (and test) split the layout
 * does not provide is carved from the training images, stratified and seeded, so the same data and seed
 * always give the same split. Counts in the report are updated to the final splits.
 */
export async function scanAndSplitImages(source: string, opts: SplitImagesOptions = {}): Promise<ImageDataset> {
  const ds = await scanImages(source, { onIssue: opts.onIssue, minClasses: opts.minClasses, limits: opts.limits });
  carveMissingSplits(ds, opts);
  return ds;
}

/** What scanning a run's data tells the run's listener: the stage, each bad file, then the report. */
export type ScanEvent =
  | { type: 'stage'; message: string }
  | { type: 'issue'; issue: DatasetIssue }
  | { type: 'dataset'; report: DatasetReport };

/** Scans and splits a training run's images (val 10%, no test split unless the data has one by default), telling `emit`. */
export async function scanRunImages(
  data: string,
  opts: { valSplit?: number; testSplit?: number; seed: number; limits?: DataLimits },
  emit: (e: ScanEvent) => void,
): Promise<ImageDataset> {
  emit({ type: 'stage', message: `scanning ${data}` });
  const ds = await scanAndSplitImages(data, {
    valSplit: opts.valSplit ?? 0.1,
    testSplit: opts.testSplit ?? 0,
    seed: opts.seed,
    limits: opts.limits,
    onIssue: (issue) => emit({ type: 'issue', issue }),
  });
  emit({ type: 'dataset', report: ds.report });
  return ds;
}

/** The issues that left files out, flattened to one entry per file, as run.json lists them. */
export function badFilesOf(issues: readonly DatasetIssue[]): BadFile[] {
  const out: BadFile[] = [];
  for (const i of issues) {
    if (!i.skipped) continue;
    for (const f of i.files) out.push({ path: f, reason: `${i.kind}: ${i.detail}` });
  }
  return out;
}

/** Per-class counts by split, for run.json and the console. */
export function countsByClass(items: readonly ImageItem[], classes: readonly string[]) {
  return countItems(items, classes).perClass;
}

/** One line per class: name and train/val/test counts, with a warning mark for small classes. */
export function classCountLines(
  names: readonly string[],
  perClass: Readonly<Record<string, Record<Split, number>>>,
): string[] {
  const w = Math.max(5, ...names.map((n) => n.length));
  const lines = [`  ${'class'.padEnd(w)}  train    val   test`];
  const trainCounts = names.map((n) => perClass[n]?.train ?? 0);
  const max = Math.max(...trainCounts);
  for (const n of names) {
    const c = perClass[n] ?? { train: 0, val: 0, test: 0 };
    const flag = c.train * 5 < max ? '  (under a fifth of the largest class: consider --class-weight balanced)' : '';
    lines.push(
      `  ${n.padEnd(w)}  ${String(c.train).padStart(5)}  ${String(c.val).padStart(5)}  ${String(c.test).padStart(5)}${flag}`,
    );
  }
  return lines;
}

export function issueLines(issues: readonly DatasetIssue[]): string[] {
  return summariseIssues(issues, 5);
}

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md']);
const TABLE_EXTENSIONS = new Set(['.csv', '.tsv', '.jsonl', '.ndjson']);

/**
 * Whether a data argument holds text or images: a table with a text column (`textField`, default 'text')
 * and no path column, or class folders of .txt files, is text; everything else is treated as images.
 */
export async function detectDataKind(source: string, textField = 'text'): Promise<DataKind> {
  const kind = await statKind(source, 'Data set');
  if (kind === 'file') {
    const ext = extname(source).toLowerCase();
    if (!TABLE_EXTENSIONS.has(ext)) return 'image';
    const read = await readHead(source, 64 * 1024);
    if ('refused' in read) {
      throw new GraftError('BAD_INPUT', 'Cannot read the data set', {
        file: source,
        found: read.refused.detail,
        fix: 'pass a readable folder of class folders, or a CSV/JSONL table',
      });
    }
    const head = read.bytes.toString('utf8');
    const firstLine = head.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
    let fields: string[];
    if (ext === '.jsonl' || ext === '.ndjson') {
      try {
        fields = Object.keys(JSON.parse(firstLine) as Record<string, unknown>);
      } catch {
        return 'image';
      }
    } else
      fields = firstLine.split(ext === '.tsv' ? '\t' : ',').map((f) => f.trim().replace(/^"|"$/g, '').toLowerCase());
    const lower = fields.map((f) => f.toLowerCase());
    return lower.includes(textField.toLowerCase()) && !lower.includes('path') ? 'text' : 'image';
  }
  let text = 0;
  let other = 0;
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (depth > 3 || text + other > 200) return;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) await visit(join(dir, e.name), depth + 1);
      else if (TEXT_EXTENSIONS.has(extname(e.name).toLowerCase())) text++;
      else other++;
    }
  };
  await visit(source, 0);
  return text > other ? 'text' : 'image';
}
