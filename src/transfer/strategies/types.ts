import type { HeadKindName } from '../heads/index.js';
import type { PhaseSpec, StrategySettings } from './phases.js';

/** What a data set holds: images (class folders, manifests) or texts (tables, folders of .txt). */
export type DataKind = 'image' | 'text';

/**
 * - `features`: a head on frozen backbone features, computed once and cached (cheap, no backbone training);
 * - `weights`: backbone blocks train too (fine-tuning below the head).
 */
export type StrategyFamily = 'features' | 'weights';

/**
 * One transfer strategy, as `--strategy` names it. Adding a strategy = a file exporting one of these and a
 * line in strategies/index.ts: the CLI's choices, help and flag checks, `graft compare` and the recipes read
 * it from there.
 */
export interface Strategy {
  name: string;
  summary: string;
  family: StrategyFamily;
  /** the data kinds it trains on */
  data: readonly DataKind[];
  /** head kinds it trains; the first is its default */
  heads: readonly HeadKindName[];
  /** the default head's `--head` text when it is not just the kind's name (feature-extract: mlp:256) */
  defaultHead?: string;
  /** settings only this strategy reads (as `graft train` names them), per data kind */
  options: Partial<Record<DataKind, readonly string[]>>;
  /** weights family: the blocks that train when `--unfreeze` is not given */
  defaultUnfreeze?: string;
  /** weights family: re-initialise every weight first (training from scratch, for comparisons) */
  fromScratch?: boolean;
  /** weights family on images: its phases, given the indices of the blocks the freeze plan unfroze */
  phases?(unfrozen: readonly number[], s: StrategySettings): PhaseSpec[];
  /**
   * weights family: after its phases, keep the model its probe phase ended with or the final one, whichever
   * does better on held-out data (the `auto` strategy)
   */
  keepsBetter?: boolean;
}

/** What every head trained by gradient reads. */
const HEAD_TRAINING = ['head', 'epochs', 'lr', 'batch', 'weightDecay'] as const;

/** Settings of the strategies that fit a head on cached features. */
export const FEATURE_OPTIONS: readonly string[] = [...HEAD_TRAINING, 'dropout', 'classWeight'];

/** Settings of every strategy that trains backbone blocks of an image model. */
export const WEIGHT_OPTIONS: readonly string[] = [
  ...HEAD_TRAINING,
  'unfreeze',
  'freeze',
  'bn',
  'inputSize',
  'discriminative',
  'schedule',
  'labelSmoothing',
  'fromScratch',
  'augment',
];

/** Settings of the strategies that fine-tune pretrained weights: they can be anchored to them (L2-SP). */
export const ANCHORED_OPTIONS: readonly string[] = [...WEIGHT_OPTIONS, 'anchor'];

/** Settings of the strategies that start from the linear probe (fine-tune, lp-ft, auto): it can also end near it (WiSE-FT). */
export const FINE_TUNE_OPTIONS: readonly string[] = [...ANCHORED_OPTIONS, 'probeEpochs', 'interpolate'];

/**
 * Settings of text fine-tuning: word vectors train with the head (the first three), or a sentence encoder's
 * layers do (`unfreeze`: all, or the last N).
 */
export const TEXT_FINE_TUNE_OPTIONS: readonly string[] = [
  ...FEATURE_OPTIONS,
  'fineTuneEmbeddings',
  'keepTopWords',
  'newWordMinCount',
  'unfreeze',
];
