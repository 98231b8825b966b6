import type { DType } from '../dtype.js';
import { broadcastInputs, mapValues, sameDtype } from './helpers.js';
import type { ShapeRule } from './types.js';

const INT_TYPES = new Set<DType | undefined>([
  'int64',
  'int32',
  'int16',
  'int8',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
]);

/** Output 0 has input 0's type and shape. */
export const sameAsInput: ShapeRule = (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(0) });

const toBool: ShapeRule = (ctx) => ctx.set(0, { dtype: 'bool', shape: ctx.shape(0) });

const UNARY = [
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BitwiseNot', 'Ceil', 'Celu', 'Cos', 'Cosh',
  'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Hardmax', 'LeakyRelu', 'Log',
  'LogSoftmax', 'LpNormalization', 'LRN', 'MeanVarianceNormalization', 'Mish', 'Neg', 'Reciprocal',
  'Relu', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softmax', 'Softplus', 'Softsign',
  'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'Trilu', 'CumSum',
]; // prettier-ignore

/** Binary ops whose result keeps the (common) input type. */
const ARITH: Record<string, ((x: number, y: number) => number) | undefined> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  // ONNX integer division truncates toward zero, like C
  Div: (x, y) => (y === 0 ? NaN : Math.trunc(x / y)),
  Mod: undefined,
  BitShift: undefined,
  BitwiseAnd: undefined,
  BitwiseOr: undefined,
  BitwiseXor: undefined,
};
const IDENTITY: Record<string, { left?: number; right?: number }> = {
  Add: { left: 0, right: 0 },
  Sub: { right: 0 },
  Mul: { left: 1, right: 1 },
  Div: { right: 1 },
};

function arith(op: string): ShapeRule {
  return (ctx) => {
    const dtype = sameDtype(ctx, [0, 1]);
    const shape = broadcastInputs(ctx, [0, 1]);
    const f = ARITH[op];
    // shape arithmetic (e.g. Shape -> Div by 2 -> Reshape) stays known; float values are never shapes
    const value = f && INT_TYPES.has(dtype) ? mapValues(ctx.value(0), ctx.value(1), f, IDENTITY[op]) : undefined;
    ctx.set(0, { dtype, shape, value: value?.some((v) => Number.isNaN(v)) ? undefined : value });
  };
}

const compare: ShapeRule = (ctx) => {
  sameDtype(ctx, [0, 1]);
  ctx.set(0, { dtype: 'bool', shape: broadcastInputs(ctx, [0, 1]) });
};

/** Sum, Mean, Max, Min: any number of inputs, broadcast together. */
const variadic: ShapeRule = (ctx) => {
  const idx = ctx.node.inputs.map((_, i) => i);
  ctx.set(0, { dtype: sameDtype(ctx, idx), shape: broadcastInputs(ctx, idx) });
};

export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameAsInput])),
  ...Object.fromEntries(Object.keys(ARITH).map((op) => [op, arith(op)])),
  Pow: (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: broadcastInputs(ctx, [0, 1]) }),
  // PRelu's slope broadcasts to X (one direction only): the output is X's shape, refined by the slope
  PRelu: (ctx) => {
    sameDtype(ctx, [0, 1]);
    const b = broadcastInputs(ctx, [0, 1]);
    const x = ctx.shape(0);
    if (b && x && b.length !== x.length) {
      ctx.fail('slope has more dimensions than X', { inputIndex: 1, expected: `at most rank ${x.length}` });
    }
    ctx.set(0, { dtype: ctx.dtype(0), shape: b ?? x });
  },
  Clip: (ctx) => {
    sameDtype(ctx, [0, 1, 2]);
    for (const i of [1, 2]) {
      const s = ctx.has(i) ? ctx.shape(i) : undefined;
      if (s && s.length > 0 && !(s.length === 1 && s[0] === 1)) {
        ctx.fail(`Clip ${i === 1 ? 'min' : 'max'} must be a scalar`, { inputIndex: i, found: `rank ${s.length}` });
      }
    }
    sameAsInput(ctx);
  },
  Equal: compare,
  Less: compare,
  Greater: compare,
  LessOrEqual: compare,
  GreaterOrEqual: compare,
  And: compare,
  Or: compare,
  Xor: compare,
  Not: toBool,
  IsNaN: toBool,
  IsInf: toBool,
  Sum: variadic,
  Mean: variadic,
  Max: variadic,
  Min: variadic,
  Where: (ctx) => {
    if (ctx.dtype(0) && ctx.dtype(0) !== 'bool') {
      ctx.fail('condition must be bool', { inputIndex: 0, expected: 'bool', found: ctx.dtype(0) });
    }
    ctx.set(0, { dtype: sameDtype(ctx, [1, 2]), shape: broadcastInputs(ctx, [0, 1, 2]) });
  },
};
