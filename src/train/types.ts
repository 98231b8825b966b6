import type { DType } from '../onnx/dtype.js';
import type { Dim, Model } from '../onnx/graph.js';
import type { OptimizerState } from './optim/types.js';
import type { RngState } from '../util/rng.js';

/**
 * What the trainer needs from a training graph. autodiff's `buildTrainingGraph` returns exactly this
 * (structurally), so the trainer does not depend on how the graph was made; tests also write one by hand.
 */
export interface TrainerGraph {
  model: Model;
  /** graph inputs fed with features, in order */
  dataInputs: readonly string[];
  /** int64 (or int32) class indices, or float targets */
  labels: { name: string; dtype: DType; shape: readonly Dim[] };
  /** trainable initializer names, turned into graph inputs */
  params: readonly string[];
  /** param name -> name of the graph output holding d(loss)/d(param) */
  gradOf: Readonly<Record<string, string>>;
  /** scalar loss output (a mean over the batch) */
  loss: string;
  logits: string;
}

export type LabelArray = Int32Array | Float32Array | BigInt64Array | Uint8Array;

/** Samples held in memory: row-major features with the sample index first. */
export interface ArrayDataset {
  /** one array for a graph with one data input, else one per data input name */
  features: Float32Array | Readonly<Record<string, Float32Array>>;
  labels: LabelArray;
  /** per-sample shape of each data input, needed only where the graph leaves non-batch dims symbolic */
  featureShape?: readonly number[] | Readonly<Record<string, readonly number[]>>;
}

/** One line of training history. Epochs are counted from 1. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  /** undefined when the labels are regression targets */
  trainAcc?: number;
  valLoss?: number;
  valAcc?: number;
  /** base learning rate (hyper-parameter × schedule) at the epoch's last step */
  lr: number;
  /** optimizer steps taken so far, over all epochs */
  steps: number;
  seconds: number;
}

/** The metrics a callback may monitor. */
export type MetricName = 'trainLoss' | 'trainAcc' | 'valLoss' | 'valAcc';

/** Everything needed to continue training exactly where it stopped. Plain data + typed arrays. */
export interface TrainingCheckpoint {
  /** completed epochs */
  epoch: number;
  /** optimizer steps taken (the schedule's clock) */
  step: number;
  params: Record<string, Float32Array>;
  optimizer: OptimizerState;
  rng: RngState;
  history: EpochRecord[];
  /** how the run was configured (batch size, seed, optimizer, ...); informational and checked on resume */
  config: Record<string, unknown>;
  /** state of stateful callbacks (early stopping counters, best params), by callback name */
  callbacks: Record<string, unknown>;
}

export type CancelLevel = 'batch' | 'epoch' | 'fit';

/** What callbacks see. They read state here and change hyper-parameters only through `setHyper`. */
export interface TrainerView {
  /** 0-based index of the current epoch */
  readonly epoch: number;
  readonly epochs: number;
  /** epochs fully completed (history length) */
  readonly completedEpochs: number;
  /** optimizer steps taken so far (all epochs) */
  readonly step: number;
  readonly totalSteps: number;
  /** 0-based index of the current batch in its epoch */
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** samples in the current batch (the last one may be smaller) */
  readonly batchSize: number;
  /** dataset indices of the current batch's samples (the shuffled order) */
  readonly batchIndices: Uint32Array;
  /** loss of the current batch (set before afterLoss) */
  readonly loss: number | undefined;
  readonly history: readonly EpochRecord[];
  /** the latest epoch record (set before afterEpoch) */
  readonly lastRecord: EpochRecord | undefined;
  readonly hyper: Readonly<Record<string, number>>;
  /** base learning rate in effect this step: hyper.lr × schedule(progress) */
  readonly lr: number;
  readonly params: Readonly<Record<string, Float32Array>>;
  /** the level that was cancelled, visible in the matching after* event */
  readonly cancelled: CancelLevel | undefined;
  /** The one way to change hyper-parameters (lr, weightDecay, momentum, ...). */
  setHyper(patch: Readonly<Record<string, number>>): void;
  /** Replaces parameter values (e.g. restoring the best ones); names and sizes must match. */
  setParams(values: Readonly<Record<string, Float32Array>>): void;
  /** The full resumable state, as written to a checkpoint. */
  snapshot(): TrainingCheckpoint;
}
