import { applyTrainedParams } from '../../autodiff/build.js';
import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { checkGraph } from '../../onnx/check.js';
import type { Model } from '../../onnx/graph.js';
import { attachHead } from '../../surgery/head.js';
import type { ArrayDataset } from '../../train/types.js';
import { headDropout, hiddenLayers } from '../heads/index.js';
import { withoutDropout } from '../pipeline-head.js';
import { headForStrategy } from '../strategies/index.js';
import { SentenceInputEncoder, writeTextMetadata } from './classifier.js';
import { type EncoderUnfreeze, encoderParameters, parseEncoderUnfreeze, unfrozenWeights } from './encoder-params.js';
import { startingStandardization } from './features.js';
import { fitTextGraph } from './fit.js';
import { ENCODER_INPUTS, sentenceFeatureModel } from './sentence-encoder.js';
import {
  type TextBackbone,
  type TrainTextOptions,
  type TrainedTextModel,
  sentenceTokenizerOf,
  textPreparation,
} from './train.js';

/**
 * Defaults of transformer fine-tuning: a few passes; the encoder at a tenth of the head's rate, so the
 * fresh head learns fast while the pretrained weights move a little (measured on the bench's tasks).
 */
export const ENCODER_FINE_TUNE_DEFAULTS = {
  epochs: 4,
  lr: 1e-3,
  batchSize: 32,
  weightDecay: 1e-2,
  encoderLrScale: 0.1,
};

/**
 * Fine-tunes a sentence encoder with a new head: the head and the unfrozen encoder weights (all, or the
 * last N layers and what follows them) train together through the autodiff-compiled training graph. The
 * encoder's pooled output is standardised with its starting statistics on the training texts, so one
 * learning rate suits the head whatever the scale of the embedding.
 */
export async function fineTuneSentenceEncoder(
  opts: TrainTextOptions & { unfreeze?: string; encoderLrScale?: number },
): Promise<TrainedTextModel> {
  const bb = opts.backbone as Extract<TextBackbone, { kind: 'sentence-encoder' }>;
  const head = headForStrategy('fine-tune', opts.head);
  const unfreeze: EncoderUnfreeze = parseEncoderUnfreeze(opts.unfreeze);
  const numClasses = opts.classes.length;
  const d = ENCODER_FINE_TUNE_DEFAULTS;
  const seed = opts.seed ?? 0;
  const epochs = opts.epochs ?? d.epochs;
  const lr = opts.lr ?? d.lr;
  const batchSize = opts.batchSize ?? d.batchSize;
  const weightDecay = opts.weightDecay ?? d.weightDecay;
  const encoderLrScale = opts.encoderLrScale ?? d.encoderLrScale;
  const dropout = headDropout(head, opts.dropout);
  const sf = sentenceFeatureModel(bb.model, bb.output);
  const encoder = new SentenceInputEncoder(
    sentenceTokenizerOf(bb, opts.tokenizer?.maxTokens ?? 128),
    sf.inputs,
    textPreparation(opts),
  );
  const weights = unfrozenWeights(encoderParameters(sf.model), unfreeze);
  opts.onEvent?.({
    type: 'info',
    message: `fine-tuning ${weights.length} encoder weights (--unfreeze ${unfreeze.kind === 'all' ? 'all' : `last:${unfreeze.layers}`}) with the head`,
  });

  const started = performance.now();
  const trainIds = opts.train.texts.map((t) => encoder.encode(t));
  const valIds = opts.val?.texts.map((t) => encoder.encode(t));
  const stats = await startingStandardization(sf.model, sf.features, trainIds, encoder, {
    session: opts.session,
    onProgress: (done, total) => opts.onEvent?.({ type: 'features', split: 'train', done, total }),
  });
  const featureSeconds = (performance.now() - started) / 1000;

  const standardized = withStandardization(sf.model, sf.features, stats);
  const forward = attachHead(standardized.model, standardized.features, {
    numClasses,
    hidden: hiddenLayers(head),
    dropout,
    seed,
    outputName: 'logits',
  });
  const trainable = [...weights, ...forward.headParams];
  const maxLen = Math.max(1, ...trainIds.map((l) => l.length), ...(valIds ?? []).map((l) => l.length));
  const fit = await fitTextGraph({
    model: withFloatInputs(forward.model, sf.inputs),
    logits: forward.logits,
    trainable,
    classWeights: opts.classWeights,
    optimizer: {
      name: 'adamw',
      lr,
      weightDecay,
      groups: [{ name: 'encoder', params: weights, lrMultiplier: encoderLrScale, weightDecay: 0 }],
    },
    warmup: 0.1,
    batchSize,
    epochs,
    seed,
    what: 'text encoder fine-tune',
    session: opts.session,
    onEpoch: (record, epochs) => opts.onEvent?.({ type: 'epoch', record, epochs }),
    train: tokenDataset(trainIds, opts.train.labels, sf.inputs, maxLen),
    val: valIds && opts.val ? tokenDataset(valIds, opts.val.labels, sf.inputs, maxLen) : undefined,
  });
  const { params, trainSeconds } = fit;
  const model = withoutDropout(applyTrainedParams(forward.model, params));
  writeTextMetadata(model, encoder, opts.classes);
  const texts = trainIds.length;
  return {
    model,
    encoder,
    strategy: 'fine-tune',
    head,
    history: fit.history,
    bestEpoch: fit.bestEpoch,
    stopReason: fit.stopReason,
    config: {
      epochs,
      lr,
      batch: batchSize,
      seed,
      weightDecay,
      optimizer: 'adamw',
      schedule: 'cosine, 10% warm-up',
      unfreeze: unfreeze.kind === 'all' ? 'all' : `last:${unfreeze.layers}`,
      trainedEncoderWeights: weights.length,
      encoderLrScale,
      paddedTokens: maxLen,
      maxTokens: encoder.tokenizer.maxTokens,
      ...(hiddenLayers(head).length ? { hidden: hiddenLayers(head), dropout } : {}),
      ...(fit.bestEpoch !== undefined ? { bestEpoch: fit.bestEpoch } : {}),
    },
    timing: {
      featureSeconds,
      trainSeconds,
      textsPerSecond: texts / Math.max(featureSeconds, 1e-9),
      trainTextsPerSecond: (texts * fit.history.length) / Math.max(trainSeconds, 1e-9),
    },
  };
}

