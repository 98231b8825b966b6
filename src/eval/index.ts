export {
  type FlatScores,
  type LabelsInput,
  type ScoreKind,
  type ScoreRows,
  type ScoresInput,
  ScoreMatrix,
  argmaxRows,
  softmax,
  toScoreMatrix,
} from './scores.js';
export {
  type ClassScores,
  type PerClassScores,
  type PrecisionRecallF1,
  accuracy,
  binaryF1,
  confusionMatrix,
  precisionRecallF1,
  precisionRecallF1FromConfusion,
  topKAccuracy,
} from './classification.js';
export { type OvrRocAuc, binaryRocAuc, rocAucOvr } from './roc.js';
export {
  LOG_LOSS_EPS,
  type LogLossOptions,
  type TopLoss,
  type TopLossesOptions,
  logLoss,
  perExampleLoss,
  topLosses,
} from './loss.js';
export {
  DEFAULT_CALIBRATION_BINS,
  type Calibration,
  type ReliabilityBin,
  type TemperatureChoice,
  type TemperatureFit,
  type TemperatureOptions,
  type TemperatureRule,
  TEMPERATURE_RULE,
  applyTemperature,
  calibration,
  chooseTemperature,
  expectedCalibrationError,
  fitTemperature,
} from './calibration.js';
export { type ClassRow, type ClassificationReport, type ReportInput, classificationReport } from './report.js';
export { type RenderOptions, renderReport } from './render.js';
