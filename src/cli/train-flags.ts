// Which of `graft train`'s flags a run reads depends on the data kind and the strategy; a flag the run would
// ignore is a mistake, not a no-op. The strategy registry says what each strategy reads; this file adds
// what each data kind reads, and turns a stray flag into a message naming who does read it.
import { GraftError } from '../errors.js';
import {
  type DataKind,
  DEFAULT_STRATEGY,
  STRATEGIES,
  type Strategy,
  type StrategyName,
  strategyInfo,
} from '../transfer/strategies/index.js';
import type { TrainSettings } from './commands.js';
import { textTrainOptions } from './text-options.js';

/** Settings some strategy reads (on some data kind): the registry decides who takes them. */
const STRATEGY_OPTIONS = new Set(STRATEGIES.flatMap((s) => Object.values(s.options as Strategy['options']).flat()));

/** Flags only one data kind reads, whatever the strategy (the text table's flags that no strategy claims). */
export const DATA_KIND_OPTIONS: Record<DataKind, readonly string[]> = {
  image: ['cut', 'resize', 'extractBatch'],
  text: Object.keys(textTrainOptions).filter((k) => !STRATEGY_OPTIONS.has(k)),
};

/** Every flag whose use depends on the data kind or the strategy. */
const SPECIFIC = new Set([...Object.values(DATA_KIND_OPTIONS).flat(), ...STRATEGY_OPTIONS]);

/** The strategy a run uses: the flag, else what the other flags imply, else the data kind's default. */
export function chooseStrategy(options: Partial<TrainSettings>, kind: DataKind): Strategy {
  const implied: StrategyName | undefined =
    kind === 'text' && options.fineTuneEmbeddings ? 'fine-tune' : options.fromScratch ? 'scratch' : undefined;
  return strategyInfo(options.strategy ?? implied ?? DEFAULT_STRATEGY[kind], { data: kind });
}

/** Refuses flags the chosen strategy on this kind of data would not read, naming who does read them. */
export function checkFlagsApply(
  options: Partial<TrainSettings>,
  kind: DataKind,
  strategy: Strategy,
  flagOf: (key: string) => string,
): void {
  const reads = new Set([...DATA_KIND_OPTIONS[kind], ...(strategy.options[kind] ?? [])]);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || !SPECIFIC.has(key) || reads.has(key)) continue;
    // --from-scratch with full is the scratch strategy under its older spelling
    if (key === 'fromScratch' && strategy.name === 'full') continue;
    const flag = `--${flagOf(key)}`;
    const otherKind = (['image', 'text'] as const).find((k) => k !== kind)!;
    if (DATA_KIND_OPTIONS[otherKind].includes(key)) {
      throw new GraftError('BAD_INPUT', `${flag} only applies to ${otherKind} data, and this data set holds ${kind}s`, {
        found: flag,
        fix: `drop ${flag}`,
      });
    }
    const takers = STRATEGIES.filter((s) => (s.options as Strategy['options'])[kind]?.includes(key)).map((s) => s.name);
    throw new GraftError('BAD_INPUT', `${flag} does not apply to --strategy ${strategy.name} on ${kind} data`, {
      expected: takers.length ? `--strategy ${takers.join('|')}` : `another kind of data than ${kind}s`,
      found: `--strategy ${strategy.name}`,
      fix: takers.length ? `add --strategy ${takers[0]}, or drop ${flag}` : `drop ${flag}`,
    });
  }
}
