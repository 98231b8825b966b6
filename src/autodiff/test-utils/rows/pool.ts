// The gradient-check rows of one rule family, shared by its finite-difference test (rules/pool.test.ts) and
// the provider parity suite (provider-parity.test.ts).
import type { GradCheckCase } from '../../gradcheck.js';

// No float64 AveragePool/GlobalAveragePool kernels in onnxruntime; both are linear, so a large float32 step
// has no truncation error.
const f32 = { dtype: 'float32', tol: 1e-3, step: 0.5 } as const;
const avg = (x: number[], attrs: GradCheckCase['attrs']): GradCheckCase => ({
  op: 'AveragePool',
  ...f32,
  attrs,
  inputs: [{ shape: x }],
});
// MaxPool in float64, with a step small enough that no window changes its pick.
const max = (x: number[], attrs: GradCheckCase['attrs'], opset = 17): GradCheckCase => ({
  op: 'MaxPool',
  opset,
  attrs,
  step: 1e-6,
  inputs: [{ shape: x }],
});

/** Pooling: global and windowed average pools (pads, ceil_mode, dilation, auto_pad), max pools at opsets 11-17. */
export const POOL_ROWS: readonly GradCheckCase[] = [
  { op: 'GlobalAveragePool', ...f32, inputs: [{ shape: [2, 3, 4, 5] }] },
  { op: 'GlobalAveragePool', ...f32, inputs: [{ shape: [2, 3, 7] }] },
  {
    op: 'GlobalAveragePool',
    ...f32,
    name: 'GlobalAveragePool over sizes known only at run time',
    inputs: [{ shape: [2, 3, 4, 5] }],
    graph: (b, [x]) => {
      b.graph.inputs[0]!.shape = ['N', 3, 'H', 'W'];
      return [b.op('GlobalAveragePool', [x!])];
    },
  },
  // windows that tile the input (the Keras global pool written as AveragePool), with leftover rows
  avg([2, 3, 7, 7], { kernel_shape: [7, 7], strides: [7, 7] }),
  avg([2, 3, 6, 7], { kernel_shape: [2, 2], strides: [2, 2] }),
  // overlapping windows, pads with and without count_include_pad, ceil_mode, dilation, auto_pad
  avg([2, 3, 6, 6], { kernel_shape: [3, 3] }),
  avg([2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  avg([2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  avg([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 0], ceil_mode: 1 }),
  avg([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, count_include_pad: 1, pads: [1, 1, 1, 1] }),
  avg([2, 3, 7, 8], { kernel_shape: [3, 2], auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  { ...avg([2, 3, 9, 9], { kernel_shape: [3, 3], dilations: [2, 2], pads: [1, 1, 1, 1] }), opset: 19 },
  avg([2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  // MaxPool: non-overlapping windows, overlapping with scatter-add (opset 16+) and in phases (opset 11-15)
  max([2, 3, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }),
  max([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  max([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 13),
  max([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, 11),
  max([2, 3, 9, 8], { kernel_shape: [3, 2], strides: [2, 1], ceil_mode: 1 }, 13),
  max([2, 3, 9, 9], { kernel_shape: [2, 2], dilations: [2, 2], strides: [2, 2] }),
  max([2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }, 13),
  // the model already exposes the indices
  { ...max([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2] }), outputs: 2 },
];
