import type { DataLimits } from '../data/limits.js';
import { resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { ImageItem } from '../data/node/images.js';
import type { ResizeMode } from '../data/preprocessing.js';
import type { DatasetIssue, DatasetReport, Split } from '../data/report.js';
import type { Device } from '../runtime/session.js';
import type { BadFile } from '../report/run-folder.js';
import type { ExtractProgress } from '../transfer/extract.js';
import { graftClassifier } from '../transfer/pipeline-graft.js';
import { type HeadTrainingSettings, runHead, trainHead } from '../transfer/pipeline-head.js';
import { type HeadChoice, formatHeadChoice, parseHeadChoice } from '../transfer/heads/index.js';
import { balancedClassWeights } from '../transfer/pipeline.js';
import { DEFAULT_FOLDS, concatFeatures, crossValidateHead } from '../transfer/cross-validate.js';
import { TEMPERATURE_RULE } from '../eval/index.js';
import type { KeptModel } from '../report/run-folder.js';
import { type FeatureStrategy, headForStrategy } from '../transfer/strategies/index.js';
import type { FeatureSet } from '../transfer/prototype.js';
import type { EpochRecord } from '../train/types.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import {
  type Backbone,
  DEFAULT_IMAGE_BACKBONE,
  autoResize,
  checkModelName,
  featureCacheDir,
  chooseBackbone,
  withBackboneResize,
} from './backbone.js';
import { badFilesOf, scanRunImages } from './data.js';
import { extractImageFeatures } from './features.js';
import {
  type RunResult,
  type ScoredSplit,
  checkFraction,
  endRun,
  formatEpoch,
  runRecord,
  startRun,
} from './run-end.js';

export { formatEpoch } from './run-end.js';
import { type RunFolderChoice, checkRunFolder } from './run-folder.js';

export type { SplitSummary } from './run-end.js';

export type ClassWeightMode = 'none' | 'balanced';

export interface TrainImageSettings extends SourceSettings, HeadTrainingSettings {
  /** zoo name or ONNX source of the backbone (default efficientnet_b0.imagenet) */
  model?: string;
  cut?: string;
  strategy?: FeatureStrategy;
  /** 'linear', 'mlp:256', 'knn:5', 'prototype' (default: the strategy's) */
  head?: string;
  /** fraction of each class held out for validation when the data has no val split (default 0.1) */
  valSplit?: number;
  /** fraction held out for testing when the data has no test split (default 0) */
  testSplit?: number;
  classWeight?: ClassWeightMode;
  /** 'auto' (default): squash when most images are smaller than the model input, else the model's rule */
  resize?: ResizeMode | 'auto';
  /** images per backbone run (default 32) */
  extractBatch?: number;
  device?: Device;
  threads?: number;
  modelsFile?: string;
  /** caps on the files read, the images decoded and the model input (default: DEFAULT_DATA_LIMITS) */
  limits?: DataLimits;
}

export type TrainImageEvent =
  | { type: 'stage'; message: string }
  | { type: 'dataset'; report: DatasetReport }
  | { type: 'issue'; issue: DatasetIssue }
  | { type: 'extract'; progress: ExtractProgress }
  | {
      type: 'extract-done';
      computed: number;
      reused: number;
      failed: number;
      seconds: number;
      imagesPerSecond?: number;
    }
  | { type: 'epoch'; record: EpochRecord; epochs: number };

export interface TrainImageOptions extends TrainImageSettings, RunFolderChoice {
  data: string;
  /** the run folder to write */
  out: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: (e: TrainImageEvent) => void;
  onSourceEvent?: SourceEventListener;
  /** the backbone, when the caller has loaded it already (benches, studies) */
  backbone?: Backbone;
}

export interface TrainImageResult extends RunResult {
  strategy: FeatureStrategy;
  /** the resize rule the images went through (after 'auto' was decided) */
  resize: ResizeMode;
  badFiles: BadFile[];
  features: {
    computed: number;
    reused: number;
    batchesRun: number;
    backboneLoaded: boolean;
    seconds: number;
    imagesPerSecond?: number;
    cache: string;
  };
}

/**
 * Trains an image classifier by transfer on cached backbone features and writes a run folder:
 * scan and split the data, embed every image (reusing the feature cache), fit the head, fit a softmax
 * temperature on the validation split, evaluate val and test, graft the head onto the backbone and save
 * model.onnx with labels, preprocessing, temperature and provenance, plus run.json, metrics.json,
 * history, labels.json, top-losses.json, the data set report and a readable training log.
 */
