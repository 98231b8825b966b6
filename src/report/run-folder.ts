/**
 * The run folder: what one `graft train` run leaves on disk, and what `graft report` reads.
 *
 * ```
 * RUN_DIR/
 *   run.json          RunInfo       what was trained, on what data, how long it took (required)
 *   history.jsonl     HistoryRow    one JSON object per line, one line per epoch, epoch 1 first (required;
 *                                   empty for heads fitted without gradient training, e.g. prototype/kNN)
 *   history.csv                     the same rows for spreadsheets (HISTORY_CSV_COLUMNS; not read back)
 *   metrics.json      RunMetrics    eval/ ClassificationReport of the val and test splits + calibration
 *                                   (required)
 *   labels.json       string[]      class names in class-index order; equals run.json data.classes
 *                                   (required)
 *   top-losses.json   TopLossEntry[] worst examples first (optional)
 *   model.onnx                      the exported model; the report reads only its size and metadata
 *                                   (optional)
 * ```
 *
 * All JSON is UTF-8, finite numbers only (null where a value is undefined, as in ClassificationReport).
 * `writeRunFolder` (report/node) writes exactly this; `readRunFolder` checks it and names the first bad
 * field of a damaged file. This module is browser-safe: types and parsers of file contents only.
 */
import type { ClassificationReport, ReliabilityBin } from '../eval/index.js';
import { HISTORY_CSV_COLUMNS, historyCsvLine } from '../train/callbacks/history-logger.js';
import type { EpochRecord } from '../train/types.js';
import {
  type Json,
  type Where,
  array,
  invalid,
  join,
  json,
  nullableNumber,
  number,
  object,
  oneOf,
  optionalNumber,
  optionalString,
  parseJsonText,
  string,
} from './validate.js';

/** Bumped when a field changes meaning or a required field is added. */
export const RUN_FOLDER_FORMAT = 1;

export const RUN_FILES = {
  run: 'run.json',
  history: 'history.jsonl',
  historyCsv: 'history.csv',
  metrics: 'metrics.json',
  labels: 'labels.json',
  topLosses: 'top-losses.json',
  model: 'model.onnx',
} as const;

export type Split = 'train' | 'val' | 'test';
export type EvalSplit = 'val' | 'test';

export interface RunInfo {
  format: typeof RUN_FOLDER_FORMAT;
  graftVersion: string;
  /** ISO 8601 time the run started, e.g. "2025-05-01T12:00:00.000Z" */
  createdAt: string;
  /** zoo name (e.g. "mobilenet_v2.imagenet") or the path of the ONNX model that was the starting point */
  model: string;
  /** transfer strategy name, e.g. "feature-extract", "fine-tune", "gradual-unfreeze", "lp-ft" */
  strategy: string;
  /** the head as the user wrote it, e.g. "linear", "mlp:256", "prototype", "knn:5" */
  head: string;
  config: RunConfig;
  data: RunData;
  timing: RunTiming;
  /** where training ran, e.g. "cpu (2 threads)", "webgpu", "cuda:0" */
  device: string;
  /**
   * softmax temperature stored in the exported model, when the run chose one (1 when it kept the model's
   * own probabilities; metrics.json calibration.fit says why)
   */
  temperature?: number;
  /** which epoch (or phase, or candidate) the saved model comes from, and why */
  kept?: KeptModel;
}

/** Where the saved model comes from: the run's choice of epoch, phase or candidate, in words and numbers. */
export interface KeptModel {
  /** the epoch whose parameters were saved, numbered as in history.jsonl */
  epoch?: number;
  /** epochs the run trained in all */
  epochs?: number;
  /** the phase the saved model comes from (fine-tuning), e.g. 'probe' or 'fine-tune' */
  phase?: string;
  /** one sentence: why this one */
  reason: string;
  /** the strategy `auto` kept, with how it judged the candidates */
  selection?: {
    method: 'validation' | 'cross-validation';
    examples: number;
    folds?: number;
    candidates: { name: string; accuracy: number; logLoss: number }[];
  };
}

/** Hyper-parameters. The named ones are always present; any others the strategy used are listed too. */
export interface RunConfig {
  /** 0 for heads fitted in closed form */
  epochs: number;
  /** base learning rate; absent when there was no gradient training */
  lr?: number;
  batch: number;
  seed: number;
  [key: string]: Json | undefined;
}

export interface SplitCounts {
  train: number;
  val: number;
  test: number;
}

