// The gradient-check rows of one rule family, shared by its finite-difference test (rules/activation.test.ts) and
// the provider parity suite (provider-parity.test.ts).
import type { GradCheckCase } from '../../gradcheck.js';

/** Activations: ReLU family, sigmoid/tanh/softplus/hard ones, Clip, Gelu, Softmax/LogSoftmax, Dropout as identity. */
export const ACTIVATION_ROWS: readonly GradCheckCase[] = [
  { op: 'Relu', inputs: [{ shape: [3, 4], sample: 'awayFromZero' }] },
  // onnxruntime lacks float64 kernels for these: float32 with the float32 tolerance
  { op: 'LeakyRelu', dtype: 'float32', attrs: { alpha: 0.1 }, inputs: [{ shape: [3, 4], sample: 'awayFromZero' }] },
  { op: 'LeakyRelu', dtype: 'float32', inputs: [{ shape: [5], sample: 'awayFromZero' }] },
  { op: 'Softplus', dtype: 'float32', inputs: [{ shape: [3, 4] }] },
  { op: 'Elu', dtype: 'float32', attrs: { alpha: 0.7 }, inputs: [{ shape: [3, 4], sample: 'awayFromZero' }] },
  {
    op: 'HardSigmoid',
    dtype: 'float32',
    inputs: [{ shape: [3, 4], values: [-3, -2, -1, -0.5, 0.1, 0.4, 1, 1.7, 2.2, 3, 4, -4] }],
  },
  {
    op: 'HardSwish',
    dtype: 'float32',
    inputs: [{ shape: [3, 4], values: [-5, -2.5, -1, -0.5, 0.1, 0.4, 1, 1.7, 2.2, 2.9, 4, -4] }],
  },
  { op: 'Sigmoid', inputs: [{ shape: [3, 4] }] },
  { op: 'Tanh', inputs: [{ shape: [3, 4] }] },
  // Clip bounds as inputs; values straddle both bounds
  {
    op: 'Clip',
    inputs: [
      { shape: [8], values: [-2, -0.7, -0.3, 0.1, 0.4, 0.9, 1.5, 3] },
      { shape: [], values: [-0.5], as: 'constant' },
      { shape: [], values: [1], as: 'constant' },
    ],
  },
  {
    op: 'Clip',
    inputs: [
      { shape: [8], values: [-2, -0.7, -0.3, 0.1, 0.4, 0.9, 1.5, 3] },
      null,
      { shape: [], values: [1], as: 'constant' },
    ],
  },
  // Gelu (opset 20) and the Erf decomposition older exporters write; no float64 Erf in onnxruntime
  { op: 'Gelu', opset: 20, dtype: 'float32', tol: 5e-3, inputs: [{ shape: [3, 4] }] },
  { op: 'Gelu', opset: 20, dtype: 'float32', tol: 5e-3, attrs: { approximate: 'tanh' }, inputs: [{ shape: [3, 4] }] },
  {
    op: 'Gelu',
    name: 'Gelu as x * 0.5 * (1 + Erf(x / sqrt 2))',
    dtype: 'float32',
    tol: 5e-3,
    inputs: [{ shape: [3, 4] }],
    graph: (b, [x]) => {
      const erf = b.op('Erf', [b.op('Div', [x!, b.scalar(Math.SQRT2)])]);
      return [b.op('Mul', [b.op('Mul', [x!, b.scalar(0.5)]), b.op('Add', [erf, b.scalar(1)])])];
    },
  },
  // Softmax/LogSoftmax: opset < 13 normalises over every axis from `axis` on (default 1), 13+ over one axis (default -1)
  ...[11, 13].flatMap((opset) =>
    ['Softmax', 'LogSoftmax'].flatMap((op) => [
      { op, opset, inputs: [{ shape: [2, 3, 4] }] },
      { op, opset, attrs: { axis: 1 }, inputs: [{ shape: [2, 3, 4] }] },
      { op, opset, attrs: { axis: 0 }, inputs: [{ shape: [2, 3, 4] }] },
      { op, opset, attrs: { axis: -1 }, inputs: [{ shape: [3, 5] }] },
    ]),
  ),
  // Dropout outside training mode is the identity, for every spelling of the op
  { op: 'Dropout', opset: 11, attrs: { ratio: 0.3 }, inputs: [{ shape: [3, 4] }] },
  { op: 'Dropout', opset: 13, inputs: [{ shape: [3, 4] }, { shape: [], values: [0.3], as: 'constant' }] },
  {
    op: 'Dropout',
    opset: 13,
    inputs: [
      { shape: [3, 4] },
      { shape: [], values: [0.3], as: 'constant' },
      { shape: [], values: [0], dtype: 'bool', as: 'constant' },
    ],
  },
];
