import { encodeCheckpoint } from '../checkpoint.js';
import type { Callback } from '../events.js';
import type { TrainerView, TrainingCheckpoint } from '../types.js';

export interface CheckpointCallbackOptions {
  /** stores the encoded checkpoint (a file written atomically, IndexedDB, a download ...) */
  write: (bytes: Uint8Array, ckpt: TrainingCheckpoint) => void | Promise<void>;
  /** write every this many epochs (default 1); the last epoch is always written */
  every?: number;
  name?: string;
}

/**
 * Saves the full resumable state after epochs. It runs after the other built-in callbacks (order 90)
 * so that their state for this epoch is included.
 */
export function checkpointEvery(opts: CheckpointCallbackOptions): Callback {
  const every = opts.every ?? 1;
  return {
    name: opts.name ?? 'checkpoint',
    order: 90,
    async afterEpoch(t: TrainerView) {
      const done = t.completedEpochs;
      if (done % every !== 0 && done !== t.epochs) return;
      const ckpt = t.snapshot();
      await opts.write(encodeCheckpoint(ckpt), ckpt);
    },
  };
}
