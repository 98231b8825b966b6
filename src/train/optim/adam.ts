import { GroupedOptimizer, type HyperRange, type StepContext } from './base.js';
import type { AnchorSpec, ParamGroupSpec } from './types.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW (decay applied to the weights directly, scaled by lr); false: L2 added to the gradient */
  decoupled: boolean;
  groups: readonly ParamGroupSpec[];
  weightDecayOn1d: boolean;
  anchor?: AnchorSpec;
}

const RANGES: Record<string, HyperRange> = {
  lr: { min: 0 },
  beta1: { min: 0, max: 1, maxExclusive: true },
  beta2: { min: 0, max: 1, maxExclusive: true },
  eps: { min: 0, minExclusive: true },
  weightDecay: { min: 0 },
};

/**
 * Adam and AdamW (Loshchilov & Hutter's decoupled weight decay), with PyTorch's bias correction:
 *   AdamW: p *= 1 - lr*wd        Adam: g += wd*p
 *   (an anchored parameter, L2-SP: p = a + (p - a)(1 - lr*s) or g += s*(p - a), towards its anchor a)
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 */
export class Adam extends GroupedOptimizer {
  readonly kind: string;
  protected readonly slotNames = ['m', 'v'] as const;
  private readonly decoupled: boolean;

  constructor(cfg: AdamConfig, kind = cfg.decoupled ? 'adamw' : 'adam') {
    const { lr, beta1, beta2, eps, weightDecay } = cfg;
    super(
      { lr, beta1, beta2, eps, weightDecay },
      RANGES,
      cfg.groups,
      cfg.weightDecayOn1d,
      { decoupled: cfg.decoupled },
      cfg.anchor,
    );
    this.kind = kind;
    this.decoupled = cfg.decoupled;
  }

  protected update(p: Float32Array, g: Float32Array, slots: Record<string, Float32Array>, ctx: StepContext): void {
    const { lr, weightDecay: wd } = ctx;
    const { beta1: b1, beta2: b2, eps } = this.hyper as Record<'beta1' | 'beta2' | 'eps', number>;
    const m = this.slot(slots, 'm', p.length);
    const v = this.slot(slots, 'v', p.length);
    const t = ctx.steps + 1;
    const stepSize = lr / (1 - Math.pow(b1, t));
    const sqrtBc2 = Math.sqrt(1 - Math.pow(b2, t));
    // decay pulls towards 0, or towards the anchor (with its own strength) for an anchored parameter;
    // with no anchor `ref` is 0 and the arithmetic is exactly plain AdamW's
    const a = ctx.anchor;
    const pull = a ? (ctx.anchorStrength ?? 0) : wd;
    const shrink = this.decoupled ? 1 - lr * pull : 1;
    const l2 = this.decoupled ? 0 : pull;
    for (let i = 0; i < p.length; i++) {
      const ref = a ? a[i]! : 0;
      const gi = g[i]! + l2 * (p[i]! - ref);
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      // read back the float32-rounded moments so the update matches what is saved in a checkpoint
      p[i] = ref + (p[i]! - ref) * shrink - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtBc2 + eps);
    }
  }
}
