import { GraftError } from '../../errors.js';
import type { ParamGroupSpec } from '../../train/optim/types.js';
import { LINEAR_HEAD_DEFAULTS } from '../heads/linear.js';
import type { HeadTrainingDefaults } from '../heads/types.js';

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
  /**
   * WiSE-FT (Wortsman et al. 2022): when the phase ends, its trained values move back towards the values it
   * started from, start + interpolate * (trained - start). 1 or undefined: the trained values as they are;
   * 0: the starting values (for fine-tune, the probe on the pretrained blocks).
   */
  interpolate?: number;
  /** this phase's own batch size, weight decay and label smoothing (else the run's) */
  batchSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
}

export interface StrategySettings {
  /** epochs of the main phase (gradual: of all unfreezing stages together) */
  epochs: number;
  /** base learning rate (the head's rate in the main phase is derived from it per strategy) */
  lr: number;
  /** epochs of gradual's short head-only warm-up */
  headEpochs?: number;
  /** epochs of the linear probe fine-tune and lp-ft start from (default: the head kind's own, as the linear-probe strategy trains it) */
  probeEpochs?: number;
  /** how the run's head kind trains alone on features (default: the linear head's) */
  probeDefaults?: HeadTrainingDefaults;
  /** discriminative ratio; false turns it off; default 0.01 for fine-tune and gradual, off otherwise */
  discriminative?: number | false;
  schedule?: PhaseSchedule;
  /** fine-tune: WiSE-FT weight of the fine-tuned values against the probe's (PhaseSpec.interpolate); default per strategy */
  interpolate?: number;
}

/**
 * Defaults of the strategies that train blocks. The base rate and epochs were chosen on Fashion-MNIST (900
 * training images, 96 px) with EfficientNet-B0's last two blocks, test accuracy on the 10k test set (label
 * smoothing 0.1): full 85.5% at lr 3e-3 (83.5% at 1e-3 with one block), gradual 84.1%, the linear probe
 * 82.5%. fine-tune's own settings (LP-FT, discriminative rates over the whole depth) were measured at 10, 25
 * and 100 images per class on Fashion-MNIST and on the glyph task: see docs/benchmarks.md.
 */
export const STRATEGY_DEFAULTS = {
  epochs: 15,
  lr: 3e-3,
  headEpochs: 3,
  discriminative: 0.01,
  fineTune: {
    unfreeze: 'last:3',
    /**
     * the fine-tune phase's base rate as a fraction of --lr: 1.5e-4 at the default 3e-3. Measured on
     * Fashion-MNIST at 10, 25 and 100 images per class (docs/benchmarks.md, issue 13): at 1.5e-3 (0.5) the
     * training loss rose after the warm-up and the run fell below the probe it started from at 10 and 25 per
     * class (-1.0 and -1.7 points, three seeds); at 1.5e-4 it held at 25 per class over five seeds but not at
     * 10 (-0.6), which the interpolation below mends.
     */
    lrFactor: 0.05,
    discriminative: 0.01,
    schedule: 'onecycle' as PhaseSchedule,
    /**
     * WiSE-FT weight of the fine-tuned values (1: none): the fine-tune ends halfway between the probe and where
     * it trained to. On Fashion-MNIST at 10 images per class, five seeds, the plain fine-tune at lr/20 ended
     * 0.6 points below the probe on average (seeds 3 and 4: -1.0 and -2.7), halfway 0.2 above it
     * (docs/benchmarks.md, issue 13).
     */
    interpolate: 0.5 as number,
  },
} as const;

/**
 * The head-only warm-up gradual starts with: the head alone on cached pooled features, at three times the
 * base rate, cosine-annealed, for a few epochs.
 */
export function headPhase(s: StrategySettings): PhaseSpec {
  return {
    name: 'head',
    kind: 'probe',
    blocks: [],
    epochs: s.headEpochs ?? STRATEGY_DEFAULTS.headEpochs,
    lr: s.lr * 3,
    schedule: 'cosine',
  };
}

/**
 * The linear probe fine-tune and lp-ft start from (LP-FT, Kumar et al. 2022): the head alone on cached
 * pooled features, trained exactly as the linear-probe strategy trains it (the head kind's own epochs, rate,
 * batch size and weight decay, no label smoothing, the lowest-validation-loss epoch kept). So the probe a
 * fine-tune starts from is the model `--strategy linear-probe` would have given, and `auto` can fall back to it.
 */
export function probePhase(s: StrategySettings): PhaseSpec {
  const d = s.probeDefaults ?? LINEAR_HEAD_DEFAULTS;
  return {
    name: 'probe',
    kind: 'probe',
    blocks: [],
    epochs: s.probeEpochs ?? d.epochs,
    lr: d.lr,
    schedule: 'cosine',
    batchSize: d.batchSize,
    weightDecay: d.weightDecay,
    labelSmoothing: 0,
  };
}

/** The WiSE-FT weight of a phase that starts from the probe: the user's, else the strategy's; none when 1. */
export function interpolation(s: StrategySettings, strategyDefault: number): Pick<PhaseSpec, 'interpolate'> {
  const alpha = s.interpolate ?? strategyDefault;
  return alpha < 1 ? { interpolate: alpha } : {};
}

/** The discriminative ratio in effect: the user's, none when turned off, else the strategy's default. */
export function discriminativeRatio(s: StrategySettings, strategyDefault: number | undefined): number | undefined {
  return s.discriminative === false ? undefined : (s.discriminative ?? strategyDefault);
}

/**
 * Discriminative learning rates as optimizer parameter groups, spread over the whole depth of the network as
 * fastai's `slice(lr * ratio, lr)` spreads them over all its layer groups: the head (the last of `depth`
 * positions) trains at the base rate, the network's first block would train at `ratio` times it, and each
 * block in between at the geometric interpolation for its position. Blocks that train get the rate of where
 * they sit, frozen ones simply have none: with `last:2` of EfficientNet-B0's 19 blocks and ratio 0.01 the two
 * blocks train at 0.60 and 0.77 of the base rate. (Spreading the slice over the trained blocks alone gave
 * those two lr/100 and lr/10: they hardly moved, and fine-tuning fell below the probe on small data.)
 */
export function discriminativeGroups(
  blocks: readonly { name: string; params: readonly string[]; depth: number }[],
  ratio: number,
  depth: number,
): ParamGroupSpec[] {
  if (!(ratio > 0 && ratio <= 1)) {
    throw new GraftError('BAD_INPUT', 'The discriminative ratio must lie in (0, 1]', {
      found: String(ratio),
      fix: 'use e.g. --discriminative 0.01 (the first block of the network would train at lr/100)',
    });
  }
  const last = depth - 1;
  return blocks
    .filter((b) => b.params.length > 0)
    .map((b) => ({
      name: b.name,
      params: [...b.params],
      lrMultiplier: last <= 0 ? 1 : Math.pow(ratio, Math.max(0, last - b.depth) / last),
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

export function checkPositive(v: number, what: string): void {
  if (!(Number.isInteger(v) && v >= 1)) {
    throw new GraftError('BAD_INPUT', `--${what} must be a positive whole number`, { found: String(v) });
  }
}
