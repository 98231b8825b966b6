import { type PhaseSpec, STRATEGY_DEFAULTS, discriminativeRatio, headPhase } from './phases.js';
import { ANCHORED_OPTIONS, type Strategy } from './types.js';

/** ULMFiT's gradual unfreezing: the head first, then one more block from the top per stage. */
export const gradual = {
  name: 'gradual',
  summary: 'the head, then one more block from the top per stage',
  family: 'weights',
  data: ['image'],
  heads: ['linear', 'mlp'],
  options: { image: [...ANCHORED_OPTIONS, 'headEpochs'] },
  defaultUnfreeze: 'last:3',
  phases: (unfrozen, s) => {
    const head = headPhase(s);
    if (unfrozen.length === 0) return [head];
    const stages = unfrozen.length;
    const per = Math.max(1, Math.floor(s.epochs / stages));
    const out: PhaseSpec[] = head.epochs > 0 ? [head] : [];
    for (let k = 1; k <= stages; k++) {
      out.push({
        name: `stage ${k}/${stages}`,
        kind: 'train',
        // blocks from the top down: stage k trains the top k unfrozen blocks
        blocks: unfrozen.slice(unfrozen.length - k),
        epochs: k === stages ? Math.max(per, s.epochs - per * (stages - 1)) : per,
        lr: s.lr / 2,
        discriminative: discriminativeRatio(s, STRATEGY_DEFAULTS.discriminative),
        schedule: s.schedule ?? 'cosine',
      });
    }
    return out;
  },
} as const satisfies Strategy;