/** The model with (x - shift) * scale applied to its feature output, which becomes the new features. */
function withStandardization(
  model: Model,
  features: string,
  s: { shift: Float32Array; scale: Float32Array },
): { model: Model; features: string } {
  const m = model.clone();
  const b = new GraphBuilder(m.graph);
  const dim = s.shift.length;
  const shifted = b.op('Sub', [features, b.initializer('encoder_feature_shift', s.shift, [dim])]);
  const f = b.op('Mul', [shifted, b.initializer('encoder_feature_scale', s.scale, [dim])], undefined, {
    outputs: ['standardized_features'],
  });
  m.graph.outputs = [{ name: f, dtype: 'float32', shape: ['N', dim] }];
  m.graph.valueInfo.set(f, { name: f, dtype: 'float32', shape: ['N', dim] });
  m.graph.cleanup();
  checkGraph(m.graph);
  return { model: m, features: f };
}

/**
 * The model taking its int64 token inputs as float32 (cast inside): the trainer feeds float arrays. Ids
 * up to 2^24 are exact in float32, far beyond any vocabulary here.
 */
function withFloatInputs(model: Model, names: readonly string[]): Model {
  const m = model.clone();
  const g = m.graph;
  const b = new GraphBuilder(g);
  for (const name of names) {
    const input = g.inputs.find((i) => i.name === name);
    if (!input || input.dtype !== 'int64') {
      throw new GraftError('BAD_MODEL', `The encoder input '${name}' is not int64`, {
        value: name,
        found: input?.dtype ?? 'missing',
        fix: 'export the encoder with int64 token inputs',
      });
    }
    const inner = g.uniqueName(`${name}_int64`);
    g.replaceAllUses(name, inner);
    b.op('Cast', [name], { to: 7 }, { outputs: [inner], name: `${name}_to_int64` });
    input.dtype = 'float32';
  }
  g.touch().cleanup().toposort();
  checkGraph(g);
  return m;
}

/** Token-id lists as the trainer's float arrays, padded to `length`, with their masks. */
function tokenDataset(
  lists: readonly Int32Array[],
  labels: Int32Array,
  inputs: readonly string[],
  length: number,
): ArrayDataset {
  const n = lists.length;
  const ids = new Float32Array(n * length);
  const mask = new Float32Array(n * length);
  lists.forEach((l, i) => {
    for (let j = 0; j < Math.min(l.length, length); j++) {
      ids[i * length + j] = l[j]!;
      mask[i * length + j] = 1;
    }
  });
  // the encoder's inputs by their Hugging Face names; token types (when it takes them) are all 0
  const byName = (name: string) =>
    name === ENCODER_INPUTS.ids ? ids : name === ENCODER_INPUTS.mask ? mask : new Float32Array(n * length);
  return {
    features: Object.fromEntries(inputs.map((name) => [name, byName(name)])),
    labels,
    featureShape: Object.fromEntries(inputs.map((name) => [name, [length]])),
  };
}
