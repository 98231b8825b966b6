// Node-only: raw-text predictions from a run folder or an exported .onnx file.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { type DataLimits, dataLimits } from '../data/limits.js';
import { readTable } from '../data/node/files.js';
import type { DatasetIssue } from '../data/report.js';
import type { Model } from '../onnx/graph.js';
import { loadOnnxFile } from '../node/onnx-file.js';
import type { SessionOptions } from '../runtime/session.js';
import { RUN_FILES } from '../report/run-folder.js';
import { TextClassifier, type TextPrediction, isTextClassifier } from '../transfer/text/classifier.js';
import { resolveModelPath } from './classifier.js';

/** The model file of a run folder, or the path itself when it is a file. */
export function textModelPath(runDirOrModel: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(runDirOrModel).isDirectory();
  } catch (e) {
    throw new GraftError('NOT_FOUND', 'No run folder or model file at this path', {
      file: runDirOrModel,
      expected: `a run folder written by graft train (holding ${RUN_FILES.model}) or an .onnx file`,
      fix: 'pass the folder graft train printed at the end of the run',
      cause: e,
    });
  }
  return isDir ? join(runDirOrModel, RUN_FILES.model) : runDirOrModel;
}

/** Whether a trained model reads text or images: what predict, eval and export dispatch on. */
export async function classifierKind(target: string, cwd = process.cwd()): Promise<'text' | 'image'> {
  return isTextClassifier(loadOnnxFile(resolveModelPath(target, cwd))) ? 'text' : 'image';
}

/** Opens a text classifier from a run folder, an .onnx path, or a model in memory. Dispose it when done. */
export async function openTextClassifier(
  runDirOrModel: string | Model,
  opts: { session?: SessionOptions; cwd?: string } = {},
): Promise<TextClassifier> {
  if (typeof runDirOrModel !== 'string') return TextClassifier.fromModel(runDirOrModel, opts);
  const file = textModelPath(resolve(opts.cwd ?? '.', runDirOrModel));
  return TextClassifier.fromModel(loadOnnxFile(file), { ...opts, file });
}

/**
 * Classifies raw texts with a text classifier trained by `graft train`: tokenized exactly as in training
 * (tokenizer settings, vocabulary or tokenizer.json travel in the model metadata), one prediction per text.
 */
export async function predictText(
  runDirOrModel: string | Model,
  texts: readonly string[],
  opts: { session?: SessionOptions; batchSize?: number } = {},
): Promise<TextPrediction[]> {
  const c = await openTextClassifier(runDirOrModel, opts);
  try {
    return await c.predict(texts, opts.batchSize);
  } finally {
    await c.dispose();
  }
}

export interface PredictTextsOptions {
  /** texts given directly (`--text`) */
  texts?: readonly string[];
  /** tables of texts (CSV/TSV/JSONL with a text column; a label column, if any, is ignored) */
  files?: readonly string[];
  /** the text column (default 'text') */
  textField?: string;
  top?: number;
  batchSize?: number;
  session?: SessionOptions;
  limits?: DataLimits;
  cwd?: string;
  onProgress?: (p: { done: number; total: number; rate: number; etaSeconds: number }) => void;
}

export interface TextPredictionRow {
  /** where the text came from: 'text #1' for --text, 'file:line' for tables */
  source: string;
  /** the start of the text, on one line */
  text: string;
  top: { label: string; probability: number }[];
}

/** `graft predict MODEL --text ... | texts.csv`: the top classes of each text. */
export async function predictTexts(
  model: string,
  opts: PredictTextsOptions,
): Promise<{ model: string; predictions: TextPredictionRow[] }> {
  const cwd = opts.cwd ?? process.cwd();
  const items: { source: string; text: string }[] = (opts.texts ?? []).map((text, i) => ({
    source: `text #${i + 1}`,
    text,
  }));
  for (const f of opts.files ?? []) items.push(...(await readTexts(resolve(cwd, f), opts.textField, opts.limits)));
  if (items.length === 0) {
    throw new GraftError('BAD_INPUT', 'Nothing to classify', {
      expected: '--text "..." or a table of texts (CSV/TSV/JSONL with a text column)',
      found: 'no texts',
      fix: 'run e.g. `graft predict model.onnx --text "great value, would buy again"`',
    });
  }
  const path = textModelPath(resolve(cwd, model));
  const c = await openTextClassifier(path, { session: opts.session });
  try {
    const k = Math.min(opts.top ?? 3, c.labels.length);
    const started = performance.now();
    const bs = opts.batchSize ?? 64;
    const predictions: TextPredictionRow[] = [];
    for (let at = 0; at < items.length; at += bs) {
      const part = items.slice(at, at + bs);
      const preds = await c.predict(
        part.map((it) => it.text),
        bs,
      );
      preds.forEach((p, i) => {
        const order = p.probabilities.map((_, j) => j).sort((a, b) => p.probabilities[b]! - p.probabilities[a]!);
        predictions.push({
          source: part[i]!.source,
          text: oneLine(part[i]!.text),
          top: order.slice(0, k).map((j) => ({ label: c.labels[j]!, probability: p.probabilities[j]! })),
        });
      });
      const secs = (performance.now() - started) / 1000;
      const rate = predictions.length / Math.max(secs, 1e-9);
      opts.onProgress?.({
        done: predictions.length,
        total: items.length,
        rate,
        etaSeconds: (items.length - predictions.length) / rate,
      });
    }
    return { model: path, predictions };
  } finally {
    await c.dispose();
  }
}

/** The texts of a table, with 'file:line' sources; rows without text are refused by line number. */
async function readTexts(
  file: string,
  textField = 'text',
  limits?: DataLimits,
): Promise<{ source: string; text: string }[]> {
  const issues: DatasetIssue[] = [];
  const { records, lines } = await readTable(file, issues, file, dataLimits(limits));
  const out: { source: string; text: string }[] = [];
  records.forEach((r, i) => {
    const v = r !== null && typeof r === 'object' ? (r as Record<string, unknown>)[textField] : undefined;
    if (typeof v !== 'string' || v.trim() === '') {
      throw new GraftError('BAD_INPUT', `A row of the table has no '${textField}' text`, {
        file,
        value: `line ${lines[i]}`,
        expected: `a '${textField}' column with text in every row`,
        fix: `name the text column '${textField}' (or pass --text-field NAME)`,
      });
    }
    out.push({ source: `${file}:${lines[i]}`, text: v });
  });
  return out;
}

/** The start of a text on one line, for listings. */
export function oneLine(text: string, max = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