export interface BadFile {
  /** as in the data set report: relative to the data root where possible; "file:line" for rows */
  path: string;
  reason: string;
}

export interface RunData {
  kind: 'image' | 'text';
  /** the data set (folder, manifest or CSV); write it absolute, as relative paths are taken from the run folder */
  source?: string;
  /**
   * folder that relative paths in top-losses.json are resolved against: absolute, or relative to the
   * run folder (defaults to `source`, or its folder when it is a file)
   */
  root?: string;
  /** class names in class-index order */
  classes: string[];
  /** usable examples per class name and split */
  counts: Record<string, SplitCounts>;
  /** files left out of the data set, possibly only the first few (see badFilesTotal) */
  badFiles: BadFile[];
  /** how many were left out in all, when `badFiles` lists only some of them */
  badFilesTotal?: number;
}

export interface RunTiming {
  /** wall time of the whole command */
  totalSeconds: number;
  /** time spent computing cached backbone features, when the strategy caches them */
  featureSeconds?: number;
  /** time in the training loop (all epochs) */
  trainSeconds: number;
  throughput: {
    /** images through the backbone per second: feature extraction, or forward passes */
    imagesPerSecond?: number;
    /** texts through the text backbone per second (text runs; older text runs wrote imagesPerSecond) */
    textsPerSecond?: number;
    /** training examples per second of trainSeconds, over all epochs */
    trainExamplesPerSecond?: number;
  };
}

/**
 * One epoch of training; the trainer's EpochRecord is one. Epochs are counted from 1. `steps` is optional
 * here because parseHistory accepts history.jsonl rows without it.
 */
export interface HistoryRow extends Omit<EpochRecord, 'steps'> {
  /** optimizer steps so far, over all epochs */
  steps?: number;
  /** fine-tuning: the phase the epoch belongs to (e.g. 'probe', 'fine-tune') */
  phase?: string;
}

export { HISTORY_CSV_COLUMNS };

export interface CalibrationSummary {
  /**
   * the examples the ECE values and bins were measured on: the validation split, or (without one) the
   * out-of-fold predictions the temperature was chosen on ('test' in older run folders)
   */
  split: EvalSplit | 'out-of-fold';
  /** the temperature in use: the fitted one when kept, else 1 */
  temperature: number;
  eceBefore: number;
  eceAfter: number;
  /** reliability bins on `split` without and with the temperature, for the diagram */
  binsBefore?: ReliabilityBin[];
  binsAfter?: ReliabilityBin[];
  /** how the temperature was chosen (absent in older run folders, which always fitted one on val) */
  fit?: TemperatureFitSummary;
  /** ECE of the test split at T = 1 and at the temperature in use */
  test?: { eceBefore: number; eceAfter: number };
}

export interface TemperatureFitSummary {
  /** the held-out predictions it was chosen on */
  method: 'validation' | 'out-of-fold';
  examples: number;
  /** out-of-fold: folds of the cross-validation that made the predictions */
  cvFolds?: number;
  /** whether a fitted temperature is in use (false: T = 1) */
  kept: boolean;
  outcome: 'fitted' | 'too-few' | 'at-bound' | 'no-gain';
  /** the regularised fit, when one was made */
  fitted?: number;
  /** folds of the check that the temperature lowers held-out log loss (0: no check ran) */
  checkFolds: number;
  /** mean log loss at T = 1, and cross-validated with fitted temperatures */
  nllBefore: number;
  nllAfter: number;
  reason: string;
}

export interface RunMetrics {
  val?: ClassificationReport;
  test?: ClassificationReport;
  /** absent when there was no validation split to fit a temperature on */
  calibration?: CalibrationSummary;
}

export interface TopLossEntry {
  /** image or text file (or "file:line"), absolute or relative to run.json data.root */
  file: string;
  actual: string;
  predicted: string;
  /** probability the model gave its predicted class */
  prob: number;
  /** probability the model gave the true class */
  actualProb?: number;
  loss: number;
  split?: EvalSplit;
  /** text runs: the example's text (or its start), shown instead of a thumbnail */
  text?: string;
}

/** Everything in a run folder, as the HTML report needs it. */
export interface RunFolder {
  run: RunInfo;
  history: HistoryRow[];
  metrics: RunMetrics;
  labels: string[];
  topLosses: TopLossView[];
  model?: ModelFileInfo;
  /** the folder it was read from, when read from disk */
  dir?: string;
  /** things the report should mention: missing optional files, images that could not be thumbnailed */
  warnings: string[];
}

