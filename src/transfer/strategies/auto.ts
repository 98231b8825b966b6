import { fineTune } from './fine-tune.js';
import { FINE_TUNE_OPTIONS, type Strategy } from './types.js';

/**
 * The fine-tune, or the probe it started from when the probe does clearly better on held-out data:
 * fine-tune's phases run (the linear probe, then the blocks from it), and the run keeps the probe only when it
 * gets more held-out examples right by more than two standard errors of the difference (selectCandidate's
 * `prefer`). It decides on the validation split when that holds enough examples, else by k-fold
 * cross-validation on the labelled data (both candidates trained on each fold's rest, on the cached
 * activations), and says which it kept and why.
 */
export const auto = {
  name: 'auto',
  summary: 'the linear probe, then fine-tune from it; keeps the probe if it does clearly better on held-out data',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: FINE_TUNE_OPTIONS },
  defaultUnfreeze: fineTune.defaultUnfreeze,
  phases: fineTune.phases,
  keepsBetter: true,
} as const satisfies Strategy;
