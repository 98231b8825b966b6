import { GraftError } from '../errors.js';
import type { CancelLevel, TrainerView } from './types.js';

export const TRAIN_EVENTS = [
  'beforeFit',
  'beforeEpoch',
  'beforeBatch',
  'afterLoss',
  'afterBatch',
  'afterEpoch',
  'afterFit',
] as const;
export type TrainEvent = (typeof TRAIN_EVENTS)[number];

/** Skips the rest of the current batch (no optimizer step); afterBatch still runs. */
export class CancelBatch extends Error {
  constructor(readonly reason = 'batch cancelled') {
    super(reason);
    this.name = 'CancelBatch';
  }
}
/** Skips the rest of the current epoch (remaining batches and validation); afterEpoch still runs. */
export class CancelEpoch extends Error {
  constructor(readonly reason = 'epoch cancelled') {
    super(reason);
    this.name = 'CancelEpoch';
  }
}
/** Ends training; afterFit still runs and the fit result carries the reason. */
export class CancelFit extends Error {
  constructor(readonly reason = 'training cancelled') {
    super(reason);
    this.name = 'CancelFit';
  }
}

export type CallbackHook = (t: TrainerView) => void | Promise<void>;

/**
 * A training callback. Hooks run in ascending `order` (ties keep the given order). Callbacks with
 * state that must survive a resume implement `state`/`loadState`; that state is saved under `name`.
 */
export type Callback = { readonly name: string; readonly order?: number } & Partial<
  Record<TrainEvent, CallbackHook>
> & {
    state?(): unknown;
    loadState?(state: unknown): void;
  };

const CANCEL: Record<CancelLevel, new (reason?: string) => Error> = {
  batch: CancelBatch,
  epoch: CancelEpoch,
  fit: CancelFit,
};

const CAP = { batch: 'Batch', epoch: 'Epoch', fit: 'Fit' } as const;

/** Callbacks sorted by order, and the helpers that run them around a piece of the loop. */
export class CallbackList {
  readonly callbacks: readonly Callback[];

  constructor(callbacks: readonly Callback[]) {
    const names = new Set<string>();
    for (const cb of callbacks) {
      if ((cb.state || cb.loadState) && names.has(cb.name)) {
        throw new GraftError('CONFIG', `Two stateful callbacks share the name '${cb.name}'`, {
          value: cb.name,
          fix: 'give each callback a distinct name: their checkpoint state is stored by name',
        });
      }
      names.add(cb.name);
    }
    this.callbacks = callbacks
      .map((cb, i) => ({ cb, i }))
      .sort((a, b) => (a.cb.order ?? 0) - (b.cb.order ?? 0) || a.i - b.i)
      .map((x) => x.cb);
  }

  async emit(event: TrainEvent, view: TrainerView): Promise<void> {
    for (const cb of this.callbacks) {
      const hook = cb[event];
      if (hook) await hook.call(cb, view);
    }
  }

  /**
   * Runs `before<Level>` and `body`; a Cancel<Level> thrown by either is caught. `settle` then runs in
   * both cases (with the cancellation, if any) so the trainer can record results before `after<Level>`,
   * which also runs in both cases (fastai's _with_events). Any other error propagates.
   */
  async withEvents(
    level: CancelLevel,
    view: TrainerView,
    body: () => Promise<void>,
    settle: (cancelled: Error | undefined) => void,
  ): Promise<void> {
    let cancelled: Error | undefined;
    try {
      await this.emit(`before${CAP[level]}`, view);
      await body();
    } catch (e) {
      if (!(e instanceof CANCEL[level])) throw e;
      cancelled = e;
    }
    settle(cancelled);
    await this.emit(`after${CAP[level]}`, view);
  }

  states(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const cb of this.callbacks) if (cb.state) out[cb.name] = cb.state();
    return out;
  }

  loadStates(states: Readonly<Record<string, unknown>>): void {
    for (const cb of this.callbacks) {
      if (cb.loadState && states[cb.name] !== undefined) cb.loadState(states[cb.name]);
    }
  }
}
