// What every training recipe shares: the start (clock, log, events), the run record (run.json), and the end
// (calibrate on validation, score val and test, pick the worst examples, save model.onnx, the run folder,
// the data set report and the log).
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type ClassificationReport,
  applyTemperature,
  calibration,
  chooseTemperature,
  classificationReport,
  softmax,
} from '../eval/index.js';
import { writeFileAtomic } from '../node/atomic.js';
import { saveOnnxFile } from '../node/onnx-file.js';
import type { Model } from '../onnx/graph.js';
import { writeRunFolder } from '../report/node/run-folder.js';
import {
  type BadFile,
  type CalibrationSummary,
  type HistoryRow,
  type KeptModel,
  RUN_FILES,
  type RunConfig,
  type RunData,
  type RunInfo,
  type RunMetrics,
  type Split,
  type SplitCounts,
  type TemperatureFitSummary,
  type TopLossEntry,
} from '../report/run-folder.js';
import type { Device } from '../runtime/session.js';
import type { EpochRecord } from '../train/types.js';
import { GraftError } from '../errors.js';
import { removeStaleRunFiles } from './run-folder.js';
import { graftVersion } from './version.js';

/** A recipe's start: its clock, the log train.log will hold, and an emitter that feeds both the log and the caller. */
export interface RunStart<E> {
  started: number;
  /** ISO time the run started */
  createdAt: string;
  log: string[];
  emit(e: E): void;
}

/** Starts a run: events go to the caller and, as the lines `logLines` makes of them, to train.log. */
export function startRun<E>(onEvent: ((e: E) => void) | undefined, logLines: (e: E) => readonly string[]): RunStart<E> {
  const log: string[] = [];
  return {
    started: performance.now(),
    createdAt: new Date().toISOString(),
    log,
    emit: (e) => {
      log.push(...logLines(e));
      onEvent?.(e);
    },
  };
}

/** What every recipe's result holds (the CLI prints it; --json returns all of it but `reports`). */
export interface RunResult {
  runDir: string;
  modelPath: string;
  model: string;
  strategy: string;
  head: string;
  classes: string[];
  counts: Record<string, SplitCounts>;
  val?: SplitSummary;
  test?: SplitSummary;
  temperature?: number;
  /** how the temperature was chosen (and why T = 1 when none was kept) */
  calibration?: TemperatureFitSummary;
  /** which epoch (or phase, or candidate) the saved model comes from, and why */
  kept?: KeptModel;
  epochs: number;
  seconds: number;
  /** the full reports (not printed in --json by the CLI) */
  reports: { val?: ClassificationReport; test?: ClassificationReport };
}

export interface RunRecordInput {
  start: RunStart<unknown>;
  model: string;
  strategy: string;
  head: string;
  config: RunConfig;
  data: Pick<RunData, 'kind' | 'source' | 'classes'> & {
    /** the data set's root: a folder, or a manifest/table whose folder paths are relative to */
    root: string;
  };
  /** the usable examples, by class and split */
  examples: Iterable<{ label: string; split: Split }>;
  badFiles: readonly BadFile[];
  /** time spent on backbone features (or cached activations) */
  featureSeconds?: number;
  trainSeconds: number;
  /** examples through the backbone per second, when any were computed */
  perSecond?: number;
  trainExamples: number;
  epochs: number;
  device?: Device;
  threads?: number;
}

