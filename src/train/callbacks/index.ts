export { EarlyStopping, earlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
export { BestParams, bestParams, type BestParamsOptions, type BestParamsRecord } from './best-params.js';
export { progressLogger, formatEpoch, type ProgressLoggerOptions } from './progress.js';
export { historyLogger, type HistoryLoggerOptions } from './history-logger.js';
export { checkpointEvery, type CheckpointCallbackOptions } from './checkpoint.js';
export { terminateOnNaN } from './terminate-on-nan.js';
export { failOnDivergence } from './fail-on-divergence.js';
export type { MonitorMode } from './monitor.js';
