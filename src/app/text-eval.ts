// Node-only: scoring a trained text classifier on a labelled text table or folder.
import { resolve } from 'node:path';
import type { DataLimits } from '../data/limits.js';
import { LabelMap } from '../data/labels.js';
import { loadTextDataset } from '../data/node/text.js';
import type { DatasetIssue } from '../data/report.js';
import { classificationReport } from '../eval/index.js';
import type { SessionOptions } from '../runtime/session.js';
import { badFilesOf } from './data.js';
import { type EvalSplit, type EvaluateResult, evalItems, scorableItems } from './evaluate.js';
import { oneLine, openTextClassifier, textModelPath } from './text-predict.js';

export interface EvaluateTextOptions {
  /** run folder or model.onnx of a text classifier */
  model: string;
  /** a CSV/TSV/JSONL table of text,label[,split], or class folders of .txt files */
  data: string;
  split?: EvalSplit;
  textField?: string;
  labelField?: string;
  batchSize?: number;
  session?: SessionOptions;
  limits?: DataLimits;
  cwd?: string;
  onProgress?: (p: { done: number; total: number; rate: number; etaSeconds: number }) => void;
}

/** The image result, with texts: `files` are the example ids (file:line), `texts` their starts. */
export interface EvaluateTextResult extends Omit<EvaluateResult, 'imagesPerSecond'> {
  texts: string[];
  textsPerSecond: number;
}

/**
 * `graft eval MODEL DATA` for a text classifier: reads the labelled texts (its test split when the data
 * has one, else all), runs the exported model itself (tokenizer from its metadata) and reports accuracy,
 * per-class scores, confusion, calibration and the worst examples. Classes are matched by name.
 */
export async function evaluateTextClassifier(opts: EvaluateTextOptions): Promise<EvaluateTextResult> {
  const started = performance.now();
  const cwd = opts.cwd ?? process.cwd();
  const path = textModelPath(resolve(cwd, opts.model));
  const data = resolve(cwd, opts.data);
  const c = await openTextClassifier(path, { session: opts.session });
  try {
    const labels = new LabelMap(c.labels);
    const issues: DatasetIssue[] = [];
    const ds = await loadTextDataset(data, {
      fields: { text: opts.textField, label: opts.labelField },
      invalidUtf8: 'replace',
      minClasses: 1,
      limits: opts.limits,
    });
    issues.push(...ds.report.issues);
    const { split, chosen } = evalItems(ds.items, opts.split, data, 'texts');
    const known = scorableItems(chosen, labels, issues, data, {
      expected: "labels among the model's classes",
      fix: 'evaluate on data labelled like the training data',
    });
    const C = labels.size;
    const bs = opts.batchSize ?? 64;
    const logits = new Float64Array(known.length * C);
    const t0 = performance.now();
    for (let at = 0; at < known.length; at += bs) {
      const part = known.slice(at, at + bs);
      const z = await c.logits(
        part.map((it) => it.text),
        bs,
      );
      logits.set(z, at * C);
      const done = at + part.length;
      const rate = done / Math.max((performance.now() - t0) / 1000, 1e-9);
      opts.onProgress?.({ done, total: known.length, rate, etaSeconds: (known.length - done) / rate });
    }
    const report = classificationReport({
      scores: { data: logits, numClasses: C },
      kind: 'logits',
      labels: labels.encode(known.map((it) => it.label)),
      labelNames: labels.names,
      topLosses: 10,
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      model: path,
      data,
      split,
      report,
      skipped: badFilesOf(issues),
      files: known.map((it) => it.id),
      texts: known.map((it) => oneLine(it.text)),
      seconds,
      textsPerSecond: known.length / Math.max((performance.now() - t0) / 1000, 1e-9),
    };
  } finally {
    await c.dispose();
  }
}
