export * from './types.js';
export { GroupedOptimizer, type StepContext, type HyperRange } from './base.js';
export { Sgd, type SgdConfig } from './sgd.js';
export { Adam, type AdamConfig } from './adam.js';
export { globToRegExp } from './groups.js';
export {
  OPTIMIZERS,
  getOptimizer,
  listOptimizers,
  optimizerEntry,
  type OptimizerEntry,
  type OptimizerCapabilities,
} from './registry.js';
