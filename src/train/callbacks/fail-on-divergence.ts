import { GraftError } from '../../errors.js';
import type { Callback } from '../events.js';
import type { TrainerView } from '../types.js';

/**
 * Ends training with an error, before the optimizer step, when the loss is NaN or infinite: a diverged run
 * must fail (and save nothing), not hand on parameters that no longer mean anything. `terminateOnNaN` is
 * the quiet variant that stops and keeps the last finite parameters.
 */
export function failOnDivergence(opts: { what?: string } = {}): Callback {
  return {
    name: 'failOnDivergence',
    order: -10,
    afterLoss(t: TrainerView) {
      if (t.loss !== undefined && !Number.isFinite(t.loss)) {
        throw new GraftError('RUNTIME', `Training diverged: the loss became ${t.loss}`, {
          found: `${opts.what ? `${opts.what}, ` : ''}epoch ${t.epoch + 1}, batch ${t.batch + 1} (step ${t.step})`,
          fix: 'lower the learning rate (--lr), or check the data for broken values; nothing was saved',
        });
      }
    },
  };
}