export interface TopLossView extends TopLossEntry {
  /** small inline image (data: URI) for image runs */
  thumbnail?: string;
}

export interface ModelFileInfo {
  bytes: number;
  producer?: string;
  opset?: number;
  nodes?: number;
  /** number of initializer elements */
  parameters?: number;
  metadata: Record<string, string>;
  /** why the file could not be decoded, when it could not */
  error?: string;
}

const WRITER = 'graft train';
const where = (file: string): Where => ({ file, writer: WRITER });

export function parseRunInfo(text: string, file: string = RUN_FILES.run): RunInfo {
  const w = where(file);
  const o = object(parseJsonText(text, w), w, '');
  if (o.format !== RUN_FOLDER_FORMAT) {
    invalid(
      w,
      'format',
      `${RUN_FOLDER_FORMAT} (this Graft reads run folders of format ${RUN_FOLDER_FORMAT})`,
      o.format,
    );
  }
  const config = object(o.config, w, 'config');
  const parsedConfig: RunConfig = {
    ...(json(config, w, 'config') as Record<string, Json>),
    epochs: number(config.epochs, w, 'config.epochs', { min: 0, integer: true }),
    batch: number(config.batch, w, 'config.batch', { min: 1, integer: true }),
    seed: number(config.seed, w, 'config.seed', { integer: true }),
  };
  const lr = optionalNumber(config.lr, w, 'config.lr', { min: 0 });
  if (lr === undefined) delete parsedConfig.lr;
  else parsedConfig.lr = lr;

  const data = object(o.data, w, 'data');
  const classes = array(data.classes, w, 'data.classes', (v, p) => string(v, w, p));
  if (classes.length === 0) invalid(w, 'data.classes', 'at least one class name', data.classes);
  const countsObj = object(data.counts, w, 'data.counts');
  const counts: Record<string, SplitCounts> = {};
  for (const c of classes) {
    const p = join('data.counts', c);
    const row = object(countsObj[c], w, p);
    const n = (s: Split): number => number(row[s], w, join(p, s), { min: 0, integer: true });
    counts[c] = { train: n('train'), val: n('val'), test: n('test') };
  }
  const extra = Object.keys(countsObj).filter((k) => !classes.includes(k));
  if (extra.length > 0) invalid(w, 'data.counts', `only the classes in data.classes`, extra.join(', '));
  const badFiles = array(data.badFiles, w, 'data.badFiles', (v, p) => {
    const b = object(v, w, p);
    return { path: string(b.path, w, join(p, 'path')), reason: string(b.reason, w, join(p, 'reason')) };
  });
  const runData: RunData = {
    kind: oneOf(data.kind, w, 'data.kind', ['image', 'text'] as const),
    classes,
    counts,
    badFiles,
  };
  const source = optionalString(data.source, w, 'data.source');
  if (source !== undefined) runData.source = source;
  const root = optionalString(data.root, w, 'data.root');
  if (root !== undefined) runData.root = root;
  const badFilesTotal = optionalNumber(data.badFilesTotal, w, 'data.badFilesTotal', {
    min: badFiles.length,
    integer: true,
  });
  if (badFilesTotal !== undefined) runData.badFilesTotal = badFilesTotal;

  const timing = object(o.timing, w, 'timing');
  const tp = object(timing.throughput, w, 'timing.throughput');
  const runTiming: RunTiming = {
    totalSeconds: number(timing.totalSeconds, w, 'timing.totalSeconds', { min: 0 }),
    trainSeconds: number(timing.trainSeconds, w, 'timing.trainSeconds', { min: 0 }),
    throughput: {},
  };
  const featureSeconds = optionalNumber(timing.featureSeconds, w, 'timing.featureSeconds', { min: 0 });
  if (featureSeconds !== undefined) runTiming.featureSeconds = featureSeconds;
  const ips = optionalNumber(tp.imagesPerSecond, w, 'timing.throughput.imagesPerSecond', { min: 0 });
  if (ips !== undefined) runTiming.throughput.imagesPerSecond = ips;
  const txps = optionalNumber(tp.textsPerSecond, w, 'timing.throughput.textsPerSecond', { min: 0 });
  if (txps !== undefined) runTiming.throughput.textsPerSecond = txps;
  const tps = optionalNumber(tp.trainExamplesPerSecond, w, 'timing.throughput.trainExamplesPerSecond', { min: 0 });
  if (tps !== undefined) runTiming.throughput.trainExamplesPerSecond = tps;

  const info: RunInfo = {
    format: RUN_FOLDER_FORMAT,
    graftVersion: string(o.graftVersion, w, 'graftVersion'),
    createdAt: string(o.createdAt, w, 'createdAt'),
    model: string(o.model, w, 'model'),
    strategy: string(o.strategy, w, 'strategy'),
    head: string(o.head, w, 'head'),
    config: parsedConfig,
    data: runData,
    timing: runTiming,
    device: string(o.device, w, 'device'),
  };
  const temperature = optionalNumber(o.temperature, w, 'temperature', { min: 0 });
  if (temperature !== undefined) {
    if (temperature === 0) invalid(w, 'temperature', 'a number > 0', temperature);
    info.temperature = temperature;
  }
  if (o.kept !== undefined) info.kept = parseKept(o.kept, w);
  return info;
}

