import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { generateRules } from './generate.js';
import { layoutRules } from './layout.js';
import { linearRules } from './linear.js';
import { normRules } from './norm.js';
import { reduceRules } from './reduce.js';
import type { ShapeRule } from './types.js';

/** Shape rules of the default ONNX domain, keyed by op type. Later tables win (Softmax lives in norm). */
export const SHAPE_RULES: ReadonlyMap<string, ShapeRule> = new Map(
  Object.entries({
    ...elementwiseRules,
    ...linearRules,
    ...convRules,
    ...layoutRules,
    ...reduceRules,
    ...generateRules,
    ...normRules,
  }),
);

export type { ShapeContext, ShapeRule, ValueFacts } from './types.js';