/** run.json (all but the temperature the ending fits) and the per-class counts, as every recipe records them. */
export function runRecord(r: RunRecordInput): {
  run: Omit<RunInfo, 'format' | 'temperature'>;
  counts: Record<string, SplitCounts>;
} {
  const counts: Record<string, SplitCounts> = {};
  for (const c of r.data.classes) counts[c] = { train: 0, val: 0, test: 0 };
  for (const it of r.examples) counts[it.label]![it.split]++;
  const threads = r.threads ?? availableParallelism();
  const throughputKey = r.data.kind === 'text' ? 'textsPerSecond' : 'imagesPerSecond';
  return {
    counts,
    run: {
      graftVersion: graftVersion(),
      createdAt: r.start.createdAt,
      model: r.model,
      strategy: r.strategy,
      head: r.head,
      config: r.config,
      data: {
        kind: r.data.kind,
        source: r.data.source,
        root: folderOf(r.data.root),
        classes: [...r.data.classes],
        counts,
        badFiles: r.badFiles.slice(0, 200),
        ...(r.badFiles.length > 200 ? { badFilesTotal: r.badFiles.length } : {}),
      },
      timing: {
        totalSeconds: (performance.now() - r.start.started) / 1000,
        ...(r.featureSeconds !== undefined ? { featureSeconds: r.featureSeconds } : {}),
        trainSeconds: r.trainSeconds,
        throughput: {
          ...(r.perSecond !== undefined ? { [throughputKey]: r.perSecond } : {}),
          ...(r.epochs && r.trainSeconds > 0
            ? { trainExamplesPerSecond: (r.trainExamples * r.epochs) / r.trainSeconds }
            : {}),
        },
      },
      device: `${r.device ?? 'cpu'} (${threads} thread${threads === 1 ? '' : 's'})`,
    },
  };
}

/**
 * The folder example paths are relative to: the data root itself, or the folder of a manifest or table
 * (run.json's data.root must be a folder for the report to find the images of a manifest run).
 */
function folderOf(root: string): string {
  try {
    return statSync(root).isDirectory() ? root : dirname(root);
  } catch {
    return root;
  }
}

/** One line of train.log (and of the console) for a finished epoch. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  const parts = [
    `epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${r.trainLoss.toFixed(4)}`,
  ];
  if (r.trainAcc !== undefined) parts.push(`acc ${r.trainAcc.toFixed(4)}`);
  if (r.valLoss !== undefined) parts.push(`val loss ${r.valLoss.toFixed(4)}`);
  if (r.valAcc !== undefined) parts.push(`val acc ${r.valAcc.toFixed(4)}`);
  parts.push(`lr ${r.lr.toExponential(2)}`);
  return parts.join('  ');
}

/** A split fraction the user gave must lie in [0, 1). */
export function checkFraction(v: number | undefined, flag: string): void {
  if (v !== undefined && !(v >= 0 && v < 1)) {
    throw new GraftError('BAD_INPUT', `${flag} must be a fraction in [0, 1)`, {
      found: String(v),
      fix: `use e.g. ${flag} 0.1`,
    });
  }
}

/** One scored split: the model's uncalibrated logits and what each row is. */
export interface ScoredSplit {
  logits: Float32Array;
  labels: Int32Array;
  /** per row, the example as reports name it (a path relative to the data root, or "file:line") */
  ids: readonly string[];
  /** text runs: per row, what the model read (shown in reports instead of a thumbnail) */
  texts?: readonly string[];
}

/** The headline scores of a split, as the CLI prints them and --json returns them. */
export interface SplitSummary {
  accuracy: number;
  logLoss: number;
  ece: number;
  macroF1: number;
  /** F1 of the positive class (the second class name, e.g. 'spam' of ham/spam); two classes only */
  f1?: number;
  examples: number;
}

/** What only scoring tells: the temperature and the accuracies the exported model's provenance records. */
export interface ScoredFacts {
  temperature?: number;
  valAccuracy?: number;
  testAccuracy?: number;
}

/** What the exported model's metadata records of its making (graft.provenance). */
export type Provenance = Record<string, unknown>;

export interface RunEndInput {
  /** the run folder (absolute) */
  out: string;
  classes: readonly string[];
  val?: ScoredSplit;
  test?: ScoredSplit;
  /** builds the model to save, with the temperature folded in and `provenance` in its metadata */
  exportModel(facts: ScoredFacts & { provenance: Provenance }): Model;
  /** what the provenance records beyond run.json's facts: the base model's hash, the head config, ... */
  provenance: { baseModelSha256: string; config: Record<string, unknown> } & Provenance;
  /** training examples, for the provenance */
  trainExamples: number;
  run: Omit<RunInfo, 'format' | 'temperature' | 'kept'>;
  history: readonly HistoryRow[];
  /** which epoch (or phase, or candidate) the saved model comes from, and why */
  kept?: KeptModel;
  /**
   * held-out predictions to choose the temperature on instead of the validation split: out-of-fold logits
   * of k-fold cross-validation on the labelled data, which recipes make when the validation split is small
   */
  calibrateOn?: { logits: Float32Array; labels: Int32Array; folds: number };
  /** dataset-report.json */
  datasetReport: unknown;
  /** train.log so far; the scores are appended */
  log: string[];
  /** further JSON files of the recipe, by name (e.g. finetune.json) */
  files?: Record<string, unknown>;
  /** what the examples are, for the log: 'images' or 'texts' */
  unit: 'images' | 'texts';
  /** tells the user something worth knowing (a warning about the calibration) */
  say(message: string): void;
}

