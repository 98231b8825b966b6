import { GraftError } from '../../errors.js';
import { GroupedOptimizer, type HyperRange, type StepContext } from './base.js';
import type { AnchorSpec, ParamGroupSpec } from './types.js';

export interface SgdConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  groups: readonly ParamGroupSpec[];
  weightDecayOn1d: boolean;
  anchor?: AnchorSpec;
}

const RANGES: Record<string, HyperRange> = {
  lr: { min: 0 },
  momentum: { min: 0, max: 1, maxExclusive: true },
  dampening: { min: 0, max: 1 },
  weightDecay: { min: 0 },
};

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and (coupled, L2) weight decay,
 * following PyTorch's formulation so that hyper-parameters carry over:
 *   d = g + wd*p (an anchored parameter, L2-SP: d = g + s*(p - a));  b = d (first step) or mu*b + (1-dampening)*d;  d = nesterov ? d + mu*b : b;  p -= lr*d
 */
export class Sgd extends GroupedOptimizer {
  readonly kind: string;
  protected readonly slotNames = ['momentum'] as const;
  private readonly nesterov: boolean;

  constructor(cfg: SgdConfig, kind = 'sgd') {
    const { lr, momentum, dampening, weightDecay } = cfg;
    super(
      { lr, momentum, dampening, weightDecay },
      RANGES,
      cfg.groups,
      cfg.weightDecayOn1d,
      { nesterov: cfg.nesterov },
      cfg.anchor,
    );
    this.kind = kind;
    this.nesterov = cfg.nesterov;
    if (cfg.nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new GraftError('CONFIG', 'Nesterov momentum needs momentum > 0 and no dampening', {
        expected: 'momentum > 0, dampening = 0',
        found: `momentum ${momentum}, dampening ${dampening}`,
        fix: 'set momentum (e.g. 0.9) and leave dampening at 0',
      });
    }
  }

  protected update(p: Float32Array, g: Float32Array, slots: Record<string, Float32Array>, ctx: StepContext): void {
    const { lr, weightDecay: wd } = ctx;
    const mu = this.hyper.momentum!;
    const damp = this.hyper.dampening!;
    // a buffer starts as the first gradient (not a decayed zero); it may appear late if momentum is raised
    const first = slots.momentum === undefined;
    const buf = mu !== 0 ? this.slot(slots, 'momentum', p.length) : undefined;
    const a = ctx.anchor;
    const pull = a ? (ctx.anchorStrength ?? 0) : wd;
    for (let i = 0; i < p.length; i++) {
      let d = g[i]! + pull * (p[i]! - (a ? a[i]! : 0));
      if (buf) {
        const b = first ? d : mu * buf[i]! + (1 - damp) * d;
        buf[i] = b;
        const bStored = buf[i]!; // the rounded float32 value, as a float32 framework would hold it
        d = this.nesterov ? d + mu * bStored : bStored;
      }
      p[i] = p[i]! - lr * d;
    }
  }
}
