// What must agree between two runs of the same study (a local one and a sharded or queued one): every number
// but the wall times.
import type { StudyRun } from '../../report/compare.js';

export function studyNumbers(runs: readonly StudyRun[]) {
  return runs.map((r) => ({
    strategy: r.strategy,
    fraction: r.fraction,
    seed: r.seed,
    perClass: r.perClass,
    testAcc: r.testAcc,
    history: r.history.map(({ seconds: _seconds, ...row }) => row),
  }));
}
