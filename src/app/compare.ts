import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageItem } from '../data/node/images.js';
import type { ResizeMode } from '../data/preprocessing.js';
import { stratifiedSplit } from '../data/split.js';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { type Study, type StudyRun, parseStudy } from '../report/compare.js';
import { writeCompareReport } from '../report/node/command.js';
import { RUN_FILES, parseHistory } from '../report/run-folder.js';
import type { Device } from '../runtime/session.js';
import {
  type FineTuneStrategy,
  type StrategyName,
  isFeatureStrategy,
  strategyInfo,
  strategyNames,
} from '../transfer/strategies/index.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { type Backbone, DEFAULT_IMAGE_BACKBONE, checkModelName, chooseBackbone, resizedBackbone } from './backbone.js';
import { scanAndSplitImages } from './data.js';
import { fineTuneImageClassifier } from './finetune.js';
import type { FineTuneEvent } from './finetune-setup.js';
import { trainImageClassifier } from './train-image.js';
import { graftVersion } from './version.js';
import { writeFileAtomic } from '../node/atomic.js';
import { fingerprint as fingerprintOf } from './shard.js';

export interface CompareSettings extends SourceSettings {
  model?: string;
  cut?: string;
  resize?: ResizeMode | 'auto';
  extractBatch?: number;
  /** square input size of every strategy (default: the model's own) */
  inputSize?: number;
  /** square input size of the scratch strategy (default: inputSize); a network trained from scratch can use the data's own resolution */
  scratchInputSize?: number;
  /** training epochs of every gradient-trained strategy (default: each strategy's own) */
  epochs?: number;
  /** epochs of the scratch strategy (default: epochs) */
  scratchEpochs?: number;
  /** blocks that train in fine-tune, gradual, lp-ft and full, as `graft train --unfreeze` (default last:3; full: all); scratch trains everything */
  unfreeze?: string;
  /** reuse runs a previous, interrupted study left complete in the same --out folder */
  resume?: boolean;
  /** fraction of each run's labelled images held out for validation (default 0.1) */
  valSplit?: number;
  /** fraction of the data held out once as the common test split when DATA has no test/ (default 0.2) */
  testSplit?: number;
  device?: Device;
  threads?: number;
  modelsFile?: string;
  /** caps on the files read, the images decoded and the model input */
  limits?: DataLimits;
}

export type CompareEvent =
  | { type: 'data'; classes: number; train: number; test: number }
  | { type: 'run-start'; index: number; total: number; strategy: string; fraction: number; seed: number }
  | { type: 'run-done'; index: number; total: number; run: StudyRun; resumed?: boolean }
  | { type: 'train'; event: FineTuneEvent }
  /** every run has a result; study.json and the report are written next */
  | { type: 'study-done'; runs: number }
  /** queue studies: runs waiting for a worker, running, and finished */
  | { type: 'queue'; waiting: number; active: number; done: number; total: number };

