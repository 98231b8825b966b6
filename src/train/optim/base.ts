import { GraftError } from '../../errors.js';
import { describeSelector, resolveGroups, type ResolvedParam } from './groups.js';
import type {
  AnchorSpec,
  Optimizer,
  OptimizerState,
  ParamGroupSpec,
  ParamInfo,
  ParamSetting,
  ParamState,
} from './types.js';

/** What an update rule gets for one parameter at one step. */
export interface StepContext {
  lr: number;
  weightDecay: number;
  /** steps this parameter has taken before this one */
  steps: number;
  /** L2-SP: the value this parameter is pulled towards instead of zero (`weightDecay` is then 0) */
  anchor?: Float32Array;
  anchorStrength?: number;
}

/** A hyper-parameter's allowed range, checked on construction and on every `setHyper`. */
export interface HyperRange {
  min: number;
  max?: number;
  /** true: `max` itself is not allowed (betas < 1) */
  maxExclusive?: boolean;
  /** true: `min` itself is not allowed (eps > 0) */
  minExclusive?: boolean;
}

/**
 * Shared machinery: parameter groups, hyper-parameters, per-parameter slots and their (de)serialisation.
 * Subclasses only write the element-wise update rule.
 */
export abstract class GroupedOptimizer implements Optimizer {
  abstract readonly kind: string;
  protected abstract readonly slotNames: readonly string[];
  private readonly hyperValues: Record<string, number>;
  private resolved?: ResolvedParam[];
  private perParam = new Map<string, ParamState>();

  constructor(
    hyper: Record<string, number>,
    private readonly ranges: Readonly<Record<string, HyperRange>>,
    private readonly groups: readonly ParamGroupSpec[],
    private readonly weightDecayOn1d: boolean,
    private readonly extraConfig: Record<string, unknown> = {},
    private readonly anchor?: AnchorSpec,
  ) {
    this.hyperValues = {};
    this.setHyper(hyper);
    if (anchor && !(anchor.strength >= 0 && Number.isFinite(anchor.strength))) {
      throw new GraftError('CONFIG', 'The anchor strength must be a finite number >= 0', {
        found: String(anchor.strength),
        fix: 'use e.g. --anchor 0.1, or leave it out',
      });
    }
  }

  get hyper(): Readonly<Record<string, number>> {
    return { ...this.hyperValues };
  }

