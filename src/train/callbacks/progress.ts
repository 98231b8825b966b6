import type { Callback } from '../events.js';
import type { EpochRecord, TrainerView } from '../types.js';

export interface ProgressLoggerOptions {
  /** where lines go (default console.log) */
  print?: (line: string) => void;
  name?: string;
}

/** One line per epoch: `epoch 3/10  loss 0.2310  acc 92.50%  val_loss 0.2511  val_acc 91.00%  lr 1.00e-3  0.8s`. */
export function progressLogger(opts: ProgressLoggerOptions = {}): Callback {
  const print = opts.print ?? ((line: string) => console.log(line));
  return {
    name: opts.name ?? 'progressLogger',
    order: 60,
    afterEpoch(t: TrainerView) {
      if (t.lastRecord) print(formatEpoch(t.lastRecord, t.epochs, t.cancelled === 'epoch'));
    },
    afterFit(t: TrainerView) {
      if (t.cancelled === 'fit') print(`stopped after epoch ${t.completedEpochs}/${t.epochs}`);
    },
  };
}

export function formatEpoch(r: EpochRecord, epochs: number, cancelled = false): string {
  const parts = [`epoch ${r.epoch}/${epochs}`, `loss ${r.trainLoss.toFixed(4)}`];
  if (r.trainAcc !== undefined) parts.push(`acc ${(100 * r.trainAcc).toFixed(2)}%`);
  if (r.valLoss !== undefined) parts.push(`val_loss ${r.valLoss.toFixed(4)}`);
  if (r.valAcc !== undefined) parts.push(`val_acc ${(100 * r.valAcc).toFixed(2)}%`);
  parts.push(`lr ${r.lr.toExponential(2)}`, `${r.seconds.toFixed(1)}s`);
  if (cancelled) parts.push('(cancelled)');
  return parts.join('  ');
}