export async function trainImageClassifier(opts: TrainImageOptions): Promise<TrainImageResult> {
  const start = startRun(opts.onEvent, imageLogLines);
  const { emit } = start;
  const cwd = opts.cwd ?? process.cwd();
  const strategy = opts.strategy ?? 'linear-probe';
  const head: HeadChoice = headForStrategy(strategy, opts.head ? parseHeadChoice(opts.head) : undefined);
  const seed = opts.seed ?? 0;
  const out = resolve(cwd, opts.out);
  const data = resolve(cwd, opts.data);
  checkFraction(opts.valSplit, '--val-split');
  checkFraction(opts.testSplit, '--test-split');
  if (opts.resume) {
    throw new GraftError('BAD_INPUT', `--strategy ${strategy} cannot resume: it trains a head on cached features`, {
      fix: 'run it again: the features come from the cache, so it costs seconds (add --overwrite)',
    });
  }
  checkRunFolder(out, opts);

  if (!opts.backbone)
    checkModelName(opts.model ?? DEFAULT_IMAGE_BACKBONE, { modelsFile: opts.modelsFile, env: opts.env, cwd });
  const ds = await scanRunImages(
    data,
    { valSplit: opts.valSplit, testSplit: opts.testSplit, seed, limits: opts.limits },
    emit,
  );
  const classes = [...ds.labels.names];

  const loaded = await chooseBackbone(opts, cwd);
  const resize = opts.resize ?? 'auto';
  let backbone = loaded;
  if (resize === 'auto') {
    const choice = autoResize(loaded, ds.items);
    if (choice.why) emit({ type: 'stage', message: choice.why });
    backbone = withBackboneResize(loaded, choice.resize);
  } else backbone = withBackboneResize(loaded, resize);
  const session = { device: opts.device, intraOpThreads: opts.threads };
  emit({
    type: 'stage',
    message: `embedding ${ds.items.length} images with ${backbone.name} (cut at ${backbone.featureValue}, ${backbone.dim}-d)`,
  });
  const cacheDir = featureCacheDir({ cacheDir: opts.cacheDir, env: opts.env, cwd });
  const feats = await extractImageFeatures({
    backbone,
    images: ds.items.map((it) => ({
      key: it.hash,
      input: it.path,
      label: it.id,
      size: { width: it.width, height: it.height },
    })),
    cacheDir,
    batchSize: opts.extractBatch,
    session,
    limits: opts.limits,
    onProgress: (progress) => emit({ type: 'extract', progress }),
  });
  emit({
    type: 'extract-done',
    computed: feats.computed,
    reused: feats.reused,
    failed: feats.failed.length,
    seconds: feats.seconds,
    imagesPerSecond: feats.imagesPerSecond,
  });

  const issues = [...ds.report.issues];
  const position = new Map(ds.items.map((it, i) => [it, i]));
  const byHash = new Map(ds.items.map((it) => [it.hash, it]));
  const failedKeys = new Set(feats.failed.map((f) => f.key));
  for (const f of feats.failed) {
    const item = byHash.get(f.key)!;
    const issue: DatasetIssue = {
      kind: 'decode-failed',
      files: [item.id],
      skipped: true,
      detail: f.error,
      label: item.label,
      split: item.split,
    };
    issues.push(issue);
    emit({ type: 'issue', issue });
  }
  const usable = ds.items.filter((it) => !failedKeys.has(it.hash));
  const bySplit = (s: Split) => usable.filter((it) => it.split === s);
  const setOf = (items: ImageItem[]): FeatureSet => {
    const features = new Float32Array(items.length * backbone.dim);
    items.forEach((it, i) => features.set(feats.vectors[position.get(it)!]!, i * backbone.dim));
    return {
      features,
      dim: backbone.dim,
      labels: ds.labels.encode(items.map((it) => it.label)),
      numClasses: classes.length,
    };
  };
  const trainItems = bySplit('train');
  const missing = classes.filter((c) => !trainItems.some((it) => it.label === c));
  if (missing.length) {
    throw new GraftError('BAD_INPUT', 'Some classes have no training image left that decodes', {
      found: missing.join(', '),
      fix: 'replace the damaged files listed above, or remove the class folders',
    });
  }
  const valItems = bySplit('val');
  const testItems = bySplit('test');
  const train = setOf(trainItems);
  const val = valItems.length ? setOf(valItems) : undefined;
  const test = testItems.length ? setOf(testItems) : undefined;

  const classWeights =
    (opts.classWeight ?? 'none') === 'balanced' ? balancedClassWeights(train.labels, classes.length) : undefined;
  emit({
    type: 'stage',
    message: `training a ${formatHeadChoice(head)} head (${strategy}) on ${trainItems.length} images, validating on ${valItems.length}`,
  });
  const headSettings = {
    head,
    numClasses: classes.length,
    epochs: opts.epochs,
    lr: opts.lr,
    batchSize: opts.batchSize,
    weightDecay: opts.weightDecay,
    dropout: opts.dropout,
    seed,
    classWeights,
    labelSmoothing: opts.labelSmoothing,
    center: opts.center,
    session,
  };
  const trained = await trainHead({
    ...headSettings,
    train,
    val,
    restoreBest: opts.restoreBest,
    onEpoch: (record, epochs) => emit({ type: 'epoch', record, epochs }),
  });
  // Too few validation images to choose a temperature on: out-of-fold predictions of the same head, k-fold
  // cross-validated on all labelled features (seconds: the features are cached), calibrate instead.
  let calibrateOn: { logits: Float32Array; labels: Int32Array; folds: number } | undefined;
  if (
    (val?.labels.length ?? 0) < TEMPERATURE_RULE.minExamples &&
    trainItems.length + valItems.length >= 2 * DEFAULT_FOLDS
  ) {
    // each fold's head trained as far as the run's own: to the epoch it kept
    const stopAfter = trained.bestEpoch;
    const oof = await crossValidateHead(concatFeatures(train, val), { ...headSettings, stopAfter }, { seed });
    emit({
      type: 'stage',
      message: `calibration: ${valItems.length} validation images are too few to choose a temperature on; ${oof.folds}-fold cross-validation of the head gave out-of-fold predictions for all ${oof.labels.length} labelled images${stopAfter !== undefined ? `, each fold's head trained to epoch ${stopAfter} as the run's was` : ''} (${oof.seconds.toFixed(1)}s)`,
    });
    calibrateOn = oof;
  }
  const kept: KeptModel | undefined =
    trained.history.length === 0
      ? undefined
      : trained.bestEpoch !== undefined
        ? {
            epoch: trained.bestEpoch,
            epochs: trained.history.length,
            reason: 'the epoch with the lowest validation loss',
          }
        : {
            epoch: trained.history.length,
            epochs: trained.history.length,
            reason: val ? 'the last epoch' : 'the last epoch (no validation split to choose by)',
          };

  const scored = async (items: ImageItem[], set: FeatureSet): Promise<ScoredSplit> => ({
    logits: await runHead(trained.model, set.features, set.dim, { session }),
    labels: set.labels,
    ids: items.map((it) => it.id),
  });
  const badFiles = badFilesOf(issues);
  const headText = formatHeadChoice(head);
  const { run, counts } = runRecord({
    start,
    model: backbone.name,
    strategy,
    head: headText,
    config: {
      ...trained.config,
      seed,
      valSplit: opts.valSplit ?? 0.1,
      testSplit: opts.testSplit ?? 0,
      classWeight: opts.classWeight ?? 'none',
      resize: backbone.preprocessing.resize,
      resizeOption: resize,
      featureValue: backbone.featureValue,
      extractBatch: opts.extractBatch ?? 32,
    },
    data: { kind: 'image', source: data, root: ds.root, classes },
    examples: usable,
    badFiles,
    featureSeconds: feats.seconds,
    trainSeconds: trained.seconds,
    perSecond: feats.imagesPerSecond,
    trainExamples: trainItems.length,
    epochs: trained.history.length,
    device: opts.device,
    threads: opts.threads,
  });
  const end = endRun({
    out,
    classes,
    val: val ? await scored(valItems, val) : undefined,
    test: test ? await scored(testItems, test) : undefined,
    exportModel: ({ temperature, provenance }) =>
      graftClassifier({
        backbone: backbone.model,
        featureValue: backbone.featureValue,
        head: trained.model,
        labels: classes,
        preprocessing: backbone.preprocessing,
        temperature,
        provenance,
      }),
    provenance: {
      baseModelSha256: backbone.sha256,
      featureValue: backbone.featureValue,
      featureDim: backbone.dim,
      config: trained.config,
    },
    trainExamples: trainItems.length,
    run,
    history: trained.history,
    ...(kept ? { kept } : {}),
    ...(calibrateOn ? { calibrateOn } : {}),
    datasetReport: { ...ds.report, issues },
    log: start.log,
    unit: 'images',
    say: (message) => emit({ type: 'stage', message }),
  });
  return {
    runDir: out,
    modelPath: end.modelPath,
    model: backbone.name,
    strategy,
    head: headText,
    resize: backbone.preprocessing.resize,
    classes,
    counts,
    badFiles,
    val: end.val,
    test: end.test,
    temperature: end.temperature,
    calibration: end.metrics.calibration?.fit,
    ...(kept ? { kept } : {}),
    features: {
      computed: feats.computed,
      reused: feats.reused,
      batchesRun: feats.batchesRun,
      backboneLoaded: feats.backboneLoaded,
      seconds: feats.seconds,
      imagesPerSecond: feats.imagesPerSecond,
      cache: feats.storePath,
    },
    epochs: trained.history.length,
    seconds: run.timing.totalSeconds,
    reports: end.reports,
  };
}

/** What train.log keeps of a feature run's events. */
export function imageLogLines(e: TrainImageEvent): string[] {
  if (e.type === 'stage') return [e.message];
  if (e.type === 'epoch') return [formatEpoch(e.record, e.epochs)];
  return [];
}
