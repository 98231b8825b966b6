import { STRATEGY_DEFAULTS, discriminativeRatio, headPhase } from './phases.js';
import { WEIGHT_OPTIONS, type Strategy } from './types.js';

/**
 * LP-FT (Kumar et al. 2022): a linear probe trained to convergence, then everything unfrozen at a tenth of
 * the rate, starting from the probed head, so a random head cannot distort the features.
 */
export const lpFt = {
  name: 'lp-ft',
  summary: 'a linear probe to convergence, then the unfrozen blocks at a tenth of the rate',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: WEIGHT_OPTIONS },
  defaultUnfreeze: 'last:3',
  phases: (unfrozen, s) => [
    { ...headPhase(s), name: 'probe', epochs: s.probeEpochs ?? STRATEGY_DEFAULTS.probeEpochs },
    {
      name: 'fine-tune',
      kind: 'train',
      blocks: [...unfrozen],
      epochs: s.epochs,
      lr: s.lr / 10,
      discriminative: discriminativeRatio(s, undefined),
      schedule: s.schedule ?? 'cosine',
    },
  ],
} as const satisfies Strategy;