export interface RunEnd extends ScoredFacts {
  modelPath: string;
  metrics: RunMetrics;
  reports: { val?: ClassificationReport; test?: ClassificationReport };
  val?: SplitSummary;
  test?: SplitSummary;
}

/** Files every run writes besides those of `RunEndInput.files`. */
const WRITTEN = [...Object.values(RUN_FILES), 'dataset-report.json', 'train.log'];

/**
 * Ends a run: fits the softmax temperature on the validation split, scores val and test with it (as the
 * exported model will), lists the worst examples of test (else val), saves model.onnx and the run folder
 * (run.json, history, metrics, labels, top losses), the data set report and train.log, and removes files an
 * earlier run left in the folder.
 */
export function endRun(input: RunEndInput): RunEnd {
  const k = input.classes.length;
  const labelNames = [...input.classes];
  const metrics: RunMetrics = {};
  const reports: RunEnd['reports'] = {};
  let temperature: number | undefined;
  const { val, test } = input;
  const heldOut = input.calibrateOn
    ? { ...input.calibrateOn, method: 'out-of-fold' as const }
    : val
      ? { logits: val.logits, labels: val.labels, method: 'validation' as const, folds: undefined }
      : undefined;
  if (heldOut) {
    // the temperature rule (eval/calibration.ts TEMPERATURE_RULE): enough held-out predictions, a
    // regularised fit, and kept only when it lowers the cross-validated log loss; else T = 1, said aloud
    const choice = chooseTemperature({ data: heldOut.logits, numClasses: k }, heldOut.labels);
    temperature = choice.temperature;
    const where =
      heldOut.method === 'validation'
        ? `the validation split`
        : `out-of-fold predictions of ${heldOut.folds}-fold cross-validation on the ${heldOut.labels.length} labelled ${input.unit}`;
    if (!choice.kept) {
      const hint =
        choice.outcome === 'too-few' && heldOut.method === 'validation'
          ? ` (a larger --val-split gives it more; --strategy auto and the linear probe calibrate on cross-validated predictions when the validation split is small)`
          : '';
      input.say(`calibration: ${choice.reason}, on ${where}${hint}`);
    } else input.say(`calibration: ${choice.reason}, on ${where}`);
    // ECE before and after on the validation split when there is one (else on the held-out predictions)
    const shown = val ? { logits: val.logits, labels: val.labels } : heldOut;
    const shownScores = { data: shown.logits, numClasses: k };
    const before = calibration(softmax(shownScores), shown.labels);
    const after = calibration(softmax(applyTemperature(shownScores, temperature)), shown.labels);
    const summary: CalibrationSummary = {
      split: val ? 'val' : 'out-of-fold',
      temperature,
      eceBefore: before.ece,
      eceAfter: after.ece,
      binsBefore: before.bins,
      binsAfter: after.bins,
      fit: {
        method: heldOut.method,
        examples: choice.examples,
        ...(heldOut.folds !== undefined ? { cvFolds: heldOut.folds } : {}),
        kept: choice.kept,
        outcome: choice.outcome,
        ...(choice.fitted !== undefined ? { fitted: choice.fitted } : {}),
        checkFolds: choice.folds,
        nllBefore: choice.nllBefore,
        nllAfter: choice.nllAfter,
        reason: choice.reason,
      },
    };
    if (test) {
      const scores = { data: test.logits, numClasses: k };
      summary.test = {
        eceBefore: calibration(softmax(scores), test.labels).ece,
        eceAfter: calibration(softmax(applyTemperature(scores, temperature)), test.labels).ece,
      };
    }
    metrics.calibration = summary;
  }
  const reportOf = (s: ScoredSplit) =>
    classificationReport({
      scores: { data: s.logits, numClasses: k },
      kind: 'logits',
      labels: s.labels,
      labelNames,
      temperature: temperature ?? 1,
      topLosses: 24,
    });
  if (val) {
    reports.val = reportOf(val);
    metrics.val = reports.val;
  }
  if (test) {
    reports.test = reportOf(test);
    metrics.test = reports.test;
  }
  const worst = reports.test
    ? { r: reports.test, s: test!, split: 'test' as const }
    : reports.val
      ? { r: reports.val, s: val!, split: 'val' as const }
      : undefined;
  const topLosses: TopLossEntry[] = (worst?.r.topLosses ?? []).map((t) => ({
    file: worst!.s.ids[t.index]!,
    actual: labelNames[t.actual]!,
    predicted: labelNames[t.predicted]!,
    prob: t.predictedProbability,
    actualProb: t.actualProbability,
    loss: t.loss,
    split: worst!.split,
    ...(worst!.s.texts ? { text: worst!.s.texts[t.index]! } : {}),
  }));

  const facts: ScoredFacts = {
    temperature,
    valAccuracy: reports.val?.accuracy,
    testAccuracy: reports.test?.accuracy,
  };
  const { baseModelSha256, config, ...recipeFacts } = input.provenance;
  const provenance: Provenance = {
    graftVersion: input.run.graftVersion,
    createdAt: input.run.createdAt,
    baseModel: input.run.model,
    baseModelSha256,
    ...recipeFacts,
    strategy: input.run.strategy,
    head: input.run.head,
    data: input.run.data.source,
    trainExamples: input.trainExamples,
    valAccuracy: facts.valAccuracy,
    testAccuracy: facts.testAccuracy,
    config,
  };
  const modelPath = join(input.out, RUN_FILES.model);
  saveOnnxFile(modelPath, input.exportModel({ ...facts, provenance }));
  if (input.kept) input.say(`kept: ${describeKept(input.kept)}`);
  writeRunFolder(input.out, {
    run: {
      ...input.run,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(input.kept ? { kept: input.kept } : {}),
    },
    history: input.history,
    metrics,
    topLosses,
  });
  const summary = (r?: ClassificationReport): SplitSummary | undefined =>
    r && {
      accuracy: r.accuracy,
      logLoss: r.logLoss,
      ece: r.calibration.ece,
      macroF1: r.macro.f1,
      ...(r.binary ? { f1: r.binary.f1 } : {}),
      examples: r.numExamples,
    };
  const end: RunEnd = { ...facts, modelPath, metrics, reports, val: summary(reports.val), test: summary(reports.test) };
  for (const [name, s] of [
    ['val', end.val],
    ['test', end.test],
  ] as const) {
    if (!s) continue;
    const f1 = input.unit === 'texts' && s.f1 !== undefined ? `  F1(${labelNames[1]}) ${s.f1.toFixed(4)}` : '';
    input.log.push(`${name} accuracy ${s.accuracy.toFixed(4)}${f1} (${s.examples} ${input.unit})`);
  }
  const enc = new TextEncoder();
  const extra = Object.entries(input.files ?? {});
  const json: [string, unknown][] = [['dataset-report.json', input.datasetReport], ...extra];
  for (const [name, value] of json)
    writeFileAtomic(join(input.out, name), enc.encode(JSON.stringify(value, null, 1) + '\n'));
  writeFileAtomic(join(input.out, 'train.log'), enc.encode(input.log.join('\n') + '\n'));
  removeStaleRunFiles(input.out, [...WRITTEN, ...extra.map(([name]) => name)]);
  return end;
}

/** One line about the saved model's origin: "epoch 37 of 100 (phase probe): lowest validation loss". */
export function describeKept(k: KeptModel): string {
  const where = [
    k.epoch !== undefined ? `epoch ${k.epoch}${k.epochs !== undefined ? ` of ${k.epochs}` : ''}` : '',
    k.phase ? `phase ${k.phase}` : '',
  ].filter(Boolean);
  const at = where.length === 2 ? `${where[0]} (${where[1]})` : (where[0] ?? 'the model');
  return `${at}: ${k.reason}`;
}