function parseKept(v: unknown, w: Where): KeptModel {
  const o = object(v, w, 'kept');
  const kept: KeptModel = { reason: string(o.reason, w, 'kept.reason') };
  const epoch = optionalNumber(o.epoch, w, 'kept.epoch', { min: 1, integer: true });
  if (epoch !== undefined) kept.epoch = epoch;
  const epochs = optionalNumber(o.epochs, w, 'kept.epochs', { min: 0, integer: true });
  if (epochs !== undefined) kept.epochs = epochs;
  const phase = optionalString(o.phase, w, 'kept.phase');
  if (phase !== undefined) kept.phase = phase;
  if (o.selection !== undefined) {
    const sel = object(o.selection, w, 'kept.selection');
    const folds = optionalNumber(sel.folds, w, 'kept.selection.folds', { min: 2, integer: true });
    kept.selection = {
      method: oneOf(sel.method, w, 'kept.selection.method', ['validation', 'cross-validation'] as const),
      examples: number(sel.examples, w, 'kept.selection.examples', { min: 0, integer: true }),
      ...(folds !== undefined ? { folds } : {}),
      candidates: array(sel.candidates, w, 'kept.selection.candidates', (c, p) => {
        const x = object(c, w, p);
        return {
          name: string(x.name, w, join(p, 'name')),
          accuracy: number(x.accuracy, w, join(p, 'accuracy'), { min: 0, max: 1 }),
          logLoss: number(x.logLoss, w, join(p, 'logLoss'), { min: 0 }),
        };
      }),
    };
  }
  return kept;
}

/** history.jsonl: blank lines are ignored; anything else must be one HistoryRow per line. */
export function parseHistory(text: string, file: string = RUN_FILES.history): HistoryRow[] {
  const rows: HistoryRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const w = where(`${file}:${i + 1}`);
    const o = object(parseJsonText(line, w), w, '');
    const row: HistoryRow = {
      epoch: number(o.epoch, w, 'epoch', { min: 1, integer: true }),
      trainLoss: number(o.trainLoss, w, 'trainLoss'),
      lr: number(o.lr, w, 'lr', { min: 0 }),
      seconds: number(o.seconds, w, 'seconds', { min: 0 }),
    };
    for (const k of ['trainAcc', 'valAcc'] as const) {
      const v = optionalNumber(o[k], w, k, { min: 0, max: 1 });
      if (v !== undefined) row[k] = v;
    }
    const valLoss = optionalNumber(o.valLoss, w, 'valLoss');
    if (valLoss !== undefined) row.valLoss = valLoss;
    const steps = optionalNumber(o.steps, w, 'steps', { min: 0, integer: true });
    if (steps !== undefined) row.steps = steps;
    const phase = optionalString(o.phase, w, 'phase');
    if (phase !== undefined) row.phase = phase;
    const prev = rows[rows.length - 1];
    if (prev && row.epoch <= prev.epoch) invalid(w, 'epoch', `an epoch after ${prev.epoch} (rows in order)`, row.epoch);
    rows.push(row);
  }
  return rows;
}

/** The history as CSV with HISTORY_CSV_COLUMNS as header; empty cells where a value is absent. */
export function historyToCsv(rows: readonly HistoryRow[]): string {
  const lines = [HISTORY_CSV_COLUMNS.join(','), ...rows.map(historyCsvLine)];
  return lines.join('\n') + '\n';
}

