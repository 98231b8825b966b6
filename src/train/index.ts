// Public, browser-safe API of the trainer. File-system helpers live in ../node/checkpoint-file.ts (Node only).
export * from './types.js';
export { Trainer, paramsFromModel, type TrainerOptions, type FitResult, type EvalResult } from './trainer.js';
export * from './optim/index.js';
export * from './schedules.js';
export {
  TRAIN_EVENTS,
  CallbackList,
  CancelBatch,
  CancelEpoch,
  CancelFit,
  type TrainEvent,
  type Callback,
  type CallbackHook,
} from './events.js';
export * from './callbacks/index.js';
export { Rng, glorotUniform, heNormal, type RngState } from '../util/rng.js';
export { encodeCheckpoint, decodeCheckpoint, encodeRecord, decodeRecord, crc32 } from './checkpoint.js';
export { accuracyModeFor, countCorrect, type AccuracyMode } from './metrics.js';
export { prepareDataset, gatherBatch, type PreparedDataset } from './batches.js';