  setHyper(patch: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(patch)) {
      const range = this.ranges[name];
      if (!range) {
        throw new GraftError('CONFIG', `Unknown hyper-parameter '${name}' for this optimizer`, {
          value: name,
          choices: Object.keys(this.ranges),
          fix: 'use one of the valid choices',
        });
      }
      const low = range.minExclusive ? value > range.min : value >= range.min;
      const high = range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max);
      if (typeof value !== 'number' || Number.isNaN(value) || !low || !high) {
        throw new GraftError('CONFIG', `Hyper-parameter '${name}' is out of range`, {
          value: name,
          expected: describeRange(range),
          found: String(value),
        });
      }
      this.hyperValues[name] = value;
    }
  }

  attach(params: readonly ParamInfo[]): void {
    this.resolved = resolveGroups(params, this.groups);
    for (const [name, v] of Object.entries(this.anchor?.values ?? {})) {
      const r = this.resolved.find((x) => x.info.name === name);
      if (!r || r.size !== v.length) {
        throw new GraftError('CONFIG', `The anchor value of '${name}' does not match a trainable parameter`, {
          value: name,
          expected: r ? `${r.size} values` : 'the name of a trainable parameter',
          found: r ? `${v.length} values` : 'no such trainable parameter',
          fix: 'anchor the trainable parameters to values of their own shape',
        });
      }
    }
  }

  step(
    params: Readonly<Record<string, Float32Array>>,
    grads: Readonly<Record<string, Float32Array>>,
    lrScale = 1,
  ): void {
    for (const r of this.attached()) {
      const name = r.info.name;
      const p = params[name];
      const g = grads[name];
      if (!p || !g || p.length !== r.size || g.length !== r.size) {
        throw new GraftError('SHAPE_MISMATCH', `Parameter '${name}' or its gradient has the wrong size`, {
          value: name,
          expected: `${r.size} float32 values for both`,
          found: `param ${p?.length ?? 'missing'}, gradient ${g?.length ?? 'missing'}`,
          fix: 'the training graph and the optimizer must agree on the trainable parameters',
        });
      }
      const st = this.paramState(name);
      const { lr, weightDecay } = this.setting(r);
      const anchor = this.anchor?.values[name];
      this.update(
        p,
        g,
        st.slots,
        anchor
          ? { lr: lr * lrScale, weightDecay: 0, steps: st.steps, anchor, anchorStrength: this.anchor!.strength }
          : { lr: lr * lrScale, weightDecay, steps: st.steps },
      );
      st.steps++;
    }
  }

  paramSettings(): ParamSetting[] {
    return this.attached().map((r) => ({ name: r.info.name, group: r.group, ...this.setting(r) }));
  }

  state(): OptimizerState {
    const params: Record<string, ParamState> = {};
    for (const [name, st] of this.perParam) {
      const slots: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(st.slots)) slots[k] = v.slice();
      params[name] = { steps: st.steps, slots };
    }
    return { kind: this.kind, hyper: { ...this.hyperValues }, params };
  }

  loadState(state: OptimizerState): void {
    if (state.kind !== this.kind) {
      throw new GraftError('CHECKPOINT', 'Saved optimizer state belongs to another optimizer', {
        expected: this.kind,
        found: state.kind,
        fix: `resume with the optimizer the checkpoint was written with ('${state.kind}'), or start fresh`,
      });
    }
    const sizes = new Map(this.attached().map((r) => [r.info.name, r.size]));
    const next = new Map<string, ParamState>();
    for (const [name, st] of Object.entries(state.params)) {
      const size = sizes.get(name);
      if (size === undefined) continue; // no longer trainable: its memory is simply dropped
      for (const slot of this.slotNames) {
        const v = st.slots[slot];
        if (v !== undefined && v.length !== size) {
          throw new GraftError('CHECKPOINT', `Saved optimizer slot '${slot}' of '${name}' has the wrong size`, {
            value: name,
            expected: `${size} values`,
            found: `${v.length}`,
            fix: 'the checkpoint was written for a different model; start fresh',
          });
        }
      }
      const slots: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(st.slots)) slots[k] = Float32Array.from(v);
      next.set(name, { steps: st.steps, slots });
    }
    this.setHyper(state.hyper);
    this.perParam = next;
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      hyper: { ...this.hyperValues },
      weightDecayOn1d: this.weightDecayOn1d,
      ...this.extraConfig,
      ...(this.anchor
        ? { anchor: { strength: this.anchor.strength, params: Object.keys(this.anchor.values).length } }
        : {}),
      groups: this.groups.map((g, i) => ({
        name: g.name ?? `group ${i}`,
        params: describeSelector(g.params),
        lr: g.lr,
        lrMultiplier: g.lrMultiplier,
        weightDecay: g.weightDecay,
      })),
    };
  }

  /** The element-wise update of one parameter; runs in float64 and stores float32. */
  protected abstract update(
    p: Float32Array,
    g: Float32Array,
    slots: Record<string, Float32Array>,
    ctx: StepContext,
  ): void;

  /** A slot array of the parameter's size, zero on first use. */
  protected slot(slots: Record<string, Float32Array>, name: string, size: number): Float32Array {
    return (slots[name] ??= new Float32Array(size));
  }

  private setting(r: ResolvedParam): { lr: number; weightDecay: number } {
    const lr = r.lr ?? this.hyperValues.lr! * r.lrMultiplier;
    const decay = r.isOneD && !this.weightDecayOn1d ? 0 : (this.hyperValues.weightDecay ?? 0);
    return { lr, weightDecay: r.weightDecay ?? decay };
  }

  private paramState(name: string): ParamState {
    let st = this.perParam.get(name);
    if (!st) this.perParam.set(name, (st = { steps: 0, slots: {} }));
    return st;
  }

  private attached(): ResolvedParam[] {
    if (!this.resolved) {
      throw new GraftError('CONFIG', `Optimizer '${this.kind}' is not attached to parameters`, {
        fix: 'call optimizer.attach(params) (the Trainer does this) before stepping or loading state',
      });
    }
    return this.resolved;
  }
}

function describeRange(r: HyperRange): string {
  const lo = `${r.minExclusive ? '>' : '>='} ${r.min}`;
  return r.max === undefined ? lo : `${lo} and ${r.maxExclusive ? '<' : '<='} ${r.max}`;
}
