import type { Callback } from '../events.js';
import type { MetricName, TrainerView } from '../types.js';
import { improves, readMetric, resolveMode, type MonitorMode } from './monitor.js';

export interface BestParamsOptions {
  /** default 'valLoss' */
  monitor?: MetricName;
  mode?: MonitorMode;
  minDelta?: number;
  /** put the best parameters back into the trainer when training ends (default false) */
  restoreAtEnd?: boolean;
  /** called after each improvement, e.g. to write the best model to disk */
  onImprove?: (best: BestParamsRecord, t: TrainerView) => void | Promise<void>;
  name?: string;
}

export interface BestParamsRecord {
  epoch: number;
  value: number;
  params: Record<string, Float32Array>;
}

/** Keeps a copy of the parameters from the epoch with the best monitored metric. */
export class BestParams implements Callback {
  readonly name: string;
  readonly order = 30;
  private readonly monitor: MetricName;
  private readonly mode: 'min' | 'max';
  private readonly minDelta: number;
  private bestRecord?: BestParamsRecord;

  constructor(private readonly opts: BestParamsOptions = {}) {
    this.name = opts.name ?? 'bestParams';
    this.monitor = opts.monitor ?? 'valLoss';
    this.mode = resolveMode(this.monitor, opts.mode);
    this.minDelta = Math.abs(opts.minDelta ?? 0);
  }

  get best(): Readonly<BestParamsRecord> | undefined {
    return this.bestRecord;
  }

  beforeFit(t: TrainerView): void {
    if (t.completedEpochs === 0) this.bestRecord = undefined;
  }

  async afterEpoch(t: TrainerView): Promise<void> {
    const rec = t.lastRecord;
    if (!rec || (t.cancelled === 'epoch' && rec[this.monitor] === undefined)) return;
    const v = readMetric(rec, this.monitor, 'Best-parameter tracking');
    const prev = this.bestRecord?.value ?? (this.mode === 'min' ? Infinity : -Infinity);
    if (!improves(v, prev, this.mode, this.minDelta)) return;
    const params: Record<string, Float32Array> = {};
    for (const [k, p] of Object.entries(t.params)) params[k] = p.slice();
    this.bestRecord = { epoch: rec.epoch, value: v, params };
    await this.opts.onImprove?.(this.bestRecord, t);
  }

  afterFit(t: TrainerView): void {
    if (this.opts.restoreAtEnd && this.bestRecord) t.setParams(this.bestRecord.params);
  }

  state(): BestParamsRecord | null {
    return this.bestRecord ?? null;
  }

  loadState(state: unknown): void {
    this.bestRecord = state === null ? undefined : (state as BestParamsRecord);
  }
}

export function bestParams(opts: BestParamsOptions = {}): BestParams {
  return new BestParams(opts);
}
