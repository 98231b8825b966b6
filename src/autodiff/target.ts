import type { Model } from '../onnx/graph.js';
import type { TypeEnv } from './shapes.js';

/**
 * Formulation choices that depend on the execution provider a training graph is built for. Every graph is
 * standard ONNX and runs everywhere; these only steer clear of kernels a provider is known to get wrong.
 */
export interface Formulations {
  padGroupWidths: boolean;
  gatherFlips: boolean;
  explicitKernelShape: boolean;
}

const PLAIN: Formulations = Object.freeze({ padGroupWidths: false, gatherFlips: false, explicitKernelShape: false });

export function formulationsFor(target?: string): Formulations {
  void target;
  return PLAIN;
}

export function finishForTarget(model: Model, env: TypeEnv, target?: string): void {
  void model;
  void env;
  void target;
}
