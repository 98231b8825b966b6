import { GraftError } from '../../errors.js';
import type { EpochRecord, MetricName } from '../types.js';

export type MonitorMode = 'min' | 'max' | 'auto';

const METRICS: readonly MetricName[] = ['trainLoss', 'trainAcc', 'valLoss', 'valAcc'];

/** 'auto' watches accuracies upwards and losses downwards. */
export function resolveMode(monitor: MetricName, mode: MonitorMode = 'auto'): 'min' | 'max' {
  if (!METRICS.includes(monitor)) {
    throw new GraftError('CONFIG', `Cannot monitor '${monitor}'`, {
      value: monitor,
      choices: METRICS,
      fix: 'use one of the valid choices',
    });
  }
  if (mode !== 'auto') return mode;
  return monitor.endsWith('Acc') ? 'max' : 'min';
}

/** The monitored value of an epoch; a missing metric is a configuration error (e.g. valLoss without validation). */
export function readMetric(record: EpochRecord, monitor: MetricName, who: string): number {
  const v = record[monitor];
  if (v === undefined) {
    const present = METRICS.filter((m) => record[m] !== undefined);
    throw new GraftError('CONFIG', `${who} monitors '${monitor}', which training does not report`, {
      value: monitor,
      choices: present,
      fix: monitor.startsWith('val')
        ? 'pass a validation set to fit(), or monitor a training metric'
        : 'monitor one of the valid choices',
    });
  }
  return v;
}

/** Whether `value` beats `best` by more than `minDelta` in the given direction (NaN never does). */
export function improves(value: number, best: number, mode: 'min' | 'max', minDelta: number): boolean {
  if (Number.isNaN(value)) return false;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}
