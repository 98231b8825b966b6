import type { GradEntry, GradTable } from './types.js';
import { activationRules } from './rules/activation.js';
import { convRules } from './rules/conv.js';
import { normRules } from './rules/norm.js';
import { poolRules } from './rules/pool.js';
import { elementwiseRules } from './rules/elementwise.js';
import { lossRules } from './rules/loss.js';
import { matmulRules } from './rules/matmul.js';
import { reduceRules } from './rules/reduce.js';
import { shapeRules } from './rules/shape.js';

/**
 * Every rule family. Adding one (conv, norm, pool ...): write `rules/<family>.ts` exporting a GradTable
 * (use the helpers in rules/helpers.ts and the opset-aware ops in ops.ts), add its import and one entry
 * here, list inputs that never carry gradient in NON_DIFFERENTIABLE_INPUTS, and check every rule with
 * `gradCheckTable` from test-utils/cases.ts (float64 where onnxruntime has the kernels).
 */
const FAMILIES: Readonly<Record<string, GradTable>> = {
  elementwise: elementwiseRules,
  activation: activationRules,
  matmul: matmulRules,
  shape: shapeRules,
  reduce: reduceRules,
  loss: lossRules,
  conv: convRules,
  pool: poolRules,
  norm: normRules,
};

/**
 * Inputs that never carry a gradient, whatever the op's rule: shapes, axes, indices, flags, and bounds
 * treated as constants (Clip's min/max). The builder never asks for, or propagates through, these.
 * Integer and bool inputs are excluded anyway by their type.
 */
export const NON_DIFFERENTIABLE_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1],
  Expand: [1],
  Tile: [1, 2],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  Split: [1],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Upsample: [1],
  Gather: [1],
  GatherElements: [1],
  GatherND: [1],
  ScatterElements: [1],
  ScatterND: [1],
  OneHot: [0, 1, 2],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
  Where: [0],
  Clip: [1, 2],
  Dropout: [1, 2],
  ReduceSum: [1],
  ReduceMean: [1],
  ReduceMax: [1],
  ReduceMin: [1],
  ReduceProd: [1],
  ReduceSumSquare: [1],
  ReduceL1: [1],
  ReduceL2: [1],
  ReduceLogSum: [1],
  ReduceLogSumExp: [1],
  CumSum: [1],
  TopK: [1],
  // class weights are taken as constants
  SoftmaxCrossEntropyLoss: [1, 2],
  NegativeLogLikelihoodLoss: [1, 2],
  BatchNormalization: [3, 4],
};

export function isDifferentiableInput(opType: string, index: number): boolean {
  return !(NON_DIFFERENTIABLE_INPUTS[opType]?.includes(index) ?? false);
}

const TABLE: ReadonlyMap<string, readonly GradEntry[]> = (() => {
  const table = new Map<string, GradEntry[]>();
  for (const [family, rules] of Object.entries(FAMILIES)) {
    for (const [op, entry] of Object.entries(rules)) {
      if (table.has(op)) throw new Error(`autodiff: op ${op} is registered twice (again by the ${family} family)`);
      table.set(op, Array.isArray(entry) ? [...(entry as GradEntry[])] : [entry as GradEntry]);
    }
  }
  return table;
})();

/** Whether an entry applies at `opset`. */
export function coversOpset(e: GradEntry, opset: number): boolean {
  return (e.sinceOpset === undefined || opset >= e.sinceOpset) && (e.untilOpset === undefined || opset <= e.untilOpset);
}

/** The gradient entry for a default-domain op at an opset, or undefined when Graft has none. */
export function gradientEntry(opType: string, opset: number, domain = ''): GradEntry | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return TABLE.get(opType)?.find((e) => coversOpset(e, opset));
}

/** Op types with a gradient rule (not counting zero/non-differentiable entries) at an opset, sorted. */
export function supportedOps(opset?: number): string[] {
  const ops: string[] = [];
  for (const [op, entries] of TABLE) {
    if (entries.some((e) => e.kind === 'rule' && (opset === undefined || coversOpset(e, opset)))) ops.push(op);
  }
  return ops.sort();
}

/** Opset ranges an op has rules for, e.g. ['16+'] (for messages when the model's opset is outside them). */
export function ruleOpsets(opType: string): string[] {
  return (TABLE.get(opType) ?? [])
    .filter((e) => e.kind === 'rule')
    .map((e) => `${e.sinceOpset ?? 1}${e.untilOpset === undefined ? '+' : `-${e.untilOpset}`}`);
}
