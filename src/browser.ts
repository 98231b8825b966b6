// The library entry for browsers and workers (package.json `exports['.'].browser`): the browser-safe layers
// only, on onnxruntime-web (package.json's "browser" field swaps the runtime seam). Nothing here reaches
// a Node module; src/browser-bundle.test.ts bundles this file for the browser and fails if anything does.
// The Node entry (./index.ts) is this plus files, images and the zoo's downloads.

// errors
export { GraftError, isGraftError, type GraftErrorCode, type GraftErrorFields } from './errors.js';

// onnx: the model format in and out
export { Model, Graph, Node, type ValueInfo, type Dim } from './onnx/graph.js';
export { Tensor } from './onnx/tensor.js';
export type { DType, TypedArray } from './onnx/dtype.js';
export { GraphBuilder } from './onnx/builder.js';
export { checkGraph } from './onnx/check.js';
export { decodeModel, encodeModel, type DecodeOptions } from './onnx/codec.js';
export { inferShapes } from './onnx/shapes.js';

// surgery: cut, attach a head, choose what trains
export { cut } from './surgery/cut.js';
export { attachHead, type HeadSpec, type GraftedModel } from './surgery/head.js';
export { freeze, type FreezeSelector } from './surgery/freeze.js';
export { composeHead } from './surgery/compose.js';
export { parameterNames, countParams } from './surgery/params.js';

// autodiff: the training graph
export { buildTrainingGraph, applyTrainedParams, type TrainingSpec, type TrainingGraph } from './autodiff/build.js';
export { LOSS_KINDS, type LossSpec } from './autodiff/losses.js';

// train: the loop
export { Trainer, paramsFromModel, type TrainerOptions, type FitResult, type EvalResult } from './train/trainer.js';
export type { ArrayDataset, EpochRecord, TrainerGraph, TrainingCheckpoint, LabelArray } from './train/types.js';
export { listOptimizers, type OptimizerOptions } from './train/optim/index.js';
export {
  type Schedule,
  type ScheduleSpec,
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  stepSchedule,
  oneCycleSchedule,
  withWarmup,
  scheduleFromSpec,
} from './train/schedules.js';
export { CancelFit, type Callback, type TrainEvent } from './train/events.js';
export { earlyStopping, bestParams, progressLogger, checkpointEvery, terminateOnNaN } from './train/callbacks/index.js';
export { encodeCheckpoint, decodeCheckpoint } from './train/checkpoint.js';

// runtime: onnxruntime sessions
export {
  Session,
  availableDevices,
  f32,
  i64,
  type Device,
  type HostTensor,
  type SessionOptions,
} from './runtime/session.js';
export { detectBackends, type SupportedBackend } from './runtime/ort.js';
export { wasmThreads } from './runtime/ort.web.js';

// data: images as arrays, labels, splits (decoding files is Node's, in ./index.ts)
export { type Preprocessing, type ResizeMode, planResize } from './data/preprocessing.js';
export { type RawImage, toRgb, resizeToModel, writeNormalized, batchDims, exampleSize } from './data/image.js';
export { LabelMap } from './data/labels.js';
export { stratifiedSplit } from './data/split.js';

// transfer: features, heads, the grafted classifier
export { extractFeatures, type ExtractOptions, type ExtractResult } from './transfer/extract.js';
export { MemoryFeatureStore, type FeatureStore } from './transfer/feature-store.js';
export { trainHead, type TrainHeadOptions, type TrainedHead } from './transfer/pipeline-head.js';
export { parseHeadChoice, formatHeadChoice, HEAD_KINDS, type HeadChoice } from './transfer/heads/index.js';
export { STRATEGIES, strategyInfo, strategyNames, headForStrategy, planPhases } from './transfer/strategies/index.js';
export { graftClassifier, readClassifierInfo, type ClassifierInfo } from './transfer/pipeline-graft.js';

// eval: metrics and calibration
export {
  accuracy,
  confusionMatrix,
  precisionRecallF1,
  topKAccuracy,
  rocAucOvr,
  logLoss,
  topLosses,
  calibration,
  fitTemperature,
  applyTemperature,
  classificationReport,
  softmax,
} from './eval/index.js';

// the browser recipes: fine-tune a backbone fetched over HTTP on images in memory, export model.onnx
export {
  readBackbone,
  fetchBackbone,
  fetchBytes,
  type WebBackbone,
  type ReadBackboneOptions,
  type FetchBackboneOptions,
} from './app-web/backbone.js';
export { chooseDevice, type DeviceRequest, type DeviceChoice } from './app-web/device.js';
export {
  prepareFineTune,
  runFineTune,
  fineTuneClassifier,
  type LabelledImages,
  type WebFineTuneOptions,
  type WebFineTuneEvent,
  type WebFineTuneResult,
  type PreparedFineTune,
} from './app-web/finetune.js';

// zoo: what the built-in registry knows (fetching is Node's)
export { listModels, getModel } from './zoo/registry.js';
export type { ModelEntry } from './zoo/types.js';
export { inspectModel, type ModelReport } from './zoo/inspect.js';
