import { fullPhases } from './full.js';
import { WEIGHT_OPTIONS, type Strategy } from './types.js';

/** The same architecture re-initialised and trained from random weights: the baseline transfer must beat. */
export const scratch = {
  name: 'scratch',
  summary: 'the same architecture re-initialised, every block trained (the baseline; same as full --from-scratch)',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: WEIGHT_OPTIONS },
  defaultUnfreeze: 'all',
  fromScratch: true,
  phases: fullPhases,
} as const satisfies Strategy;
