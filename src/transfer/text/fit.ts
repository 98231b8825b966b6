import { buildTrainingGraph } from '../../autodiff/build.js';
import type { Model } from '../../onnx/graph.js';
import type { SessionOptions } from '../../runtime/session.js';
import { bestParams } from '../../train/callbacks/best-params.js';
import { failOnDivergence } from '../../train/callbacks/fail-on-divergence.js';
import type { Callback } from '../../train/events.js';
import { cosineSchedule, withWarmup } from '../../train/schedules.js';
import { type TrainerOptions, Trainer, paramsFromModel } from '../../train/trainer.js';
import type { ArrayDataset, EpochRecord } from '../../train/types.js';

export interface TextFitOptions {
  /** the forward model with its head; its float token inputs are the datasets' features */
  model: Model;
  logits: string;
  trainable: string[];
  classWeights?: number[];
  /** the optimizer with its parameter groups (the pretrained part's rate and decay) */
  optimizer: TrainerOptions['optimizer'];
  /** fraction of the steps the cosine schedule warms up over */
  warmup: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** what trains, for the divergence message */
  what: string;
  session?: SessionOptions;
  onEpoch?: (record: EpochRecord, epochs: number) => void;
  train: ArrayDataset;
  val?: ArrayDataset;
}

export interface TextFit {
  /** the epoch with the lowest validation loss when there is validation data, else the last */
  params: Record<string, Float32Array>;
  history: EpochRecord[];
  bestEpoch?: number;
  stopReason?: string;
  trainSeconds: number;
}

/**
 * The training loop both text fine-tunes share (word vectors, sentence encoder): the training graph built for
 * the session's provider, AdamW under a warmed-up cosine schedule, refusal of a diverging run, and the epoch
 * with the lowest validation loss restored at the end.
 */
export async function fitTextGraph(o: TextFitOptions): Promise<TextFit> {
  const graph = buildTrainingGraph(o.model, {
    logits: o.logits,
    loss: { kind: 'softmax-cross-entropy', ...(o.classWeights ? { classWeights: o.classWeights } : {}) },
    trainable: o.trainable,
    target: o.session?.device,
  });
  const best = o.val ? bestParams({ monitor: 'valLoss', restoreAtEnd: true }) : undefined;
  const progress: Callback = {
    name: 'textProgress',
    order: 90,
    afterEpoch: (t) => {
      if (t.lastRecord) o.onEpoch?.(t.lastRecord, o.epochs);
    },
  };
  const trainer = new Trainer({
    graph,
    params: paramsFromModel(o.model, graph.params),
    optimizer: o.optimizer,
    schedule: withWarmup(o.warmup, cosineSchedule()),
    batchSize: o.batchSize,
    epochs: o.epochs,
    seed: o.seed,
    callbacks: [failOnDivergence({ what: o.what }), ...(best ? [best] : []), progress],
    session: o.session,
  });
  const started = performance.now();
  let fit;
  try {
    fit = await trainer.fit(o.train, o.val);
  } finally {
    await trainer.dispose();
  }
  return {
    params: best?.best ? best.best.params : fit.params,
    history: fit.history,
    bestEpoch: best?.best?.epoch,
    stopReason: fit.stopReason,
    trainSeconds: (performance.now() - started) / 1000,
  };
}
