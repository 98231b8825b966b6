import { STRATEGY_DEFAULTS, discriminativeRatio, headPhase } from './phases.js';
import { TEXT_FINE_TUNE_OPTIONS, WEIGHT_OPTIONS, type Strategy } from './types.js';

/**
 * fastai's fine_tune: a short head-only warm-up on the frozen backbone, then the head and the unfrozen
 * blocks together at half the rate, with discriminative rates and a one-cycle schedule. On text, the word
 * vectors (or a sentence encoder's last layers, `--unfreeze last:N`) train with the head.
 */
export const fineTune = {
  name: 'fine-tune',
  summary: 'a head warm-up, then the last blocks and the head with discriminative rates',
  family: 'weights',
  data: ['image', 'text'],
  heads: ['linear', 'mlp'],
  options: { image: WEIGHT_OPTIONS, text: TEXT_FINE_TUNE_OPTIONS },
  defaultUnfreeze: 'last:3',
  phases: (unfrozen, s) => {
    const head = headPhase(s);
    return [
      ...(head.epochs > 0 ? [head] : []),
      {
        name: 'unfrozen',
        kind: 'train',
        blocks: [...unfrozen],
        epochs: s.epochs,
        lr: s.lr / 2,
        discriminative: discriminativeRatio(s, STRATEGY_DEFAULTS.discriminative),
        schedule: s.schedule ?? 'onecycle',
      },
    ];
  },
} as const satisfies Strategy;
