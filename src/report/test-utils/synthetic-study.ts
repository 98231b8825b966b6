// A study as `graft compare` would write it, with learning behaviour that differs by strategy.
import { mulberry32 } from '../../util/rng.js';
import type { Study, StudyRun } from '../compare.js';
import type { HistoryRow } from '../run-folder.js';

export interface SyntheticStudyOptions {
  strategies?: string[];
  fractions?: number[];
  seeds?: number[];
  epochs?: number;
  /** training examples per class in the full training split */
  fullPerClass?: number;
}

export function syntheticStudy(options: SyntheticStudyOptions = {}): Study {
  const strategies = options.strategies ?? ['linear-probe', 'fine-tune', 'lp-ft'];
  const fractions = options.fractions ?? [0.05, 0.1, 0.25, 0.5, 1];
  const seeds = options.seeds ?? [1, 2, 3];
  const epochs = options.epochs ?? 10;
  const full = options.fullPerClass ?? 200;
  const runs: StudyRun[] = [];
  strategies.forEach((strategy, si) => {
    for (const fraction of fractions) {
      for (const seed of seeds) {
        const rng = mulberry32(seed * 1000 + si * 100 + Math.round(fraction * 100));
        const perClass = Math.round(full * fraction);
        // fine-tuning needs more data to pay off; probing saturates early
        const ceiling = [0.82, 0.93, 0.94][si % 3]!;
        const speed = [0.25, 0.06, 0.1][si % 3]!;
        const testAcc = ceiling * (1 - Math.exp(-speed * perClass)) * (0.97 + 0.05 * rng());
        const history: HistoryRow[] = [];
        for (let e = 1; e <= epochs; e++) {
          const rate = [1.2, 0.5, 0.8][si % 3]!;
          const valLoss = 0.3 + (1.6 - testAcc) * Math.exp(-rate * e * 0.3) + 0.05 * rng();
          history.push({ epoch: e, trainLoss: valLoss * 0.8, lr: 1e-3, seconds: 1 + si + rng(), valLoss });
        }
        runs.push({
          strategy,
          fraction,
          perClass,
          seed,
          testAcc,
          history,
          seconds: (5 + 20 * si) * (0.2 + fraction) * (0.9 + 0.2 * rng()),
        });
      }
    }
  });
  return {
    model: 'mobilenet_v2.imagenet',
    strategies,
    fractions,
    seeds,
    runs,
    data: 'data/flowers',
    graftVersion: '0.1.0',
    createdAt: '2025-05-02T08:00:00.000Z',
  };
}