/** history.jsonl text for the rows, one per line. */
export function historyToJsonl(rows: readonly HistoryRow[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}

export function parseLabels(text: string, file: string = RUN_FILES.labels): string[] {
  const w = where(file);
  const labels = array(parseJsonText(text, w), w, '', (v, p) => string(v, w, p));
  if (labels.length === 0) invalid(w, '', 'at least one class name', labels);
  return labels;
}

export function parseMetrics(text: string, labels: readonly string[], file: string = RUN_FILES.metrics): RunMetrics {
  const w = where(file);
  const o = object(parseJsonText(text, w), w, '');
  const out: RunMetrics = {};
  for (const split of ['val', 'test'] as const) {
    if (o[split] !== undefined) out[split] = checkReport(o[split], labels, w, split);
  }
  if (o.calibration !== undefined) {
    const c = object(o.calibration, w, 'calibration');
    const t = number(c.temperature, w, 'calibration.temperature', { min: 0 });
    if (t === 0) invalid(w, 'calibration.temperature', 'a number > 0', t);
    const cal: CalibrationSummary = {
      split: oneOf(c.split, w, 'calibration.split', ['val', 'test', 'out-of-fold'] as const),
      temperature: t,
      eceBefore: number(c.eceBefore, w, 'calibration.eceBefore', { min: 0, max: 1 }),
      eceAfter: number(c.eceAfter, w, 'calibration.eceAfter', { min: 0, max: 1 }),
    };
    if (c.binsBefore !== undefined) cal.binsBefore = checkBins(c.binsBefore, w, 'calibration.binsBefore');
    if (c.binsAfter !== undefined) cal.binsAfter = checkBins(c.binsAfter, w, 'calibration.binsAfter');
    if (c.fit !== undefined) {
      const f = object(c.fit, w, 'calibration.fit');
      const p = (k: string) => `calibration.fit.${k}`;
      const fitted = optionalNumber(f.fitted, w, p('fitted'), { min: 0 });
      const cvFolds = optionalNumber(f.cvFolds, w, p('cvFolds'), { min: 2, integer: true });
      cal.fit = {
        method: oneOf(f.method, w, p('method'), ['validation', 'out-of-fold'] as const),
        examples: number(f.examples, w, p('examples'), { min: 0, integer: true }),
        ...(cvFolds !== undefined ? { cvFolds } : {}),
        kept: typeof f.kept === 'boolean' ? f.kept : invalid(w, p('kept'), 'true or false', f.kept),
        outcome: oneOf(f.outcome, w, p('outcome'), ['fitted', 'too-few', 'at-bound', 'no-gain'] as const),
        ...(fitted !== undefined ? { fitted } : {}),
        checkFolds: number(f.checkFolds, w, p('checkFolds'), { min: 0, integer: true }),
        nllBefore: number(f.nllBefore, w, p('nllBefore'), { min: 0 }),
        nllAfter: number(f.nllAfter, w, p('nllAfter'), { min: 0 }),
        reason: string(f.reason, w, p('reason')),
      };
    }
    if (c.test !== undefined) {
      const te = object(c.test, w, 'calibration.test');
      cal.test = {
        eceBefore: number(te.eceBefore, w, 'calibration.test.eceBefore', { min: 0, max: 1 }),
        eceAfter: number(te.eceAfter, w, 'calibration.test.eceAfter', { min: 0, max: 1 }),
      };
    }
    out.calibration = cal;
  }
  return out;
}

export function parseTopLosses(text: string, labels: readonly string[], file: string = RUN_FILES.topLosses) {
  const w = where(file);
  const label = (v: unknown, p: string): string => {
    const s = string(v, w, p);
    if (!labels.includes(s)) invalid(w, p, `a class name from labels.json`, s);
    return s;
  };
  return array(parseJsonText(text, w), w, '', (v, p): TopLossEntry => {
    const o = object(v, w, p);
    const e: TopLossEntry = {
      file: string(o.file, w, join(p, 'file')),
      actual: label(o.actual, join(p, 'actual')),
      predicted: label(o.predicted, join(p, 'predicted')),
      prob: number(o.prob, w, join(p, 'prob'), { min: 0, max: 1 }),
      loss: number(o.loss, w, join(p, 'loss'), { min: 0 }),
    };
    const actualProb = optionalNumber(o.actualProb, w, join(p, 'actualProb'), { min: 0, max: 1 });
    if (actualProb !== undefined) e.actualProb = actualProb;
    if (o.split !== undefined) e.split = oneOf(o.split, w, join(p, 'split'), ['val', 'test'] as const);
    const text = optionalString(o.text, w, join(p, 'text'));
    if (text !== undefined) e.text = text;
    return e;
  });
}

/** The run.json classes, labels.json and every report must name the same classes in the same order. */
export function checkSameClasses(expected: readonly string[], found: readonly string[], file: string, what: string) {
  const same = expected.length === found.length && expected.every((c, i) => c === found[i]);
  if (!same) {
    invalid(
      where(file),
      what,
      `the classes of run.json data.classes in the same order: [${expected.join(', ')}]`,
      `[${found.join(', ')}]`,
    );
  }
}

function checkBins(v: unknown, w: Where, path: string): ReliabilityBin[] {
  return array(v, w, path, (b, p) => {
    const o = object(b, w, p);
    return {
      lower: number(o.lower, w, join(p, 'lower'), { min: 0, max: 1 }),
      upper: number(o.upper, w, join(p, 'upper'), { min: 0, max: 1 }),
      count: number(o.count, w, join(p, 'count'), { min: 0, integer: true }),
      meanConfidence: nullableNumber(o.meanConfidence, w, join(p, 'meanConfidence'), { min: 0, max: 1 }),
      accuracy: nullableNumber(o.accuracy, w, join(p, 'accuracy'), { min: 0, max: 1 }),
    };
  });
}

/** Checks the fields the report draws from; the rest of the ClassificationReport is passed through. */
function checkReport(v: unknown, labels: readonly string[], w: Where, path: string): ClassificationReport {
  const o = object(v, w, path);
  const k = number(o.numClasses, w, join(path, 'numClasses'), { min: 1, integer: true });
  number(o.numExamples, w, join(path, 'numExamples'), { min: 0, integer: true });
  const names = array(o.labelNames, w, join(path, 'labelNames'), (x, p) => string(x, w, p));
  checkSameClasses(labels, names, w.file, join(path, 'labelNames'));
  number(o.accuracy, w, join(path, 'accuracy'), { min: 0, max: 1 });
  number(o.logLoss, w, join(path, 'logLoss'), { min: 0 });
  const scores = (x: unknown, p: string): void => {
    const s = object(x, w, p);
    for (const f of ['precision', 'recall', 'f1']) number(s[f], w, join(p, f), { min: 0, max: 1 });
  };
  const perClass = array(o.perClass, w, join(path, 'perClass'), (x, p) => {
    scores(x, p);
    const r = object(x, w, p);
    number(r.support, w, join(p, 'support'), { min: 0, integer: true });
    nullableNumber(r.rocAuc, w, join(p, 'rocAuc'), { min: 0, max: 1 });
    return r;
  });
  if (perClass.length !== k) invalid(w, join(path, 'perClass'), `${k} rows (numClasses)`, o.perClass);
  scores(o.macro, join(path, 'macro'));
  scores(o.weighted, join(path, 'weighted'));
  const confusion = array(o.confusion, w, join(path, 'confusion'), (row, p) =>
    array(row, w, p, (x, q) => number(x, w, q, { min: 0, integer: true })),
  );
  if (confusion.length !== k || confusion.some((r) => r.length !== k)) {
    invalid(w, join(path, 'confusion'), `a ${k}x${k} matrix`, o.confusion);
  }
  const roc = object(o.rocAuc, w, join(path, 'rocAuc'));
  nullableNumber(roc.macro, w, join(path, 'rocAuc.macro'), { min: 0, max: 1 });
  nullableNumber(roc.weighted, w, join(path, 'rocAuc.weighted'), { min: 0, max: 1 });
  const cal = object(o.calibration, w, join(path, 'calibration'));
  number(cal.ece, w, join(path, 'calibration.ece'), { min: 0, max: 1 });
  checkBins(cal.bins, w, join(path, 'calibration.bins'));
  array(o.topK ?? [], w, join(path, 'topK'), (x, p) => {
    const t = object(x, w, p);
    number(t.k, w, join(p, 'k'), { min: 1, integer: true });
    number(t.accuracy, w, join(p, 'accuracy'), { min: 0, max: 1 });
  });
  array(o.notes ?? [], w, join(path, 'notes'), (x, p) => string(x, w, p));
  return o as unknown as ClassificationReport;
}
