// The gradient-check rows of one rule family, shared by its finite-difference test (rules/norm.test.ts) and
// the provider parity suite (provider-parity.test.ts).
import type { GradCheckCase } from '../../gradcheck.js';

const bn = (x: number[], opts: Partial<GradCheckCase> = {}): GradCheckCase => {
  const c = x[1]!;
  return {
    op: 'BatchNormalization',
    inputs: [
      { shape: x },
      { shape: [c] },
      { shape: [c] },
      { shape: [c], as: 'constant' },
      { shape: [c], sample: 'positive', as: 'constant' },
    ],
    ...opts,
  };
};

/** Normalisation: BatchNormalization in inference and training mode (opsets 9-15), LayerNormalization. */
export const NORM_ROWS: readonly GradCheckCase[] = [
  // inference mode: fixed statistics (what eval-mode PyTorch models export)
  bn([2, 3, 4, 5]),
  bn([4, 3], { attrs: { epsilon: 0.1 } }),
  bn([2, 3, 5], { opset: 13 }),
  bn([2, 3, 2, 3, 2], { opset: 15 }),
  // training mode: the batch's statistics; the running statistics are checked too (they depend on x)
  bn([3, 2, 3, 4], { opset: 15, attrs: { training_mode: 1, momentum: 0.8 }, outputs: 3 }),
  bn([5, 3], { opset: 15, attrs: { training_mode: 1 }, outputs: 3 }),
  {
    ...bn([3, 2, 3, 4], { opset: 15, attrs: { training_mode: 1 } }),
    name: 'BatchNormalization training mode, only y used',
    graph: (b, ins) => [b.op('BatchNormalization', ins, { training_mode: 1 }, { outputs: 3 })],
  },
  {
    ...bn([3, 2, 3, 4], { opset: 13 }),
    name: 'BatchNormalization opset 13 training mode (running and saved statistics as outputs)',
    graph: (b, ins) => [b.opN('BatchNormalization', ins, { momentum: 0.7 }, { outputs: 5 })[0]!],
  },
  {
    ...bn([3, 2, 3, 4], { opset: 15 }),
    name: 'BatchNormalization training mode with a batch only known at run time',
    graph: (b, ins) => {
      b.graph.inputs[0]!.shape = ['N', 2, 3, 4];
      return [b.op('BatchNormalization', ins, { training_mode: 1 }, { outputs: 3 })];
    },
  },
  // LayerNormalization (opset 17): last axis, several axes, no bias, broadcast scale, stats already exposed
  { op: 'LayerNormalization', inputs: [{ shape: [3, 4, 5] }, { shape: [5] }, { shape: [5] }] },
  {
    op: 'LayerNormalization',
    attrs: { axis: 1 },
    inputs: [{ shape: [3, 4, 5] }, { shape: [4, 5] }, { shape: [4, 5] }],
  },
  {
    op: 'LayerNormalization',
    attrs: { axis: -2, epsilon: 0.01 },
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [4, 5] }],
  },
  {
    op: 'LayerNormalization',
    attrs: { axis: 1 },
    inputs: [{ shape: [3, 4, 5] }, { shape: [1, 5] }, { shape: [4, 1] }],
  },
  // the statistics outputs are float32 (stash_type 1) even for float64 inputs: checked in float32
  {
    op: 'LayerNormalization',
    outputs: 3,
    dtype: 'float32',
    inputs: [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }],
  },
];
