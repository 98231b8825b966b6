import { GraftError } from '../../errors.js';
import { auto } from './auto.js';
import type { FreezePlan } from '../finetune/freeze-plan.js';
import { type HeadChoice, formatHeadChoice, parseHeadChoice } from '../heads/index.js';
import { featureExtract } from './feature-extract.js';
import { fineTune } from './fine-tune.js';
import { full } from './full.js';
import { gradual } from './gradual.js';
import { knn } from './knn.js';
import { linearProbe } from './linear-probe.js';
import { lpFt } from './lp-ft.js';
import { type PhaseSpec, type StrategySettings, checkPositive } from './phases.js';
import { prototype } from './prototype.js';
import { scratch } from './scratch.js';
import type { DataKind, Strategy, StrategyFamily } from './types.js';

/** Every transfer strategy, in the order help and studies list them; one line each. */
export const STRATEGIES = [
  featureExtract,
  linearProbe,
  knn,
  prototype,
  fineTune,
  auto,
  gradual,
  lpFt,
  full,
  scratch,
] as const;

export type StrategyName = (typeof STRATEGIES)[number]['name'];
/** Strategies that fit a head on cached features. */
export type FeatureStrategy = Extract<(typeof STRATEGIES)[number], { family: 'features' }>['name'];
/** Strategies that train backbone blocks below the head. */
export type FineTuneStrategy = Extract<(typeof STRATEGIES)[number], { family: 'weights' }>['name'];

/** The strategy a run uses when `--strategy` is not given, per data kind. */
export const DEFAULT_STRATEGY = { image: 'linear-probe', text: 'feature-extract' } as const satisfies Record<
  DataKind,
  StrategyName
>;

export type { DataKind, Strategy, StrategyFamily } from './types.js';
export type { PhaseSchedule, PhaseSpec, StrategySettings } from './phases.js';
export {
  ANCHORED_OPTIONS,
  FEATURE_OPTIONS,
  FINE_TUNE_OPTIONS,
  TEXT_FINE_TUNE_OPTIONS,
  WEIGHT_OPTIONS,
} from './types.js';

/** Names of the strategies of a family (all when undefined). */
export type StrategyNameOf<F extends StrategyFamily | undefined> = F extends 'weights'
  ? FineTuneStrategy
  : F extends 'features'
    ? FeatureStrategy
    : StrategyName;

/** Names of the strategies that match: a family and/or a data kind. */
export function strategyNames<F extends StrategyFamily | undefined = undefined>(
  filter: { family?: F; data?: DataKind } = {},
): StrategyNameOf<F>[] {
  return STRATEGIES.filter(
    (s) =>
      (filter.family === undefined || s.family === filter.family) &&
      (filter.data === undefined || (s.data as readonly DataKind[]).includes(filter.data)),
  ).map((s) => s.name as StrategyNameOf<F>);
}

/** The registry entry of a strategy; an unknown name (or one that does not fit the filter) is a GraftError listing the valid ones. */
export function strategyInfo(name: string, filter: { family?: StrategyFamily; data?: DataKind } = {}): Strategy {
  const s = STRATEGIES.find((x) => x.name === name);
  const valid = strategyNames(filter);
  if (!s || !(valid as string[]).includes(name)) {
    const what = [filter.data, filter.family === 'weights' ? 'fine-tuning' : filter.family].filter(Boolean).join(' ');
    throw new GraftError('BAD_INPUT', `Unknown ${what ? `${what} ` : ''}strategy '${name}'`, {
      found: name,
      choices: valid,
      fix: 'pick one of the valid strategies (graft train --help describes them)',
    });
  }
  return s;
}

export function isFeatureStrategy(name: string | undefined): name is FeatureStrategy {
  return STRATEGIES.some((s) => s.name === name && s.family === 'features');
}

export function isFineTuneStrategy(name: string | undefined): name is FineTuneStrategy {
  return STRATEGIES.some((s) => s.name === name && s.family === 'weights');
}

/** The phases a fine-tuning strategy runs, given which blocks the freeze plan unfroze. */
export function planPhases(strategy: FineTuneStrategy, plan: FreezePlan, s: StrategySettings): PhaseSpec[] {
  const info = strategyInfo(strategy, { family: 'weights', data: 'image' });
  checkPositive(s.epochs, 'epochs');
  if (s.probeEpochs !== undefined) checkPositive(s.probeEpochs, 'probe-epochs');
  if (s.interpolate !== undefined && !(s.interpolate >= 0 && s.interpolate <= 1)) {
    throw new GraftError('BAD_INPUT', '--interpolate is a weight between 0 and 1', {
      found: `--interpolate ${s.interpolate}`,
      fix: 'use e.g. --interpolate 0.5 (halfway between the probe and the fine-tuned weights) or 1 (no interpolation)',
    });
  }
  const unfrozen = plan.blocks
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => p.block.kind !== 'head' && p.trainable.length > 0)
    .map(({ i }) => i);
  return info.phases!(unfrozen, s);
}

/**
 * The head a strategy trains: the given one when the strategy trains that kind, else the strategy's
 * default. A head that contradicts the strategy (an MLP for a linear probe) is an error, not replaced.
 */
export function headForStrategy(strategy: StrategyName, head?: HeadChoice): HeadChoice {
  const info = strategyInfo(strategy);
  if (!head) return parseHeadChoice(info.defaultHead ?? info.heads[0]!);
  if (!(info.heads as readonly string[]).includes(head.kind)) {
    const takers = STRATEGIES.filter((s) => (s.heads as readonly string[]).includes(head.kind)).map((s) => s.name);
    throw new GraftError('BAD_INPUT', `The head '${formatHeadChoice(head)}' does not fit --strategy ${strategy}`, {
      expected: `a head of kind ${info.heads.join(' or ')}`,
      found: head.kind,
      fix: takers.length
        ? `use --strategy ${takers.join(' or ')} for a ${head.kind} head, or drop --head to use the strategy default`
        : 'drop --head to use the strategy default',
    });
  }
  return head;
}
