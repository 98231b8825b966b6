import { STRATEGY_DEFAULTS, discriminativeRatio, interpolation, probePhase } from './phases.js';
import { FINE_TUNE_OPTIONS, TEXT_FINE_TUNE_OPTIONS, type Strategy } from './types.js';

/**
 * LP-FT with fastai's discriminative rates: the linear probe first (trained as `--strategy linear-probe`
 * trains it), then the unfrozen blocks and the probed head together, starting from the probe, at a low rate
 * (lr/20: 1.5e-4 by default) spread over the whole depth of the network (the blocks near the head train at
 * nearly the head's rate), ending halfway between the probe and the fine-tuned weights (`--interpolate`,
 * WiSE-FT; 0.5 by default), optionally anchored to the pretrained weights (`--anchor`, L2-SP). Starting from a
 * trained head keeps a random one from distorting the features; the low rate keeps the fine-tune near the probe
 * it started from, and the interpolation takes back half of what small data overfits, so on small data it does
 * not fall below the probe. On text, the word vectors (or a sentence encoder's last layers,
 * `--unfreeze last:N`) train with the head.
 */
export const fineTune = {
  name: 'fine-tune',
  summary:
    'the linear probe, then the last blocks and the head from it at lr/20 with discriminative rates, ending halfway back to the probe',
  family: 'weights',
  data: ['image', 'text'],
  heads: ['linear', 'mlp'],
  options: { image: FINE_TUNE_OPTIONS, text: TEXT_FINE_TUNE_OPTIONS },
  defaultUnfreeze: STRATEGY_DEFAULTS.fineTune.unfreeze,
  phases: (unfrozen, s) => [probePhase(s), fineTunePhase(unfrozen, s)],
} as const satisfies Strategy;

/** fine-tune's second phase: the unfrozen blocks and the probed head. */
export function fineTunePhase(unfrozen: readonly number[], s: Parameters<typeof probePhase>[0]) {
  const d = STRATEGY_DEFAULTS.fineTune;
  return {
    name: 'fine-tune',
    kind: 'train' as const,
    blocks: [...unfrozen],
    epochs: s.epochs,
    lr: s.lr * d.lrFactor,
    discriminative: discriminativeRatio(s, d.discriminative),
    schedule: s.schedule ?? d.schedule,
    ...interpolation(s, d.interpolate),
  };
}
