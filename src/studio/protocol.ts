// The messages between the studio's page (src/studio/page.ts) and its training worker (worker.ts). Files
// cross as Blobs (structured clone, no copy of their bytes), results as plain data and transferred buffers.
import type { ClassificationReport } from '../eval/report.js';
import type { EpochRecord } from '../train/types.js';

export type Split = 'train' | 'val' | 'test';

/** The ways the studio trains, as graft train names them. */
export const STUDIO_STRATEGIES = ['linear-probe', 'knn', 'prototype', 'fine-tune'] as const;
export type StudioStrategy = (typeof STUDIO_STRATEGIES)[number];

export interface ModelInfo {
  name: string;
  sha256: string;
  /** [height, width] */
  inputSize: [number, number];
  layout: string;
  featureValue: string;
  dim: number;
  blocks: string[];
}

export interface TrainItem {
  file: Blob;
  /** index into the classes */
  label: number;
  split: Split;
}

export interface TrainRequest {
  classes: string[];
  items: TrainItem[];
  strategy: StudioStrategy;
  /** fine-tune: how many of the last blocks train (with the head) */
  blocks: number;
  epochs: number;
  probeEpochs: number;
  lr?: number;
  batchSize: number;
  seed: number;
  threads: number;
}

export type ToWorker =
  | { type: 'model'; bytes: ArrayBuffer; name: string }
  | { type: 'train'; request: TrainRequest }
  | { type: 'predict'; files: Blob[]; top: number }
  | { type: 'predict-pixels'; image: { data: Uint8ClampedArray; width: number; height: number }; top: number };

export interface EpochEvent {
  phase: string;
  record: EpochRecord;
  epochs: number;
}

export interface TrainResult {
  strategy: StudioStrategy;
  /** model.onnx (the grafted classifier, as graft train writes it) */
  model: ArrayBuffer;
  temperature: number;
  valAccuracy?: number;
  /** on the test split (or val when there is no test split) */
  report?: ClassificationReport;
  /** which split `report` scores */
  evaluated: Split;
  /** per scored image (item indices into the request's items): top-1 class */
  scoredItems: number[];
  predictions: number[];
  /** items the worker could not decode, with why */
  failed: { item: number; reason: string }[];
  history: (EpochRecord & { phase: string })[];
  /** extract: the whole pass over the images (decode: reading and preprocessing them, run: the model) */
  seconds: { extract: number; decode: number; run: number; train: number };
  imagesPerSecond: number;
  /** fine-tune: the mean time of one training step of the blocks' phase (its epochs' seconds over their steps) */
  stepMs?: number;
  device: string;
  threads?: number;
}

export interface Scored {
  label: string;
  probability: number;
}

export type FromWorker =
  | { type: 'model'; info: ModelInfo }
  | { type: 'progress'; stage: 'extract' | 'train'; done: number; total: number; seconds: number; message?: string }
  | { type: 'epoch'; epoch: EpochEvent }
  | { type: 'trained'; result: TrainResult }
  | { type: 'predicted'; results: ({ top: Scored[] } | { error: string })[] }
  | { type: 'error'; message: string; during: string };
