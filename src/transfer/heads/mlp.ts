import { type HeadKind, positiveInts } from './types.js';

export interface MlpHead {
  kind: 'mlp';
  hidden: number[];
}

export const DEFAULT_MLP_HIDDEN = [256];

/** Hidden layers with ReLU (and dropout while training) before the output layer. */
export const mlpHead: HeadKind<MlpHead> = {
  name: 'mlp',
  syntax: ['mlp', 'mlp:256', 'mlp:512,128'],
  summary: 'hidden layers with ReLU and dropout, then a linear layer',
  parse: (arg, bad) => ({
    kind: 'mlp',
    hidden: arg === undefined || arg === '' ? [...DEFAULT_MLP_HIDDEN] : positiveInts(arg, 'sizes', bad),
  }),
  format: (h) => `mlp:${h.hidden.join(',')}`,
  fit: {
    kind: 'gradient',
    hidden: (h) => h.hidden,
    defaults: { epochs: 60, lr: 1e-3, batchSize: 64, weightDecay: 1e-2, dropout: 0.2 },
  },
};
