// Fine-tuning below the head: blocks, freeze plans, strategies as phases, the freeze-boundary activation
// cache, batch norms on batch statistics, re-initialisation for from-scratch baselines, the LR finder.
export * from './blocks.js';
export * from './freeze-plan.js';
export * from '../strategies/phases.js';
export { planPhases, type FineTuneStrategy } from '../strategies/index.js';
export * from './run.js';
export * from './split.js';
export * from './forward.js';
export * from './head.js';
export * from './batch-norm.js';
export * from './reinit.js';
export * from './input-size.js';
export * from './optimize.js';
export * from './lr-find.js';
