import { discriminativeRatio, interpolation, probePhase } from './phases.js';
import { FINE_TUNE_OPTIONS, type Strategy } from './types.js';

/**
 * LP-FT as Kumar et al. (2022) wrote it: the linear probe (trained as `--strategy linear-probe` trains it),
 * then everything unfrozen at a tenth of the rate with one rate for all, starting from the probed head, so
 * a random head cannot distort the features.
 */
export const lpFt = {
  name: 'lp-ft',
  summary: 'the linear probe, then the unfrozen blocks at a tenth of the rate',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: FINE_TUNE_OPTIONS },
  defaultUnfreeze: 'last:3',
  phases: (unfrozen, s) => [
    probePhase(s),
    {
      name: 'fine-tune',
      kind: 'train',
      blocks: [...unfrozen],
      epochs: s.epochs,
      lr: s.lr / 10,
      discriminative: discriminativeRatio(s, undefined),
      schedule: s.schedule ?? 'cosine',
      ...interpolation(s, 1),
    },
  ],
} as const satisfies Strategy;
