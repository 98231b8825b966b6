/** A trainable parameter as the optimizer sees it: a name and a shape (the data arrives with each step). */
export interface ParamInfo {
  name: string;
  dims: readonly number[];
}

/** Picks parameters by name: a glob (`head.*`, `*bias`), a RegExp, an exact list, or a predicate. */
export type ParamSelector = string | RegExp | readonly string[] | ((name: string) => boolean);

/**
 * A parameter group: its own learning rate (absolute `lr`, or `lrMultiplier` of the base rate) and
 * weight decay. A parameter belongs to the first group that selects it; the rest form the default group.
 */
export interface ParamGroupSpec {
  name?: string;
  params: ParamSelector;
  lr?: number;
  lrMultiplier?: number;
  weightDecay?: number;
}

/** Options every optimizer understands, plus the per-optimizer hyper-parameters. */
export interface OptimizerOptions {
  lr?: number;
  weightDecay?: number;
  /** SGD */
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Adam family */
  beta1?: number;
  beta2?: number;
  eps?: number;
  groups?: readonly ParamGroupSpec[];
  /**
   * L2-SP (Li et al. 2018): pull the named parameters towards reference values (their pretrained ones)
   * instead of decaying them towards zero. See AnchorSpec.
   */
  anchor?: AnchorSpec;
  /**
   * Apply weight decay to 1-d parameters (biases, norm scales) of the default group too.
   * Off by default: decaying them hurts accuracy and buys no regularisation (timm's default).
   */
  weightDecayOn1d?: boolean;
}

/**
 * Reference values some parameters are regularised towards: the penalty (strength / 2) * |p - anchor|^2
 * replaces weight decay for them (decoupled like the weight decay of AdamW: p -= lr * strength * (p - anchor);
 * added to the gradient for Adam and SGD). Parameters without a value here keep their weight decay.
 */
export interface AnchorSpec {
  strength: number;
  values: Readonly<Record<string, Float32Array>>;
}

/** Per-parameter optimizer memory: steps taken and named slots (momentum, first/second moments). */
export interface ParamState {
  steps: number;
  slots: Record<string, Float32Array>;
}

/** Everything an optimizer needs to continue exactly; plain data, so it serialises into checkpoints. */
export interface OptimizerState {
  kind: string;
  hyper: Record<string, number>;
  params: Record<string, ParamState>;
}

/** How one parameter is treated, after groups are resolved (base values, before any schedule). */
export interface ParamSetting {
  name: string;
  group: string;
  lr: number;
  weightDecay: number;
}

export interface Optimizer {
  /** registry name ('sgd', 'adamw', ...) */
  readonly kind: string;
  /** current hyper-parameters (lr, weightDecay, momentum, beta1 ...) */
  readonly hyper: Readonly<Record<string, number>>;
  /** Changes hyper-parameters; unknown names or out-of-range values are a GraftError('CONFIG'). */
  setHyper(patch: Readonly<Record<string, number>>): void;
  /** Binds the optimizer to the trainable parameters (resolves groups). Called once, before `step`. */
  attach(params: readonly ParamInfo[]): void;
  /** Updates `params` in place from `grads`; `lrScale` is the schedule's multiplier for this step. */
  step(
    params: Readonly<Record<string, Float32Array>>,
    grads: Readonly<Record<string, Float32Array>>,
    lrScale?: number,
  ): void;
  paramSettings(): ParamSetting[];
  state(): OptimizerState;
  loadState(state: OptimizerState): void;
  /** A JSON-safe description of how it was configured (kind, options, groups), stored in checkpoints. */
  describe(): Record<string, unknown>;
}
