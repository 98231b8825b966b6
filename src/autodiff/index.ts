export type { GradContext, GradEntry, GradRule, GradTable } from './types.js';
export { buildTrainingGraph, applyTrainedParams, type TrainingSpec, type TrainingGraph } from './build.js';
export { formulationsFor, safeGroupWidth, type Formulations } from './target.js';
export { legalizeForTarget, unsafeNodes, type UnsafeNode } from './legalize.js';
export { LOSS_KINDS, labelsInfo, type LossSpec, type LabelsInfo } from './losses.js';
export { appendBackward, MIN_TRAINING_OPSET, type BackwardSpec, type BackwardResult } from './backward.js';
export { Emitter } from './emitter.js';
export {
  gradientEntry,
  supportedOps,
  ruleOpsets,
  isDifferentiableInput,
  NON_DIFFERENTIABLE_INPUTS,
} from './registry.js';
export { TypeEnv, type ValueType } from './shapes.js';
export {
  reduceSum,
  reduceMean,
  squeeze,
  unsqueeze,
  split,
  reshapeLike,
  unbroadcastGrad,
  type OpEmitter,
} from './ops.js';
export { defElementwise, defLinear, defUnary, rule, nulls } from './rules/helpers.js';
export * from './gradcheck.js';
