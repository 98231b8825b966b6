import type { DataLimits } from '../data/limits.js';
import { resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { type AugmentSpec, standardAugment } from '../data/augment.js';
import { exampleSize, writeNormalized } from '../data/image.js';
import { decodeForModel } from '../data/node/decode.js';
import type { ImageDataset, ImageItem } from '../data/node/images.js';
import { ImageLoader } from '../data/node/loader.js';
import type { LabelMap } from '../data/labels.js';
import type { ResizeMode } from '../data/preprocessing.js';
import type { DatasetIssue } from '../data/report.js';
import type { Model } from '../onnx/graph.js';
import { inferShapes } from '../onnx/shapes.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import { cut } from '../surgery/cut.js';
import { type ExtractProgress, extractFeatures } from '../transfer/extract.js';
import { MemoryFeatureStore } from '../transfer/feature-store.js';
import { type Block, detectBlocks } from '../transfer/finetune/blocks.js';
import {
  type BatchNormMode,
  type FreezePlan,
  freezeReport,
  parseUnfreeze,
  planFreeze,
} from '../transfer/finetune/freeze-plan.js';
import { type ComposedClassifier, composeClassifier, createHead } from '../transfer/finetune/head.js';
import { reinitialize } from '../transfer/finetune/reinit.js';
import type { CachedData, LabelledSamples } from '../transfer/finetune/run.js';
import { type PhaseSchedule, type PhaseSpec, STRATEGY_DEFAULTS, formatPhase } from '../transfer/strategies/phases.js';
import { type FineTuneStrategy, headForStrategy, planPhases, strategyInfo } from '../transfer/strategies/index.js';
import { type HeadChoice, gradientFit, hiddenLayers, parseHeadChoice } from '../transfer/heads/index.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { sha256Hex } from '../zoo/sources/node/cache.js';
import { FileFeatureStore } from '../transfer/node/feature-store-file.js';
import {
  type Backbone,
  autoResize,
  featureCacheDir,
  chooseBackbone,
  resizedBackbone,
  withBackboneResize,
} from './backbone.js';
import { scanRunImages } from './data.js';
import type { TrainImageEvent } from './train-image.js';
import { mulberry32 } from '../util/rng.js';

/** Everything `graft train --strategy fine-tune|gradual|lp-ft|full` accepts besides data and output. */
export interface FineTuneImageSettings extends SourceSettings {
  model?: string;
  cut?: string;
  /** 'auto' (default): squash when most images are smaller than the model input, else the model's rule */
  resize?: ResizeMode | 'auto';
  /** square input size for the backbone, e.g. 96 for 28x28 images (default: the model's own) */
  inputSize?: number;
  strategy?: FineTuneStrategy;
  /** which blocks train: all | none | last:N | from:BLOCK | block:GLOB,.. | params:GLOB,.. */
  unfreeze?: string;
  /** parameter globs (comma-separated) kept frozen inside unfrozen blocks */
  freeze?: string;
  bn?: BatchNormMode;
  /** 'linear' (default) or 'mlp:256' */
  head?: string;
  epochs?: number;
  lr?: number;
  headEpochs?: number;
  probeEpochs?: number;
  /** the rate the network's first block would get, as a fraction of the head's (0.01 = lr/100 .. lr); 0 turns it off */
  discriminative?: number;
  /** L2-SP: strength of the pull of trained pretrained weights back to their pretrained values (0: none) */
  anchor?: number;
  /**
   * fine-tune (and auto): WiSE-FT, the weight of the fine-tuned values when the fine-tune phase ends, against
   * the probe's values it started from (1: the fine-tuned values as they are, 0: the probe)
   */
  interpolate?: number;
  schedule?: PhaseSchedule;
  batchSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  seed?: number;
  valSplit?: number;
  testSplit?: number;
  /** re-initialise every weight of the architecture and train from scratch (for comparisons) */
  fromScratch?: boolean;
  /** random crops, flips, rotation and colour jitter each epoch (turns the activation cache off) */
  augment?: boolean;
  extractBatch?: number;
  device?: SessionOptions['device'];
  threads?: number;
  modelsFile?: string;
  /** caps on the files read, the images decoded and the model input (default: DEFAULT_DATA_LIMITS) */
  limits?: DataLimits;
}

export type FineTuneEvent =
  | TrainImageEvent
  | { type: 'freeze-report'; lines: string[] }
  | { type: 'phases'; lines: string[] }
  | { type: 'phase'; name: string; message: string };

export interface FineTuneSetupOptions extends FineTuneImageSettings {
  data: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: (e: FineTuneEvent) => void;
  onSourceEvent?: SourceEventListener;
  backbone?: Backbone;
  /** strategy used to plan phases when the caller needs them (lr-find plans the main phase alone) */
  defaultUnfreeze?: string;
}

/** How the training inputs are produced, as told to the user and written to run.json. */
export interface ActivationSource {
  kind: 'cache' | 'recompute' | 'images';
  /** the value the training data is taken at */
  at: string;
  sampleDims: number[];
  /** one sentence for the log */
  message: string;
  /** bytes of the cached training + validation activations held in memory */
  memoryBytes: number;
  /** the on-disk store, when used */
  storePath?: string;
  computed: number;
  reused: number;
  seconds: number;
  imagesPerSecond?: number;
}

export interface FineTuneSetup {
  ds: ImageDataset;
  classes: string[];
  backbone: Backbone;
  classifier: ComposedClassifier;
  head: HeadChoice;
  blocks: Block[];
  plan: FreezePlan;
  strategy: FineTuneStrategy;
  /** every weight was re-initialised (the scratch strategy) */
  fromScratch: boolean;
  phases: PhaseSpec[];
  data: CachedData;
  items: { train: ImageItem[]; val: ImageItem[]; test: ImageItem[] };
  /** test activations at data.at when cached; else the test split is run through the full model */
  test?: LabelledSamples;
  source: ActivationSource;
  issues: DatasetIssue[];
  session: SessionOptions;
  /** caps on the files read and the images decoded, for later loaders of this run */
  limits?: DataLimits;
  seed: number;
  settings: Required<Pick<FineTuneImageSettings, 'epochs' | 'lr'>>;
  reinitialized?: { params: number; kept: string[] };
  /** releases the sessions the augmentation refresh holds */
  dispose(): Promise<void>;
}

/**
 * Scans and splits the data, loads and (optionally) resizes the backbone, grafts a head, detects
 * blocks, plans the freeze and the phases, and produces the training inputs: activations at the freeze
 * boundary computed once (and cached on disk under the feature cache, keyed by model, boundary, input
 * size and image hash) when augmentation is off; recomputed every epoch when it is on.
 */
export async function setupFineTune(opts: FineTuneSetupOptions): Promise<FineTuneSetup> {
  const emit = (e: FineTuneEvent) => opts.onEvent?.(e);
  const cwd = opts.cwd ?? process.cwd();
  const seed = opts.seed ?? 0;
  const named = opts.strategy ?? (opts.fromScratch ? 'scratch' : 'fine-tune');
  // --from-scratch with full is the scratch strategy (kept for the flag users already have)
  const strategy = opts.fromScratch && named === 'full' ? 'scratch' : named;
  const info = strategyInfo(strategy, { family: 'weights', data: 'image' });
  const fromScratch = info.fromScratch === true;
  if (opts.fromScratch && !fromScratch) {
    throw new GraftError(
      'BAD_INPUT',
      `--from-scratch trains a re-initialised network; --strategy ${strategy} needs a pretrained one`,
      {
        expected: '--strategy scratch (or full --from-scratch)',
        found: `--strategy ${strategy}`,
        fix: 'use --strategy scratch (every block trains from random weights)',
      },
    );
  }
  const head = headForStrategy(strategy, opts.head ? parseHeadChoice(opts.head) : undefined);
  if (fromScratch && opts.anchor) {
    throw new GraftError(
      'BAD_INPUT',
      '--anchor pulls weights back to their pretrained values; a run from scratch has none',
      {
        found: `--anchor ${opts.anchor} with --strategy ${strategy}`,
        fix: 'drop --anchor, or fine-tune a pretrained model (e.g. --strategy fine-tune)',
      },
    );
  }
  const data = resolve(cwd, opts.data);
  const ds = await scanRunImages(
    data,
    { valSplit: opts.valSplit, testSplit: opts.testSplit, seed, limits: opts.limits },
    emit,
  );
  const classes = [...ds.labels.names];

  let backbone = await chooseBackbone(opts, cwd);
  const resize = opts.resize ?? 'auto';
  if (resize === 'auto') {
    const choice = autoResize(backbone, ds.items);
    if (choice.why) emit({ type: 'stage', message: choice.why });
    backbone = withBackboneResize(backbone, choice.resize);
  } else backbone = withBackboneResize(backbone, resize);
  if (opts.inputSize !== undefined) backbone = resizedBackbone(backbone, opts.inputSize);
  const session: SessionOptions = { device: opts.device, intraOpThreads: opts.threads };

  let classifier = composeClassifier(
    backbone.model,
    backbone.featureValue,
    createHead(backbone.dim, classes.length, { hidden: hiddenLayers(head), seed }),
  );
  const blocks = detectBlocks(classifier.model, { headParams: classifier.headParams });
  const unfreeze = parseUnfreeze(opts.unfreeze ?? opts.defaultUnfreeze ?? info.defaultUnfreeze ?? 'last:3');
  const plan = planFreeze(classifier.model.graph, blocks, {
    unfreeze,
    freeze: opts.freeze
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    bn: opts.bn,
  });
  let reinitialized: FineTuneSetup['reinitialized'];
  if (fromScratch) {
    const params = blocks.flatMap((b) => b.params);
    const r = reinitialize(classifier.model, params, seed);
    classifier = { ...classifier, model: r.model };
    reinitialized = { params: r.reinitialized.length, kept: r.kept };
    emit({
      type: 'stage',
      message: `from scratch: ${r.reinitialized.length} weight tensors re-initialised (seed ${seed})${r.kept.length ? `, ${r.kept.length} kept` : ''}`,
    });
  }
  emit({ type: 'freeze-report', lines: freezeReport(plan) });
  const settings = {
    epochs: opts.epochs ?? STRATEGY_DEFAULTS.epochs,
    lr: opts.lr ?? STRATEGY_DEFAULTS.lr,
  };
  const phases = planPhases(strategy, plan, {
    ...settings,
    headEpochs: opts.headEpochs,
    probeEpochs: opts.probeEpochs,
    probeDefaults: gradientFit(head)?.defaults,
    discriminative: opts.discriminative === 0 ? false : opts.discriminative,
    schedule: opts.schedule,
    interpolate: opts.interpolate,
  });
  const names = plan.blocks.map((p) => p.block.name);
  emit({ type: 'phases', lines: phases.map((p) => formatPhase(p, names)) });

  const usable = (split: 'train' | 'val' | 'test') => ds.items.filter((it) => it.split === split);
  const prepared = await prepareInputs({
    backbone,
    model: classifier.model,
    at: plan.boundary,
    items: { train: usable('train'), val: usable('val'), test: usable('test') },
    labels: ds.labels,
    augment: opts.augment ? standardAugment : undefined,
    namespace: [backbone.namespace, opts.inputSize ?? '', fromScratch ? `scratch-${seed}` : ''].join('|'),
    cacheDir: featureCacheDir({ cacheDir: opts.cacheDir, env: opts.env, cwd }),
    batchSize: opts.extractBatch ?? 32,
    seed,
    session,
    limits: opts.limits,
    emit,
  });
  emit({ type: 'stage', message: prepared.source.message });
  const issues = [...ds.report.issues, ...prepared.issues];
  const missing = classes.filter((c) => !prepared.items.train.some((it) => it.label === c));
  if (missing.length) {
    throw new GraftError('BAD_INPUT', 'Some classes have no training image left that decodes', {
      found: missing.join(', '),
      fix: 'replace the damaged files listed above, or remove the class folders',
    });
  }
  return {
    ds,
    classes,
    backbone,
    classifier,
    head,
    blocks,
    plan,
    strategy,
    fromScratch,
    phases,
    data: prepared.data,
    items: prepared.items,
    test: prepared.test,
    source: prepared.source,
    issues,
    session,
    limits: opts.limits,
    seed,
    settings,
    reinitialized,
    dispose: prepared.dispose,
  };
}

interface PrepareInputsOptions {
  backbone: Backbone;
  model: Model;
  at: string;
  items: { train: ImageItem[]; val: ImageItem[]; test: ImageItem[] };
  labels: LabelMap;
  augment?: AugmentSpec;
  namespace: string;
  cacheDir: string;
  batchSize: number;
  seed: number;
  session: SessionOptions;
  limits?: DataLimits;
  emit: (e: FineTuneEvent) => void;
}

async function prepareInputs(o: PrepareInputsOptions): Promise<{
  data: CachedData;
  items: { train: ImageItem[]; val: ImageItem[]; test: ImageItem[] };
  test?: LabelledSamples;
  source: ActivationSource;
  issues: DatasetIssue[];
  dispose(): Promise<void>;
}> {
  const { backbone } = o;
  const p = backbone.preprocessing;
  const atInput = o.at === backbone.inputName;
  const lower = atInput ? undefined : cut(o.model, o.at);
  if (lower && !lower.graph.outputs[0]!.shape) inferShapes(lower);
  const sampleDims = atInput
    ? backbone.itemDims
    : ((lower!.graph.outputs[0]!.shape ?? [undefined])
        .slice(1)
        .map((d) => (typeof d === 'number' ? d : NaN)) as number[]);
  if (sampleDims.length === 0 || sampleDims.some((d) => !Number.isFinite(d))) {
    throw new GraftError('SHAPE_MISMATCH', `The activations at '${o.at}' have no static shape`, {
      value: o.at,
      fix: 'give the backbone a fixed input size (--input-size)',
    });
  }
  const per = sampleDims.reduce((a, d) => a * d, 1);
  const label = (it: ImageItem) => o.labels.indexOf(it.label);
  // Test activations are cached too when they come from the disk store: the frozen part below the boundary
  // is the same for every run at this boundary, so later runs (other strategies, seeds) reuse them.
  const cacheTest = !atInput && !o.augment;
  const wanted = [...o.items.train, ...o.items.val, ...(cacheTest ? o.items.test : [])];
  const started = performance.now();
  const issues: DatasetIssue[] = [];
  const failed = new Set<string>();
  let computed = 0;
  let reused = 0;
  let storePath: string | undefined;
  const rows = new Map<ImageItem, Float32Array>();
  const load = async (it: ImageItem) => {
    const out = new Float32Array(exampleSize(p));
    writeNormalized(await decodeForModel(it.path, p, { width: it.width, height: it.height }, o.limits), p, out, 0);
    return out;
  };
  if (atInput) {
    // the first block trains: the "activations" are the preprocessed images themselves
    for (const it of wanted) {
      try {
        rows.set(it, await load(it));
        computed++;
      } catch (e) {
        failed.add(it.hash);
        issues.push(decodeIssue(it, e));
      }
    }
  } else {
    const store = o.augment
      ? new MemoryFeatureStore('augment', per)
      : FileFeatureStore.open(o.cacheDir, sha256Hex(`${o.namespace}|activations|${o.at}`).slice(0, 32), per);
    storePath = store instanceof FileFeatureStore ? store.path : undefined;
    const session = await Session.create(lower!, o.session);
    try {
      const r = await extractFeatures({
        session,
        inputName: backbone.inputName,
        outputName: o.at,
        itemDims: backbone.itemDims,
        items: wanted.map((it) => ({ key: it.hash, label: it.id, load: () => load(it) })),
        store,
        batchSize: o.batchSize,
        onProgress: (progress: ExtractProgress) => o.emit({ type: 'extract', progress }),
      });
      computed = r.computed;
      reused = r.reused;
      for (const f of r.failed) failed.add(f.key);
      wanted.forEach((it, i) => {
        const v = r.vectors[i];
        if (v) rows.set(it, v);
      });
      for (const f of r.failed) {
        const it = wanted.find((w) => w.hash === f.key)!;
        issues.push(decodeIssue(it, new Error(f.error)));
      }
    } finally {
      await session.dispose();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  o.emit({
    type: 'extract-done',
    computed,
    reused,
    failed: failed.size,
    seconds,
    imagesPerSecond: computed > 0 ? computed / seconds : undefined,
  });
  const keep = (list: ImageItem[]) => list.filter((it) => !failed.has(it.hash));
  const items = { train: keep(o.items.train), val: keep(o.items.val), test: keep(o.items.test) };
  const stack = (list: ImageItem[]): LabelledSamples => {
    const data = new Float32Array(list.length * per);
    list.forEach((it, i) => data.set(rows.get(it)!, i * per));
    return { data, sampleDims, labels: Int32Array.from(list, label) };
  };
  const train = stack(items.train);
  const val = items.val.length ? stack(items.val) : undefined;
  const test = cacheTest && items.test.length ? stack(items.test) : undefined;
  const memoryBytes = (train.data.length + (val?.data.length ?? 0) + (test?.data.length ?? 0)) * 4;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const dims = `[${sampleDims.join('x')}]`;

  let dispose = async () => {};
  let refresh: CachedData['refresh'];
  let message: string;
  let kind: ActivationSource['kind'];
  if (o.augment) {
    kind = atInput ? 'images' : 'recompute';
    const aug = o.augment;
    const lowerSession = lower ? await Session.create(lower, o.session) : undefined;
    dispose = async () => lowerSession?.dispose();
    const loader = new ImageLoader(items.train, {
      preprocessing: p,
      labels: o.labels,
      batchSize: o.batchSize,
      limits: o.limits,
    });
    refresh = async (epoch, into) => {
      let row = 0;
      for await (const b of loader.epoch({ rng: mulberry32(o.seed * 100003 + epoch + 1), augment: aug })) {
        if (b.items.some((it, k) => it !== items.train[row + k])) {
          throw new GraftError('IO', 'A training image stopped decoding during training', {
            file: b.items[0]?.path,
            fix: 'replace the file, or train without --augment',
          });
        }
        if (lowerSession) {
          const out = await lowerSession.run({ [backbone.inputName]: { dtype: 'float32', dims: b.dims, data: b.x } }, [
            o.at,
          ]);
          into.set(out[o.at]!.data as Float32Array, row * per);
        } else into.set(b.x, row * per);
        row += b.items.length;
      }
    };
    message = atInput
      ? `augmentation on: every block trains, so images are decoded and augmented every epoch (no activation cache)`
      : `augmentation on: activations at ${o.at} ${dims} are recomputed every epoch from augmented images (the frozen part runs forward each epoch; no activation cache)`;
  } else if (atInput) {
    kind = 'images';
    message = `no activation cache: the first block trains, so the whole network runs every step; ${items.train.length + items.val.length} preprocessed images held in memory (${mb(memoryBytes)})`;
  } else {
    kind = 'cache';
    message = `freeze-boundary cache: activations at ${o.at} ${dims} computed once (${computed} computed, ${reused} reused) and kept in memory (${mb(memoryBytes)}, ${items.train.length}/${items.val.length}/${test ? items.test.length : 0} train/val/test); store ${storePath}; each epoch trains only the graph above it`;
  }
  return {
    data: { at: o.at, train, val, refresh },
    items,
    test,
    source: {
      kind,
      at: o.at,
      sampleDims,
      message,
      memoryBytes,
      storePath,
      computed,
      reused,
      seconds,
      imagesPerSecond: computed > 0 ? computed / seconds : undefined,
    },
    issues,
    dispose,
  };
}

function decodeIssue(it: ImageItem, e: unknown): DatasetIssue {
  return {
    kind: 'decode-failed',
    files: [it.id],
    skipped: true,
    detail: e instanceof Error ? e.message.split('\n')[0]! : String(e),
    label: it.label,
    split: it.split,
  };
}
