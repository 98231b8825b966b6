import type { Callback } from '../events.js';
import type { EpochRecord, TrainerView } from '../types.js';

export interface HistoryLoggerOptions {
  format: 'jsonl' | 'csv';
  /** receives complete lines, each ending in '\n' (append them to a file, a stream, a download) */
  write: (text: string) => void | Promise<void>;
  name?: string;
}

/** CSV header of a training history; the run folder's history.csv uses the same. */
export const HISTORY_CSV_COLUMNS = [
  'epoch',
  'trainLoss',
  'trainAcc',
  'valLoss',
  'valAcc',
  'lr',
  'steps',
  'seconds',
] as const satisfies readonly (keyof EpochRecord)[];

/**
 * One CSV line (without '\n') of a history row; empty cells where a value is absent. Takes rows read back
 * from files too, where optional fields may be missing.
 */
export function historyCsvLine(r: Partial<Pick<EpochRecord, (typeof HISTORY_CSV_COLUMNS)[number]>>): string {
  return HISTORY_CSV_COLUMNS.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',');
}

/**
 * Writes each epoch's record as JSON Lines or CSV through a writer function, so it works wherever the
 * trainer does (Node files, browser downloads). On resume the CSV header is not written again.
 */
export function historyLogger(opts: HistoryLoggerOptions): Callback {
  let headerWritten = false;
  return {
    name: opts.name ?? 'historyLogger',
    order: 70,
    async afterEpoch(t: TrainerView) {
      const r = t.lastRecord;
      if (!r) return;
      if (opts.format === 'jsonl') {
        await opts.write(`${JSON.stringify(r)}\n`);
        return;
      }
      if (!headerWritten) {
        await opts.write(`${HISTORY_CSV_COLUMNS.join(',')}\n`);
        headerWritten = true;
      }
      await opts.write(`${historyCsvLine(r)}\n`);
    },
    state: () => ({ headerWritten }),
    loadState(s: unknown) {
      headerWritten = (s as { headerWritten?: boolean }).headerWritten === true;
    },
  };
}
