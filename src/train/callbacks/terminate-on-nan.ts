import { CancelFit, type Callback } from '../events.js';
import type { TrainerView } from '../types.js';

/** Stops training, before the optimizer step, when the loss is NaN or infinite (the parameters stay finite). */
export function terminateOnNaN(): Callback {
  return {
    name: 'terminateOnNaN',
    order: -10,
    afterLoss(t: TrainerView) {
      if (t.loss !== undefined && !Number.isFinite(t.loss)) {
        throw new CancelFit(`loss became ${t.loss} at step ${t.step} (epoch ${t.epoch + 1}, batch ${t.batch + 1})`);
      }
    },
  };
}
