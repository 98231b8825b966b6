import { GraftError } from '../../errors.js';
import { Adam } from './adam.js';
import { Sgd } from './sgd.js';
import type { Optimizer, OptimizerOptions } from './types.js';

export interface OptimizerCapabilities {
  momentum: boolean;
  nesterov: boolean;
  /** per-parameter adaptive step sizes (Adam family) */
  adaptive: boolean;
  /** weight decay applied to the weights rather than added to the gradient */
  decoupledWeightDecay: boolean;
}

export interface OptimizerEntry {
  name: string;
  description: string;
  capabilities: Readonly<OptimizerCapabilities>;
  /** hyper-parameter defaults; user options override them */
  defaults: Readonly<Record<string, number | boolean>>;
  /** option names this optimizer accepts besides groups, weightDecayOn1d and anchor */
  accepts: readonly (keyof OptimizerOptions)[];
  create(opts: OptimizerOptions): Optimizer;
}

const SGD_KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'] as const;
const ADAM_KEYS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay'] as const;

function sgdEntry(
  name: string,
  description: string,
  defaults: { momentum: number; nesterov: boolean },
): OptimizerEntry {
  const d = { lr: 0.01, dampening: 0, weightDecay: 0, ...defaults };
  return {
    name,
    description,
    capabilities: Object.freeze({ momentum: true, nesterov: true, adaptive: false, decoupledWeightDecay: false }),
    defaults: Object.freeze(d),
    accepts: SGD_KEYS,
    create: (o) =>
      new Sgd(
        {
          lr: o.lr ?? d.lr,
          momentum: o.momentum ?? d.momentum,
          dampening: o.dampening ?? d.dampening,
          weightDecay: o.weightDecay ?? d.weightDecay,
          nesterov: o.nesterov ?? d.nesterov,
          groups: o.groups ?? [],
          weightDecayOn1d: o.weightDecayOn1d ?? false,
          anchor: o.anchor,
        },
        name,
      ),
  };
}

function adamEntry(name: string, description: string, decoupled: boolean, weightDecay: number): OptimizerEntry {
  const d = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
  return {
    name,
    description,
    capabilities: Object.freeze({ momentum: true, nesterov: false, adaptive: true, decoupledWeightDecay: decoupled }),
    defaults: Object.freeze(d),
    accepts: ADAM_KEYS,
    create: (o) =>
      new Adam(
        {
          lr: o.lr ?? d.lr,
          beta1: o.beta1 ?? d.beta1,
          beta2: o.beta2 ?? d.beta2,
          eps: o.eps ?? d.eps,
          weightDecay: o.weightDecay ?? d.weightDecay,
          decoupled,
          groups: o.groups ?? [],
          weightDecayOn1d: o.weightDecayOn1d ?? false,
          anchor: o.anchor,
        },
        name,
      ),
  };
}

/** Every optimizer Graft knows; variants are parameterisations of the same update rule. */
export const OPTIMIZERS: readonly OptimizerEntry[] = Object.freeze([
  sgdEntry('sgd', 'plain stochastic gradient descent', { momentum: 0, nesterov: false }),
  sgdEntry('momentum', 'SGD with heavy-ball momentum 0.9', { momentum: 0.9, nesterov: false }),
  sgdEntry('nesterov', 'SGD with Nesterov momentum 0.9', { momentum: 0.9, nesterov: true }),
  adamEntry('adam', 'Adam (weight decay as L2 on the gradient)', false, 0),
  adamEntry('adamw', 'AdamW: Adam with decoupled weight decay (default 0.01)', true, 0.01),
]);

export function listOptimizers(): string[] {
  return OPTIMIZERS.map((o) => o.name);
}

export function optimizerEntry(name: string): OptimizerEntry {
  const entry = OPTIMIZERS.find((o) => o.name === name.toLowerCase());
  if (!entry) {
    throw new GraftError('NOT_FOUND', `Unknown optimizer '${name}'`, {
      value: name,
      choices: listOptimizers(),
      fix: 'use one of the valid choices',
    });
  }
  return entry;
}

/** Creates a registered optimizer: `getOptimizer('adamw', { lr: 3e-4 })`. Options it does not take are errors. */
export function getOptimizer(name: string, opts: OptimizerOptions = {}): Optimizer {
  const entry = optimizerEntry(name);
  const allowed = new Set<string>([...entry.accepts, 'groups', 'weightDecayOn1d', 'anchor']);
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined && !allowed.has(key)) {
      throw new GraftError('CONFIG', `Optimizer '${entry.name}' has no option '${key}'`, {
        value: key,
        choices: [...allowed],
        fix: 'drop the option or pick an optimizer that has it',
      });
    }
  }
  return entry.create(opts);
}
