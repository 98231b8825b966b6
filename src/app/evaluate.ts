import type { DataLimits } from '../data/limits.js';
import { resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { LabelMap } from '../data/labels.js';
import { scanImages } from '../data/node/images.js';
import { ImageLoader } from '../data/node/loader.js';
import type { DatasetIssue, Split } from '../data/report.js';
import { type ClassificationReport, classificationReport } from '../eval/index.js';
import type { SessionOptions } from '../runtime/session.js';
import type { BadFile } from '../report/run-folder.js';
import { classifierLogits, loadClassifier } from './classifier.js';
import { badFilesOf } from './data.js';

export type EvalSplit = Split | 'all';

/** The items of the split asked for (default: test when the data has one, else all); none is an error. */
export function evalItems<T extends { split: Split }>(
  items: readonly T[],
  asked: EvalSplit | undefined,
  data: string,
  noun: string,
): { split: EvalSplit; chosen: T[] } {
  const split: EvalSplit = asked ?? (items.some((it) => it.split === 'test') ? 'test' : 'all');
  const chosen = items.filter((it) => split === 'all' || it.split === split);
  if (chosen.length === 0) {
    throw new GraftError('BAD_INPUT', `The data set has no ${split} ${noun}`, {
      file: data,
      found: `splits: ${[...new Set(items.map((it) => it.split))].join(', ')}`,
      fix: 'use --split all (or a split the data has)',
    });
  }
  return { split, chosen };
}

/**
 * The items whose label is one of the model's classes; the others are reported, one issue per unknown label,
 * and none left is an error naming the model's classes (`what` says how the data names them).
 */
export function scorableItems<T extends { label: string; id: string }>(
  chosen: readonly T[],
  labels: LabelMap,
  issues: DatasetIssue[],
  data: string,
  what: { expected: string; fix: string },
): T[] {
  const unknown = new Map<string, string[]>();
  for (const it of chosen) {
    if (labels.has(it.label)) continue;
    const files = unknown.get(it.label) ?? [];
    if (!files.length) unknown.set(it.label, files);
    files.push(it.id);
  }
  for (const [label, files] of unknown) {
    issues.push({ kind: 'unknown-class', files, skipped: true, detail: `the model has no class '${label}'`, label });
  }
  const known = chosen.filter((it) => labels.has(it.label));
  if (known.length === 0) {
    throw new GraftError('BAD_INPUT', 'None of the classes in the data set is a class of the model', {
      file: data,
      expected: `${what.expected}: ${labels.names.slice(0, 20).join(', ')}`,
      found: [...new Set(chosen.map((it) => it.label))].slice(0, 20).join(', '),
      fix: what.fix,
    });
  }
  return known;
}

export interface EvaluateOptions {
  /** run folder or model.onnx */
  model: string;
  data: string;
  /** which images of DATA to score (default: its test split when it has one, else all of it) */
  split?: EvalSplit;
  batchSize?: number;
  session?: SessionOptions;
  cwd?: string;
  onProgress?: (p: { done: number; total: number; rate: number; etaSeconds: number }) => void;
  /** caps on the files read, the images decoded and the model input */
  limits?: DataLimits;
}

export interface EvaluateResult {
  model: string;
  data: string;
  split: EvalSplit;
  report: ClassificationReport;
  /** files left out: unreadable, undecodable, or of a class the model does not know */
  skipped: BadFile[];
  /** example names in report row order, for mapping top losses to files */
  files: string[];
  seconds: number;
  imagesPerSecond: number;
}

/**
 * Scores a grafted model on a labelled image folder (or manifest) with the full model: decode,
 * preprocess as the model's metadata says, run the ONNX graph. Classes are matched by name, so the
 * folder need not hold every class the model knows.
 */
export async function evaluateClassifier(opts: EvaluateOptions): Promise<EvaluateResult> {
  const started = performance.now();
  const classifier = await loadClassifier(opts.model, { session: opts.session, cwd: opts.cwd, limits: opts.limits });
  try {
    const labels = new LabelMap(classifier.info.labels);
    const data = resolve(opts.cwd ?? '.', opts.data);
    const issues: DatasetIssue[] = [];
    // the model's classes decide what is scorable, so the scan must not drop classes on its own account
    const ds = await scanImages(data, { minClasses: 1, limits: opts.limits });
    issues.push(...ds.report.issues);
    const { split, chosen } = evalItems(ds.items, opts.split, data, 'images');
    const known = scorableItems(chosen, labels, issues, data, {
      expected: "folders named after the model's classes",
      fix: 'evaluate on data laid out like the training data (one folder per class)',
    });
    const loader = new ImageLoader(known, {
      preprocessing: classifier.info.preprocessing,
      labels,
      batchSize: opts.batchSize ?? 32,
      limits: opts.limits,
    });
    const C = labels.size;
    const logits: number[] = [];
    const y: number[] = [];
    const files: string[] = [];
    const t0 = performance.now();
    for await (const b of loader.epoch()) {
      const n = b.labels.length;
      const z = await classifierLogits(classifier, b.x, n);
      for (let i = 0; i < n * C; i++) logits.push(z[i]!);
      for (let i = 0; i < n; i++) y.push(b.labels[i]!);
      files.push(...b.items.map((it) => it.id));
      const secs = (performance.now() - t0) / 1000;
      const rate = files.length / Math.max(secs, 1e-9);
      opts.onProgress?.({
        done: files.length,
        total: known.length,
        rate,
        etaSeconds: (known.length - files.length) / rate,
      });
    }
    issues.push(...loader.issues);
    if (files.length === 0) {
      throw new GraftError('BAD_INPUT', 'No image of the data set could be decoded', {
        file: data,
        found: badFilesOf(issues)
          .slice(0, 5)
          .map((b) => `${b.path}: ${b.reason}`)
          .join('; '),
        fix: 'check the image files',
      });
    }
    const report = classificationReport({
      scores: { data: Float64Array.from(logits), numClasses: C },
      kind: 'logits',
      labels: Int32Array.from(y),
      labelNames: labels.names,
      topLosses: 10,
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      model: classifier.path,
      data,
      split,
      report,
      skipped: badFilesOf(issues),
      files,
      seconds,
      imagesPerSecond: files.length / ((performance.now() - t0) / 1000),
    };
  } finally {
    await classifier.dispose();
  }
}