export interface CompareOptions extends CompareSettings {
  data: string;
  /** folder for study.json, compare.html, the subsets and every run folder */
  out: string;
  /** in report order */
  strategies: readonly string[];
  /** fractions of the labelled training images, each in (0, 1] */
  fractions: readonly number[];
  seeds: readonly number[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: (e: CompareEvent) => void;
  onSourceEvent?: SourceEventListener;
  backbone?: Backbone;
  /** keep every run's model.onnx (default: removed once the run is scored) */
  keepModels?: boolean;
  /** redis://[:password@]HOST:PORT[/db]: enqueue the runs for `graft worker` processes (BullMQ) */
  queue?: string;
  /** the queue's name on that Redis (default graft-compare) */
  queueName?: string;
}

export interface CompareResult {
  study: Study;
  studyFile: string;
  reportFile: string;
  seconds: number;
}

/** The strategies a study can compare: every image strategy of the registry. */
export const COMPARE_STRATEGIES: readonly StrategyName[] = strategyNames({ data: 'image' });

/** Checks a study's strategy list against the registry; unknown or repeated names are a GraftError. */
export function checkCompareStrategies(strategies: readonly string[]): void {
  if (strategies.length === 0) {
    throw new GraftError('BAD_INPUT', 'A study needs at least one strategy', {
      found: 'none',
      choices: COMPARE_STRATEGIES,
      fix: 'use e.g. --strategies linear-probe,prototype',
    });
  }
  const unknown = strategies.filter((s) => !(COMPARE_STRATEGIES as readonly string[]).includes(s));
  if (unknown.length) {
    throw new GraftError('BAD_INPUT', `Unknown strategy: ${unknown.join(', ')}`, {
      found: unknown.join(', '),
      choices: COMPARE_STRATEGIES,
      expected: `a comma-separated list of: ${COMPARE_STRATEGIES.join(', ')}`,
      fix: `use e.g. --strategies ${COMPARE_STRATEGIES.slice(0, 2).join(',')}`,
    });
  }
  const dup = strategies.find((s, i) => strategies.indexOf(s) !== i);
  if (dup) {
    throw new GraftError('BAD_INPUT', `Strategy listed twice: ${dup}`, {
      found: strategies.join(','),
      fix: 'list each strategy once',
    });
  }
}

/**
 * Labelled images per class at one fraction and seed: each class is subsampled on its own (seeded,
 * stratified, copies of one file kept together), so every class keeps at least one image and class
 * proportions hold. Fraction 1 keeps everything.
 */
export function subsample(train: readonly ImageItem[], fraction: number, seed: number): ImageItem[] {
  if (fraction >= 1) return [...train];
  return stratifiedSplit(
    train,
    (it) => it.label,
    (it) => it.id,
    { test: 1 - fraction, seed },
    (it) => it.hash,
  ).train;
}

/**
 * Runs a transfer-learning study: every strategy at every fraction of the labelled training images and
 * every seed, each run evaluated on the same test split, then writes study.json and compare.html into
 * `out`. Each run is an ordinary run folder under out/runs; its training subset is a manifest under
 * out/subsets, so any run can be repeated with `graft train`. Features are cached by image content, so the
 * backbone embeds each image once for the whole study. With `queue` (redis://HOST:PORT) the runs are
 * enqueued for `graft worker` processes instead of run here (queue.ts); the study is the same.
 */
export async function runCompare(opts: CompareOptions): Promise<CompareResult> {
  const started = performance.now();
  // a malformed queue URL is a usage error before any data is scanned
  if (opts.queue !== undefined) (await import('./queue.js')).queueConnection(opts.queue);
  const plan = await planStudy(opts);
  const emit = (e: CompareEvent) => opts.onEvent?.(e);
  let runs: StudyRun[];
  if (opts.queue !== undefined) {
    const { runStudyOnQueue } = await import('./queue.js');
    runs = await runStudyOnQueue(plan, opts);
  } else {
    runs = [];
    for (const run of plan.runs) runs.push(await runOrKeep(plan, run, opts, opts.resume === true));
  }
  emit({ type: 'study-done', runs: runs.length });
  return { ...(await writeStudy(plan.header, runs, plan.out)), seconds: (performance.now() - started) / 1000 };
}

/** One run of a study, as planned: what a shard or a queue worker needs to carry it out. */
export interface PlannedRun {
  /** 1-based position in the study (fraction, then seed, then strategy) */
  index: number;
  total: number;
  strategy: string;
  fraction: number;
  seed: number;
  /** labelled examples per class in the run's subset */
  perClass: number;
  /** the run's training subset and the shared test split, a manifest under out/subsets */
  manifest: string;
  runDir: string;
}

/** What every run of a study shares, and nothing of the machine it runs on: a queue carries it to workers. */
export interface StudyRunSettings {
  model?: string;
  cut?: string;
  resize?: ResizeMode | 'auto';
  extractBatch?: number;
  inputSize?: number;
  scratchInputSize?: number;
  epochs?: number;
  scratchEpochs?: number;
  unfreeze?: string;
  valSplit?: number;
  keepModels?: boolean;
  limits?: DataLimits;
}

/** Where a run executes: this machine's runtime, model cache and environment. */
export interface StudyRunHost extends SourceSettings {
  onSourceEvent?: SourceEventListener;
  device?: Device;
  threads?: number;
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd: string;
  /** the backbone of the feature strategies, loaded (and resized to inputSize) once for many runs */
  backbone?: Backbone;
  onEvent?: (e: CompareEvent) => void;
}

/** The parts of study.json every run shares (runs and the time of writing are added at the end). */
export type StudyHeader = Omit<Study, 'runs' | 'createdAt'>;

export interface StudyPlan {
  out: string;
  cwd: string;
  header: StudyHeader;
  runs: PlannedRun[];
  /** the feature strategies' backbone, when the study has one */
  backbone?: Backbone;
  /** fingerprint of everything that decides the study's numbers: shards of one study agree on it */
  fingerprint: string;
}

/**
 * Checks the study's settings, scans the data, cuts the common test split, writes every training subset
 * (atomically: shards sharing the folder write identical files) and lists the runs in study order.
 */
export async function planStudy(opts: CompareOptions): Promise<StudyPlan> {
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const data = resolve(cwd, opts.data);
  const emit = (e: CompareEvent) => opts.onEvent?.(e);
  const fingerprint = studyFingerprint(opts);
  if (!opts.backbone)
    checkModelName(opts.model ?? DEFAULT_IMAGE_BACKBONE, { modelsFile: opts.modelsFile, env: opts.env, cwd });
  const { fractions, seeds } = fingerprint.checked;

  // The test split is cut once with a fixed seed, apart from the study seeds, so every run scores on
  // exactly the same images. A val/ folder joins the labelled pool: each run carves its own val split.
  const ds = await scanAndSplitImages(data, {
    valSplit: 0,
    testSplit: opts.testSplit ?? 0.2,
    seed: 0,
    limits: opts.limits,
  });
  const pool = ds.items.filter((it) => it.split !== 'test');
  const test = ds.items.filter((it) => it.split === 'test');
  if (test.length === 0) {
    throw new GraftError('BAD_INPUT', 'The study has no test images to score the runs on', {
      file: data,
      expected: 'a test/ folder, or --test-split above 0',
      found: 'no test split',
      fix: 'add DATA/test/<class>/ images or pass e.g. --test-split 0.2',
    });
  }
  const classes = [...ds.labels.names];
  emit({ type: 'data', classes: classes.length, train: pool.length, test: test.length });

  // a queue's workers load the backbone themselves
  const local = opts.queue === undefined;
  const loaded =
    local && (opts.backbone || opts.strategies.some((s) => isFeatureStrategy(s)))
      ? await chooseBackbone(opts, cwd)
      : undefined;
  // One input size for every strategy, so they are compared on the same images.
  const backbone = loaded && opts.inputSize !== undefined ? resizedBackbone(loaded, opts.inputSize) : loaded;

  mkdirSync(join(out, 'subsets'), { recursive: true });
  mkdirSync(join(out, 'runs'), { recursive: true });
  const runs: PlannedRun[] = [];
  const total = opts.strategies.length * fractions.length * seeds.length;
  for (const fraction of fractions) {
    for (const seed of seeds) {
      const subset = subsample(pool, fraction, seed);
      const perClass = subset.length / classes.length;
      const manifest = join(out, 'subsets', `${tag(fraction)}-seed${seed}.jsonl`);
      writeManifest(manifest, subset, test);
      for (const strategy of opts.strategies) {
        const runDir = join(out, 'runs', studyRunName(strategy, fraction, seed));
        runs.push({ index: runs.length + 1, total, strategy, fraction, seed, perClass, manifest, runDir });
      }
    }
  }
  const header: StudyHeader = {
    model: backbone?.name ?? opts.model ?? DEFAULT_IMAGE_BACKBONE,
    strategies: [...opts.strategies],
    fractions,
    seeds,
    data: opts.data,
    settings: studySettings(opts),
    graftVersion: graftVersion(),
  };
  return { out, cwd, header, runs, backbone, fingerprint: fingerprint.hash };
}

/**
 * The fingerprint of a study's settings (data, model, strategies, fractions, seeds and every setting that
 * shapes a run) with the checked fractions and seeds; throws the usual errors for invalid ones.
 */
export function studyFingerprint(opts: CompareOptions): {
  hash: string;
  checked: { fractions: number[]; seeds: number[] };
} {
  checkCompareStrategies(opts.strategies);
  const fractions = checkFractions(opts.fractions);
  const seeds = checkSeeds(opts.seeds);
  const cwd = opts.cwd ?? process.cwd();
  const hash = fingerprintOf({
    data: resolve(cwd, opts.data),
    model: opts.model ?? DEFAULT_IMAGE_BACKBONE,
    strategies: opts.strategies,
    fractions,
    seeds,
    testSplit: opts.testSplit ?? 0.2,
    run: studyRunSettings(opts),
  });
  return { hash, checked: { fractions, seeds } };
}

/** The run-shaping settings of a study's options. */
export function studyRunSettings(opts: CompareOptions): StudyRunSettings {
  return {
    model: opts.model,
    cut: opts.cut,
    resize: opts.resize,
    extractBatch: opts.extractBatch,
    inputSize: opts.inputSize,
    scratchInputSize: opts.scratchInputSize,
    epochs: opts.epochs,
    scratchEpochs: opts.scratchEpochs,
    unfreeze: opts.unfreeze,
    valSplit: opts.valSplit,
    keepModels: opts.keepModels,
    limits: opts.limits,
  };
}

/** Runs one planned run here, or (with `keep`) keeps the result an earlier, interrupted study left. */
export async function runOrKeep(
  plan: StudyPlan,
  run: PlannedRun,
  opts: CompareOptions,
  keep: boolean,
): Promise<StudyRun> {
  const emit = (e: CompareEvent) => opts.onEvent?.(e);
  const { index, total, strategy, fraction, seed } = run;
  emit({ type: 'run-start', index, total, strategy, fraction, seed });
  const kept = keep ? keptStudyRun(run) : undefined;
  if (kept) {
    emit({ type: 'run-done', index, total, run: kept, resumed: true });
    return kept;
  }
  const result = await executeStudyRun(run, studyRunSettings(opts), {
    ...opts,
    cwd: plan.cwd,
    backbone: plan.backbone,
  });
  emit({ type: 'run-done', index, total, run: result });
  return result;
}

/** The result a finished run left beside its run folder, checked to be this run's; undefined if none. */
export function keptStudyRun(run: PlannedRun): StudyRun | undefined {
  const done = join(run.runDir, STUDY_RUN_FILE);
  return existsSync(done) ? readStudyRun(done, run) : undefined;
}

/**
 * Trains and scores one run of a study into its run folder and records its result there (study-run.json,
 * written last and atomically: a run killed before it is run again by a resume, a shard or another worker).
 */
export async function executeStudyRun(run: PlannedRun, s: StudyRunSettings, host: StudyRunHost): Promise<StudyRun> {
  const { strategy, fraction, seed, runDir } = run;
  const t0 = performance.now();
  const common = {
    data: run.manifest,
    out: runDir,
    // the study owns its run folders; --resume above decides which runs are kept
    overwrite: true,
    seed,
    epochs: s.epochs,
    valSplit: s.valSplit ?? 0.1,
    testSplit: 0,
    extractBatch: s.extractBatch,
    device: host.device,
    threads: host.threads,
    limits: s.limits,
    cacheDir: host.cacheDir,
    offline: host.offline,
    modelsFile: host.modelsFile,
    env: host.env,
    cwd: host.cwd,
    onEvent: (event: FineTuneEvent) => host.onEvent?.({ type: 'train', event }),
  };
  let testAcc: number | undefined;
  if (isFeatureStrategy(strategy)) {
    const r = await trainImageClassifier({
      ...common,
      strategy,
      resize: s.resize,
      backbone: host.backbone ?? (await studyBackbone(s, host)),
    });
    testAcc = r.test?.accuracy;
  } else {
    const scratch = strategyInfo(strategy).fromScratch === true;
    const r = await fineTuneImageClassifier({
      ...common,
      model: s.model,
      cut: s.cut,
      strategy: strategy as FineTuneStrategy,
      inputSize: scratch ? (s.scratchInputSize ?? s.inputSize) : s.inputSize,
      epochs: scratch ? (s.scratchEpochs ?? s.epochs) : s.epochs,
      unfreeze: scratch ? undefined : s.unfreeze,
    });
    testAcc = r.test?.accuracy;
  }
  if (testAcc === undefined) throw new Error(`run ${runDir} measured no test accuracy`);
  const history = parseHistory(readFileSync(join(runDir, RUN_FILES.history), 'utf8'), runDir);
  // A study keeps each run's metrics and history, not its model: with a full backbone grafted in,
  // every model.onnx is the backbone's size again (16 MB for EfficientNet-B0, times every run).
  if (!s.keepModels) rmSync(join(runDir, RUN_FILES.model), { force: true });
  const result: StudyRun = {
    strategy,
    fraction,
    perClass: run.perClass,
    seed,
    testAcc,
    history,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileAtomic(join(runDir, STUDY_RUN_FILE), new TextEncoder().encode(JSON.stringify(result) + '\n'));
  return result;
}

/** The feature strategies' backbone as a study loads it: cut, and resized to the study's input size. */
export async function studyBackbone(s: StudyRunSettings, host: StudyRunHost): Promise<Backbone> {
  const loaded = await chooseBackbone(
    { ...host, model: s.model, cut: s.cut, limits: s.limits, backbone: undefined },
    host.cwd,
  );
  return s.inputSize !== undefined ? resizedBackbone(loaded, s.inputSize) : loaded;
}

/** Writes study.json (read back through the report's parser) and compare.html into `out`. */
export async function writeStudy(
  header: StudyHeader,
  runs: StudyRun[],
  out: string,
): Promise<Omit<CompareResult, 'seconds'>> {
  const study: Study = { ...header, runs, createdAt: new Date().toISOString() };
  const studyFile = join(out, 'study.json');
  const text = JSON.stringify(study, null, 1) + '\n';
  // Read back through the report's own parser: a study the report cannot open is a bug here.
  parseStudy(text, studyFile);
  writeFileAtomic(studyFile, new TextEncoder().encode(text));
  const { file: reportFile } = await writeCompareReport(studyFile, join(out, 'compare.html'));
  return { study, studyFile, reportFile };
}

/** The run folder's name under out/runs. */
export function studyRunName(strategy: string, fraction: number, seed: number): string {
  return `${strategy}-${tag(fraction)}-seed${seed}`;
}

/** Each finished run's result, beside its run folder: what `resume` picks up after an interruption. */
export const STUDY_RUN_FILE = 'study-run.json';

export function readStudyRun(file: string, want: { strategy: string; fraction: number; seed: number }): StudyRun {
  const text = readFileSync(file, 'utf8');
  const probe = {
    model: 'resumed',
    strategies: [want.strategy],
    fractions: [want.fraction],
    seeds: [want.seed],
    runs: [JSON.parse(text) as unknown],
  };
  // The study parser checks the run's fields and that it is the run this slot expects.
  return parseStudy(JSON.stringify(probe), file).runs[0]!;
}

/** The settings that shape every run, recorded in study.json and shown in the report. */
function studySettings(opts: CompareOptions): Record<string, string | number> {
  const s: Record<string, string | number> = {};
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) s[k] = v;
  };
  put('input size', opts.inputSize);
  put('scratch input size', opts.scratchInputSize);
  put('epochs', opts.epochs);
  put('scratch epochs', opts.scratchEpochs);
  put('unfreeze', opts.unfreeze);
  put('resize', opts.resize);
  put('val split', opts.valSplit ?? 0.1);
  return s;
}

