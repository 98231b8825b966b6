// The fine-tuning recipe for a browser tab or a worker: images in memory in, model.onnx bytes out. The same
// steps as `graft train --strategy fine-tune` (app/finetune.ts) without files: a head grafted on the
// backbone, the freeze plan and the strategy's phases, the frozen part run once (activations at the freeze
// boundary held in memory), the Trainer on onnxruntime-web (wasm, or WebGPU where the browser has an
// adapter), a temperature fitted on the validation images, and the grafted classifier with its labels and
// preprocessing. It imports nothing of Node, so it runs under onnxruntime-node too (the tests compare both).
import { GraftError } from '../errors.js';
import { exampleSize, writeModelInput, type RawImage } from '../data/image.js';
import { fitTemperature } from '../eval/index.js';
import { encodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/graph.js';
import type { Device, SessionOptions } from '../runtime/session.js';
import { cut } from '../surgery/cut.js';
import { type Block, detectBlocks } from '../transfer/finetune/blocks.js';
import { forwardAll } from '../transfer/finetune/forward.js';
import {
  type BatchNormMode,
  type FreezePlan,
  formatUnfreeze,
  freezeReport,
  parseUnfreeze,
  planFreeze,
} from '../transfer/finetune/freeze-plan.js';
import { type ComposedClassifier, composeClassifier, createHead } from '../transfer/finetune/head.js';
import {
  type CachedData,
  type FineTuneOptions,
  type FineTuneResult,
  type LabelledSamples,
  type PreparedPhase,
  fineTune,
  preparePhase,
} from '../transfer/finetune/run.js';
import { upperGraph } from '../transfer/finetune/split.js';
import { type HeadChoice, formatHeadChoice, hiddenLayers, parseHeadChoice } from '../transfer/heads/index.js';
import { graftClassifier } from '../transfer/pipeline-graft.js';
import { type FineTuneStrategy, headForStrategy, planPhases, strategyInfo } from '../transfer/strategies/index.js';
import { type PhaseSchedule, type PhaseSpec, STRATEGY_DEFAULTS, formatPhase } from '../transfer/strategies/phases.js';
import type { EpochRecord } from '../train/types.js';
import type { WebBackbone } from './backbone.js';
import { type DeviceRequest, chooseDevice } from './device.js';

/** Labelled images: decoded pixels (resized and normalised here) or rows already preprocessed. */
export interface LabelledImages {
  /**
   * decoded images, interleaved, 0..255 (a canvas's ImageData is one: RGBA); resized and normalised with the
   * backbone's preprocessing
   */
  images?: readonly RawImage[];
  /** or images already preprocessed: one row of `backbone.itemDims` values per image */
  pixels?: Float32Array;
  /** the class index (into `classes`) of each image */
  labels: ArrayLike<number>;
}

export interface WebFineTuneOptions {
  backbone: WebBackbone;
  /** class names; labels index into them */
  classes: readonly string[];
  train: LabelledImages;
  /** validation images: scored after every epoch, and the softmax temperature is fitted on them */
  val?: LabelledImages;
  /** default 'fine-tune': a head warm-up, then the unfrozen blocks with the head */
  strategy?: FineTuneStrategy;
  /** which blocks train: last:N, from:BLOCK, block:GLOB,..., all (default last:1) */
  unfreeze?: string;
  /** parameter globs kept frozen inside unfrozen blocks */
  freeze?: readonly string[];
  bn?: BatchNormMode;
  /** 'linear' (default) or 'mlp:256' */
  head?: string;
  epochs?: number;
  lr?: number;
  headEpochs?: number;
  probeEpochs?: number;
  discriminative?: number;
  /** fine-tune, lp-ft: WiSE-FT, end at probe + interpolate x (fine-tuned - probe) (default: the strategy's) */
  interpolate?: number;
  schedule?: PhaseSchedule;
  batchSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  seed?: number;
  /** 'auto' (default): webgpu where the browser has an adapter, else wasm (the CPU under Node) */
  device?: DeviceRequest;
  /** the provider the training graphs are built for (default: the device's); see FineTuneOptions.target */
  target?: string;
  /** wasm threads; the first session of a page fixes them (onnxruntime-web has one thread pool) */
  threads?: number;
  onEvent?: (e: WebFineTuneEvent) => void;
}

export type WebFineTuneEvent =
  | { type: 'stage'; message: string }
  | { type: 'freeze-report'; lines: string[] }
  | { type: 'phases'; lines: string[] }
  | { type: 'phase'; name: string; message: string }
  | { type: 'epoch'; phase: string; record: EpochRecord; epochs: number };

/** What the fine-tune will do, before any image is read: the classifier, its blocks, the freeze plan, the phases. */
export interface FineTunePlan {
  backbone: WebBackbone;
  classes: string[];
  classifier: ComposedClassifier;
  head: HeadChoice;
  strategy: FineTuneStrategy;
  blocks: Block[];
  plan: FreezePlan;
  phases: PhaseSpec[];
  device: Device;
  session: SessionOptions;
  seed: number;
  freezeReport: string[];
}

/** The options of a plan: everything but the images. */
export type FineTunePlanOptions = Omit<WebFineTuneOptions, 'train' | 'val'>;

/** Everything planned before training: what a caller can show, and the phases' training graphs. */
export interface PreparedFineTune extends FineTunePlan {
  /** the training images as activations at the freeze boundary (computed once), and the validation ones */
  data: CachedData;
  /** the options `fineTune` runs with (and `preparePhase` builds a phase's graph from) */
  fineTuneOptions: FineTuneOptions;
  /**
   * The training graph of phase `index` and its inputs, as training builds it from the starting weights.
   * A 'probe' phase has none (it fits the head on pooled features).
   */
  phaseGraph(index: number): Promise<PreparedPhase>;
}

export interface WebFineTuneResult {
  /** the grafted classifier: `pixel_values` to calibrated `logits` and `probabilities`, labels in metadata */
  model: Model;
  /** model.onnx */
  bytes: Uint8Array;
  /**
   * backbone and head with the trained values, before grafting (image input to uncalibrated logits at
   * `classifier.logits`): what scores activations cached at the freeze boundary
   */
  trained: Model;
  history: (EpochRecord & { phase: string })[];
  phases: FineTuneResult['phases'];
  device: Device;
  temperature: number;
  /** on the validation images, when given */
  valAccuracy?: number;
  seconds: number;
}

/**
 * Plans the fine-tune: the head grafted on the backbone, the blocks, the freeze plan (whose boundary is
 * where the activations must be taken) and the strategy's phases. Reads no image.
 */
export async function planFineTune(opts: FineTunePlanOptions): Promise<FineTunePlan> {
  const emit = (e: WebFineTuneEvent) => opts.onEvent?.(e);
  const { backbone } = opts;
  const classes = [...opts.classes];
  if (classes.length < 2) {
    throw new GraftError('BAD_INPUT', 'A classifier needs at least two classes', {
      found: `${classes.length}`,
      fix: 'pass every class name in `classes`',
    });
  }
  const seed = opts.seed ?? 0;
  const strategy = opts.strategy ?? 'fine-tune';
  strategyInfo(strategy, { family: 'weights', data: 'image' });
  const head = headForStrategy(strategy, opts.head ? parseHeadChoice(opts.head) : undefined);
  const { device } = await chooseDevice(opts.device);
  const session: SessionOptions = { device, ...(opts.threads ? { intraOpThreads: opts.threads } : {}) };
  emit({ type: 'stage', message: `training on ${device}` });

  const classifier = composeClassifier(
    backbone.model,
    backbone.featureValue,
    createHead(backbone.dim, classes.length, { hidden: hiddenLayers(head), seed }),
  );
  const blocks = detectBlocks(classifier.model, { headParams: classifier.headParams });
  const plan = planFreeze(classifier.model.graph, blocks, {
    unfreeze: parseUnfreeze(opts.unfreeze ?? 'last:1'),
    freeze: opts.freeze,
    bn: opts.bn,
  });
  const report = freezeReport(plan);
  emit({ type: 'freeze-report', lines: report });
  const phases = planPhases(strategy, plan, {
    epochs: opts.epochs ?? STRATEGY_DEFAULTS.epochs,
    lr: opts.lr ?? STRATEGY_DEFAULTS.lr,
    headEpochs: opts.headEpochs,
    probeEpochs: opts.probeEpochs,
    discriminative: opts.discriminative === 0 ? false : opts.discriminative,
    schedule: opts.schedule,
    interpolate: opts.interpolate,
  });
  emit({
    type: 'phases',
    lines: phases.map((p) =>
      formatPhase(
        p,
        plan.blocks.map((b) => b.block.name),
      ),
    ),
  });
  return {
    backbone,
    classes,
    classifier,
    head,
    strategy,
    blocks,
    plan,
    phases,
    device,
    session,
    seed,
    freezeReport: report,
  };
}

/** Plans the fine-tune and computes the activations at the freeze boundary. */
export async function prepareFineTune(opts: WebFineTuneOptions): Promise<PreparedFineTune> {
  const emit = (e: WebFineTuneEvent) => opts.onEvent?.(e);
  const planned = await planFineTune(opts);
  const { backbone, classes, classifier, plan, session } = planned;
  const train = toSamples(opts.train, backbone, classes.length, 'train');
  const val = opts.val ? toSamples(opts.val, backbone, classes.length, 'val') : undefined;
  const at = plan.boundary;
  let data: CachedData;
  if (at === backbone.inputName) data = { at, train, val };
  else {
    // the frozen part below the boundary runs once; training reads its output
    const lower = cut(classifier.model, at);
    const lift = async (s: LabelledSamples): Promise<LabelledSamples> => ({
      ...(await forwardAll(lower, s, { outputs: [at], session }))[at]!,
      labels: s.labels,
    });
    const t0 = performance.now();
    data = { at, train: await lift(train), val: val ? await lift(val) : undefined };
    const n = train.labels.length + (val?.labels.length ?? 0);
    emit({
      type: 'stage',
      message: `${n} images through the frozen blocks in ${((performance.now() - t0) / 1000).toFixed(1)}s (activations at ${at})`,
    });
  }
  return withFineTuneData(planned, data, opts);
}

/**
 * A plan with its training data: activations at the plan's boundary (`data.at` must be `plan.boundary`),
 * computed by the caller (prepareFineTune from images in memory; the studio streams them from files).
 */
export function withFineTuneData(
  planned: FineTunePlan,
  data: CachedData,
  opts: Pick<WebFineTuneOptions, 'batchSize' | 'weightDecay' | 'labelSmoothing' | 'target' | 'onEvent'> = {},
): PreparedFineTune {
  const emit = (e: WebFineTuneEvent) => opts.onEvent?.(e);
  const { classifier, plan, phases, head, classes, seed, session } = planned;
  if (data.at !== plan.boundary) {
    throw new GraftError('BAD_INPUT', 'The training activations are not taken at the freeze boundary', {
      expected: plan.boundary,
      found: data.at,
      fix: 'compute the activations at plan.boundary',
    });
  }
  const fineTuneOptions: FineTuneOptions = {
    model: classifier.model,
    logits: classifier.logits,
    featureValue: classifier.featureValue,
    headParams: classifier.headParams,
    head,
    plan,
    phases,
    data,
    numClasses: classes.length,
    batchSize: opts.batchSize,
    weightDecay: opts.weightDecay,
    labelSmoothing: opts.labelSmoothing,
    seed,
    session,
    target: opts.target,
    onPhase: (e) =>
      emit({
        type: 'phase',
        name: e.phase.name,
        message: `phase ${e.phase.name}: ${e.trainableParams.toLocaleString('en-US')} trainable parameters, inputs ${e.inputs} (at ${e.at})`,
      }),
    onEpoch: (e) => emit({ type: 'epoch', phase: e.phase, record: e.record, epochs: e.epochs }),
  };
  return {
    ...planned,
    data,
    fineTuneOptions,
    phaseGraph: async (index) => {
      const phase = phases[index];
      if (!phase || phase.kind !== 'train') {
        throw new GraftError('BAD_INPUT', `Phase ${index} has no training graph`, {
          expected: 'the index of a phase that trains blocks',
          found: phase ? `phase '${phase.name}' (${phase.kind})` : `${phases.length} phases`,
          choices: phases.flatMap((p, i) => (p.kind === 'train' ? [String(i)] : [])),
        });
      }
      return preparePhase(fineTuneOptions, classifier.model, phase);
    },
  };
}

/** Trains the prepared phases and exports the classifier (model.onnx bytes). */
export async function runFineTune(prep: PreparedFineTune): Promise<WebFineTuneResult> {
  const started = performance.now();
  const result = await fineTune(prep.fineTuneOptions);
  const { featureValue } = prep.classifier;
  const data = prep.data;
  let temperature = 1;
  let valAccuracy: number | undefined;
  if (data.val && data.val.labels.length > 0) {
    const logits = prep.classifier.logits;
    const out = await forwardAll(upperGraph(result.model, data.at), data.val, {
      outputs: [logits],
      session: prep.session,
    });
    const scores = out[logits]!.data;
    const k = prep.classes.length;
    temperature = fitTemperature({ data: scores, numClasses: k }, data.val.labels).temperature;
    let correct = 0;
    data.val.labels.forEach((y, i) => {
      const row = scores.subarray(i * k, (i + 1) * k);
      if (row.indexOf(Math.max(...row)) === y) correct++;
    });
    valAccuracy = correct / data.val.labels.length;
  }
  const model = graftClassifier({
    backbone: cut(result.model, featureValue),
    featureValue,
    head: upperGraph(result.model, featureValue),
    labels: prep.classes,
    preprocessing: prep.backbone.preprocessing,
    temperature,
    provenance: {
      baseModel: prep.backbone.name,
      baseModelSha256: prep.backbone.sha256,
      featureValue: prep.backbone.featureValue,
      strategy: prep.strategy,
      head: formatHeadChoice(prep.head),
      unfreeze: formatUnfreeze(prep.plan.selector),
      trainExamples: data.train.labels.length,
      valAccuracy,
      device: prep.device,
      runtime: prep.device === 'cpu' ? 'onnxruntime-node' : 'onnxruntime-web',
    },
  });
  return {
    model,
    bytes: encodeModel(model),
    trained: result.model,
    history: result.history,
    phases: result.phases,
    device: prep.device,
    temperature,
    valAccuracy,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Fine-tunes a backbone on images held in memory and returns the classifier as model.onnx bytes. */
export async function fineTuneClassifier(opts: WebFineTuneOptions): Promise<WebFineTuneResult> {
  return runFineTune(await prepareFineTune(opts));
}

/** Images as rows of the backbone's input, checked against the class count. */
function toSamples(set: LabelledImages, backbone: WebBackbone, numClasses: number, what: string): LabelledSamples {
  const p = backbone.preprocessing;
  const per = exampleSize(p);
  let data: Float32Array;
  if (set.pixels) {
    if (set.images) {
      throw new GraftError('BAD_INPUT', `The ${what} set gives both images and pixels`, {
        fix: 'pass one of them',
      });
    }
    data = set.pixels;
  } else if (set.images) {
    data = new Float32Array(set.images.length * per);
    set.images.forEach((img, i) => writeModelInput(img, p, data, i));
  } else {
    throw new GraftError('BAD_INPUT', `The ${what} set has no images`, { fix: 'pass `images` or `pixels`' });
  }
  const count = set.labels.length;
  if (data.length !== count * per) {
    throw new GraftError('SHAPE_MISMATCH', `The ${what} images and labels disagree`, {
      expected: `${count} images of [${backbone.itemDims.join(', ')}] (${count * per} values)`,
      found: `${data.length} values`,
      fix: 'give one label per image',
    });
  }
  const labels = Int32Array.from(set.labels);
  const bad = labels.findIndex((y) => !(y >= 0 && y < numClasses));
  if (bad >= 0) {
    throw new GraftError('BAD_INPUT', `Label ${set.labels[bad]} of ${what} image ${bad} is not a class index`, {
      expected: `an integer in [0, ${numClasses - 1}]`,
      found: String(set.labels[bad]),
    });
  }
  if (count === 0) throw new GraftError('BAD_INPUT', `The ${what} set is empty`, { fix: 'pass labelled images' });
  return { data, sampleDims: backbone.itemDims, labels };
}
