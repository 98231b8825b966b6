import { GraftError } from '../../errors.js';
import type { ParamGroupSpec } from '../../train/optim/types.js';
import type { FreezePlan } from './freeze-plan.js';

/**
 * How the unfrozen part is trained:
 * - `fine-tune` (fastai's fine_tune): a short head-only warm-up on the frozen backbone, then the head and
 *   the unfrozen blocks together at half the rate, with discriminative rates and a one-cycle schedule;
 * - `gradual` (ULMFiT): the head first, then one more block from the top per stage;
 * - `lp-ft` (Kumar et al. 2022): a linear probe trained to convergence, then everything unfrozen at a
 *   tenth of the rate, starting from the probed head, so the random head cannot distort the features;
 * - `full`: the head and every unfrozen block from the first step (with `--from-scratch`, training
 *   the re-initialised architecture).
 */
export type FineTuneStrategy = 'fine-tune' | 'gradual' | 'lp-ft' | 'full';
export const FINE_TUNE_STRATEGIES: readonly FineTuneStrategy[] = ['fine-tune', 'gradual', 'lp-ft', 'full'];

export type PhaseSchedule = 'onecycle' | 'cosine' | 'constant';

/** One stage of training. 'probe' trains the head alone on pooled features; 'train' trains `blocks` + head. */
export interface PhaseSpec {
  name: string;
  kind: 'probe' | 'train';
  /** indices (into plan.blocks) of the backbone blocks this phase trains, besides the head */
  blocks: number[];
  epochs: number;
  lr: number;
  /** ratio of the earliest block's rate to `lr` (0.01 = fastai's slice(lr/100, lr)); undefined: one rate */
  discriminative?: number;
  schedule: PhaseSchedule;
}

export interface StrategySettings {
  /** epochs of the main phase (gradual: of all unfreezing stages together) */
  epochs: number;
  /** base learning rate (the head's rate in the main phase is derived from it per strategy) */
  lr: number;
  /** epochs of the head-only phase (fine-tune, gradual); lp-ft's probe runs `probeEpochs` */
  headEpochs?: number;
  probeEpochs?: number;
  /** discriminative ratio; false turns it off; default 0.01 for fine-tune and gradual, off otherwise */
  discriminative?: number | false;
  schedule?: PhaseSchedule;
}

/**
 * Defaults chosen on Fashion-MNIST (900 training images, 96 px) with EfficientNet-B0's last two blocks,
 * test accuracy on the 10k test set (label smoothing 0.1): full 85.5% at lr 3e-3 (83.5% at 1e-3 with one
 * block), lp-ft 85.0%, fine-tune 84.1% with 3 head epochs (82.7% with 10: a converged head leaves the
 * blocks little to learn on 900 images), gradual 84.1%; the linear probe 82.5%.
 */
export const STRATEGY_DEFAULTS = {
  epochs: 15,
  lr: 3e-3,
  headEpochs: 3,
  probeEpochs: 100,
  discriminative: 0.01,
} as const;

/** The phases a strategy runs, given which blocks the freeze plan unfroze. */
export function planPhases(strategy: FineTuneStrategy, plan: FreezePlan, s: StrategySettings): PhaseSpec[] {
  const unfrozen = plan.blocks
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => p.block.kind !== 'head' && p.trainable.length > 0)
    .map(({ i }) => i);
  const lr = s.lr;
  const disc = (fallback: number | undefined) =>
    s.discriminative === false ? undefined : (s.discriminative ?? fallback);
  checkPositive(s.epochs, 'epochs');
  const head: PhaseSpec = {
    name: 'head',
    kind: 'probe',
    blocks: [],
    epochs: s.headEpochs ?? STRATEGY_DEFAULTS.headEpochs,
    lr: lr * 3,
    schedule: 'cosine',
  };
  switch (strategy) {
    case 'full':
      return [
        {
          name: 'full',
          kind: 'train',
          blocks: unfrozen,
          epochs: s.epochs,
          lr,
          discriminative: disc(undefined),
          schedule: s.schedule ?? 'onecycle',
        },
      ];
    case 'fine-tune':
      return [
        ...(head.epochs > 0 ? [head] : []),
        {
          name: 'unfrozen',
          kind: 'train',
          blocks: unfrozen,
          epochs: s.epochs,
          lr: lr / 2,
          discriminative: disc(STRATEGY_DEFAULTS.discriminative),
          schedule: s.schedule ?? 'onecycle',
        },
      ];
    case 'lp-ft':
      return [
        { ...head, name: 'probe', epochs: s.probeEpochs ?? STRATEGY_DEFAULTS.probeEpochs },
        {
          name: 'fine-tune',
          kind: 'train',
          blocks: unfrozen,
          epochs: s.epochs,
          lr: lr / 10,
          discriminative: disc(undefined),
          schedule: s.schedule ?? 'cosine',
        },
      ];
    case 'gradual': {
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
          lr: lr / 2,
          discriminative: disc(STRATEGY_DEFAULTS.discriminative),
          schedule: s.schedule ?? 'cosine',
        });
      }
      return out;
    }
    default:
      throw new GraftError('BAD_INPUT', `Unknown fine-tuning strategy '${String(strategy)}'`, {
        choices: FINE_TUNE_STRATEGIES,
      });
  }
}

/**
 * Discriminative learning rates as optimizer parameter groups: the head trains at the base rate and the
 * blocks below it at rates falling geometrically to `ratio` times the base rate for the earliest trained
 * block (fastai's `slice(lr * ratio, lr)` spread evenly, block by block).
 */
export function discriminativeGroups(
  blocks: readonly { name: string; params: readonly string[] }[],
  ratio: number,
): ParamGroupSpec[] {
  if (!(ratio > 0 && ratio <= 1)) {
    throw new GraftError('BAD_INPUT', 'The discriminative ratio must lie in (0, 1]', {
      found: String(ratio),
      fix: 'use e.g. --discriminative 0.01 (the earliest block trains at lr/100)',
    });
  }
  const withParams = blocks.filter((b) => b.params.length > 0);
  const n = withParams.length;
  return withParams.map((b, i) => ({
    name: b.name,
    params: [...b.params],
    lrMultiplier: n === 1 ? 1 : Math.pow(ratio, (n - 1 - i) / (n - 1)),
  }));
}

export function formatPhase(p: PhaseSpec, blockNames: readonly string[]): string {
  const what =
    p.kind === 'probe'
      ? 'head only, on cached pooled features'
      : p.blocks.length === 0
        ? 'head only'
        : `head + ${p.blocks.length} block(s) ${describeRange(p.blocks.map((i) => blockNames[i]!))}`;
  const disc = p.discriminative !== undefined ? `, discriminative ${p.discriminative}` : '';
  return `${p.name}: ${what}, ${p.epochs} epoch(s), lr ${p.lr.toExponential(1)}${disc}, ${p.schedule}`;
}

function describeRange(names: string[]): string {
  return names.length <= 2 ? names.join(', ') : `${names[0]} .. ${names[names.length - 1]}`;
}

function checkPositive(v: number, what: string): void {
  if (!(Number.isInteger(v) && v >= 1)) {
    throw new GraftError('BAD_INPUT', `--${what} must be a positive whole number`, { found: String(v) });
  }
}
