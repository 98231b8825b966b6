import type { PhaseSpec, StrategySettings } from './phases.js';
import { discriminativeRatio } from './phases.js';
import { ANCHORED_OPTIONS, type Strategy } from './types.js';

/** The head and every unfrozen block from the first step, at one rate. */
export function fullPhases(unfrozen: readonly number[], s: StrategySettings): PhaseSpec[] {
  return [
    {
      name: 'full',
      kind: 'train',
      blocks: [...unfrozen],
      epochs: s.epochs,
      lr: s.lr,
      discriminative: discriminativeRatio(s, undefined),
      schedule: s.schedule ?? 'onecycle',
    },
  ];
}

export const full = {
  name: 'full',
  summary: 'the head and every unfrozen block from the first step, at one rate',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: ANCHORED_OPTIONS },
  defaultUnfreeze: 'all',
  phases: fullPhases,
} as const satisfies Strategy;
