// Flags of fine-tuning (`graft train --strategy fine-tune|gradual|lp-ft|full`) and of `graft lr-find`.
// Kept apart from commands.ts so the table stays light: only types come from the fine-tuning modules.
import type { BatchNormMode } from '../transfer/finetune/freeze-plan.js';
import type { PhaseSchedule } from '../transfer/strategies/index.js';
import type { OptionTable } from './options.js';

export interface FineTuneCliSettings {
  unfreeze?: string;
  freeze?: string;
  bn?: BatchNormMode;
  inputSize?: number;
  headEpochs?: number;
  probeEpochs?: number;
  discriminative?: number;
  anchor?: number;
  interpolate?: number;
  schedule?: PhaseSchedule;
  labelSmoothing?: number;
  fromScratch?: boolean;
  augment?: boolean;
}

export const fineTuneOptions: OptionTable<FineTuneCliSettings> = {
  unfreeze: {
    flag: 'unfreeze',
    type: 'string',
    placeholder: 'WHICH',
    description:
      'fine-tuning: blocks that train: last:N | all | none | from:BLOCK | block:GLOB,.. | params:GLOB,.. (default last:3; full: all)',
  },
  freeze: {
    flag: 'freeze',
    type: 'string',
    placeholder: 'GLOBS',
    description: 'fine-tuning: parameter globs (comma-separated) kept frozen inside unfrozen blocks',
  },
  bn: {
    flag: 'bn',
    type: 'enum',
    choices: ['inference', 'frozen', 'train'],
    description:
      'fine-tuning: BatchNorm layers use running statistics (inference, default; frozen also fixes scale/shift) or batch statistics (train)',
  },
  inputSize: {
    flag: 'input-size',
    type: 'number',
    integer: true,
    min: 8,
    placeholder: 'PX',
    description:
      'fine-tuning: square input size for the backbone, e.g. 96 for small images (default: the model input size)',
  },
  headEpochs: {
    flag: 'head-epochs',
    type: 'number',
    integer: true,
    min: 0,
    placeholder: 'N',
    description: 'gradual: epochs of the head-only phase first (default 3)',
  },
  probeEpochs: {
    flag: 'probe-epochs',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description:
      "fine-tune, lp-ft, auto: epochs of the linear probe they start from (default: the head's, 100 for linear)",
  },
  discriminative: {
    flag: 'discriminative',
    type: 'number',
    min: 0,
    placeholder: 'RATIO',
    description:
      "discriminative rates spread over the network's whole depth: the first block's rate as a fraction of the head's (0.01 = lr/100..lr; 0: one rate)",
  },
  anchor: {
    flag: 'anchor',
    type: 'number',
    min: 0,
    placeholder: 'S',
    description:
      'fine-tuning a pretrained model: pull the trained weights back to their pretrained values with strength S (L2-SP; default 0: off)',
  },
  interpolate: {
    flag: 'interpolate',
    type: 'number',
    min: 0,
    placeholder: 'A',
    description:
      'fine-tune, lp-ft, auto: end at probe + A x (fine-tuned - probe), a weight-space ensemble of the two (WiSE-FT; default 0.5, lp-ft 1: the fine-tuned weights)',
  },
  schedule: {
    flag: 'schedule',
    type: 'enum',
    choices: ['onecycle', 'cosine', 'constant'],
    description: 'learning-rate schedule of the training phases (default per strategy)',
  },
  labelSmoothing: {
    flag: 'label-smoothing',
    type: 'number',
    min: 0,
    placeholder: 'E',
    description: 'fine-tuning: label smoothing of the loss (e.g. 0.1)',
  },
  fromScratch: {
    flag: 'from-scratch',
    type: 'boolean',
    description:
      'train the same architecture from re-initialised weights (--strategy full: same as --strategy scratch)',
  },
  augment: {
    flag: 'augment',
    type: 'boolean',
    description: 'fine-tuning: random crops, flips, rotation, colour jitter each epoch (no activation cache)',
  },
};

export interface LrFindOnlySettings {
  startLr?: number;
  endLr?: number;
  steps?: number;
  out?: string;
}

export const lrFindOnlyOptions: OptionTable<LrFindOnlySettings> = {
  startLr: { flag: 'start-lr', type: 'number', min: 0, placeholder: 'RATE', description: 'first rate (default 1e-7)' },
  endLr: { flag: 'end-lr', type: 'number', min: 0, placeholder: 'RATE', description: 'last rate (default 10)' },
  steps: {
    flag: 'steps',
    type: 'number',
    integer: true,
    min: 5,
    placeholder: 'N',
    description: 'optimizer steps in the sweep (default 100)',
  },
  out: {
    flag: 'out',
    short: 'o',
    type: 'string',
    placeholder: 'FILE',
    description: 'also write the sweep to FILE (.csv, else JSON)',
  },
};
