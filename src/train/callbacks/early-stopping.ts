import { CancelFit, type Callback } from '../events.js';
import type { MetricName, TrainerView } from '../types.js';
import { improves, readMetric, resolveMode, type MonitorMode } from './monitor.js';

export interface EarlyStoppingOptions {
  /** default 'valLoss' */
  monitor?: MetricName;
  /** epochs without improvement before stopping (default 3) */
  patience?: number;
  /** smallest change that counts as an improvement (default 0) */
  minDelta?: number;
  mode?: MonitorMode;
  name?: string;
}

interface EarlyStoppingState {
  best: number;
  bestEpoch: number;
  wait: number;
  stopReason?: string;
}

/**
 * Stops training when the monitored metric has not improved for `patience` epochs. The decision is made
 * after an epoch and acted on before the next, so a checkpoint written after that epoch already holds it
 * and a resumed run stops at the same place.
 */
export class EarlyStopping implements Callback {
  readonly name: string;
  readonly order = 40;
  private readonly monitor: MetricName;
  private readonly mode: 'min' | 'max';
  private readonly patience: number;
  private readonly minDelta: number;
  private s: EarlyStoppingState;

  constructor(opts: EarlyStoppingOptions = {}) {
    this.name = opts.name ?? 'earlyStopping';
    this.monitor = opts.monitor ?? 'valLoss';
    this.mode = resolveMode(this.monitor, opts.mode);
    this.patience = opts.patience ?? 3;
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.s = this.fresh();
  }

  /** best value seen, the epoch it was seen in (1-based), and why training stopped (if it did) */
  get result(): Readonly<EarlyStoppingState> {
    return { ...this.s };
  }

  beforeFit(t: TrainerView): void {
    // a new run (not a resume) starts counting afresh
    if (t.completedEpochs === 0) this.s = this.fresh();
  }

  beforeEpoch(): void {
    if (this.s.stopReason) throw new CancelFit(this.s.stopReason);
  }

  afterEpoch(t: TrainerView): void {
    const rec = t.lastRecord;
    if (!rec || (t.cancelled === 'epoch' && rec[this.monitor] === undefined)) return;
    const v = readMetric(rec, this.monitor, 'Early stopping');
    if (improves(v, this.s.best, this.mode, this.minDelta)) {
      this.s.best = v;
      this.s.bestEpoch = rec.epoch;
      this.s.wait = 0;
      return;
    }
    this.s.wait++;
    if (this.s.wait >= this.patience) {
      this.s.stopReason =
        `early stopping: ${this.monitor} did not improve for ${this.s.wait} epoch(s) ` +
        `(best ${this.s.best} at epoch ${this.s.bestEpoch})`;
    }
  }

  state(): EarlyStoppingState {
    return { ...this.s };
  }

  loadState(state: unknown): void {
    this.s = { ...(state as EarlyStoppingState) };
  }

  private fresh(): EarlyStoppingState {
    return { best: this.mode === 'min' ? Infinity : -Infinity, bestEpoch: 0, wait: 0 };
  }
}

export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(opts);
}