function tag(fraction: number): string {
  return `f${Number((fraction * 100).toFixed(4))}`;
}

function writeManifest(file: string, train: readonly ImageItem[], test: readonly ImageItem[]): void {
  const rows = [
    ...train.map((it) => ({ path: it.path, label: it.label, split: 'train' })),
    ...test.map((it) => ({ path: it.path, label: it.label, split: 'test' })),
  ];
  writeFileAtomic(file, new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
}

function checkFractions(fractions: readonly number[]): number[] {
  const bad = fractions.filter((f) => !(f > 0 && f <= 1));
  if (fractions.length === 0 || bad.length) {
    throw new GraftError('BAD_INPUT', 'Study fractions must lie in (0, 1]', {
      found: fractions.length ? bad.join(', ') : 'none',
      expected: 'fractions of the labelled data, e.g. 0.01, 0.1, 1 (percentages 1,10,100 on the command line)',
      fix: 'use e.g. --fractions 10,100',
    });
  }
  return [...new Set(fractions)].sort((a, b) => a - b);
}

function checkSeeds(seeds: readonly number[]): number[] {
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) {
    throw new GraftError('BAD_INPUT', 'Study seeds must be integers', {
      found: seeds.join(', ') || 'none',
      fix: 'use e.g. --seeds 3 (seeds 0, 1, 2)',
    });
  }
  return [...new Set(seeds)];
}
