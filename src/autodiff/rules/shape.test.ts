import type { GradCheckCase } from '../gradcheck.js';
import { gradCheckTable } from '../test-utils/cases.js';

const shapeOf = (values: number[]) => ({
  shape: [values.length],
  values,
  dtype: 'int64' as const,
  as: 'constant' as const,
});
const axes = (values: number[]) => shapeOf(values);

gradCheckTable('shape', [
  { op: 'Identity', inputs: [{ shape: [3, 4] }] },
  { op: 'Reshape', inputs: [{ shape: [2, 3, 4] }, shapeOf([6, 4])] },
  { op: 'Reshape', inputs: [{ shape: [2, 3, 4] }, shapeOf([0, -1])] },
  { op: 'Reshape', inputs: [{ shape: [2, 3, 4] }, shapeOf([4, 1, 6])] },
  // the target shape fed at run time: the gradient reshapes with Shape(x)
  { op: 'Reshape', inputs: [{ shape: [2, 3, 4] }, { shape: [2], values: [3, 8], dtype: 'int64' }] },
  ...[0, 1, 2, 3, -1].map((axis): GradCheckCase => ({
    op: 'Flatten',
    attrs: { axis },
    inputs: [{ shape: [2, 3, 4] }],
  })),
  { op: 'Transpose', inputs: [{ shape: [2, 3, 4] }] },
  { op: 'Transpose', attrs: { perm: [1, 0, 2] }, inputs: [{ shape: [2, 3, 4] }] },
  { op: 'Transpose', attrs: { perm: [2, 0, 1] }, inputs: [{ shape: [2, 3, 4] }] },
  { op: 'Transpose', attrs: { perm: [0, 2, 3, 1] }, inputs: [{ shape: [2, 3, 4, 5] }] },
  { op: 'Concat', attrs: { axis: 0 }, inputs: [{ shape: [2, 3] }, { shape: [1, 3] }, { shape: [4, 3] }] },
  { op: 'Concat', attrs: { axis: 1 }, inputs: [{ shape: [2, 3] }, { shape: [2, 1] }] },
  { op: 'Concat', attrs: { axis: -1 }, inputs: [{ shape: [2, 2, 3] }, { shape: [2, 2, 2] }] },
  { op: 'Concat', attrs: { axis: 0 }, inputs: [{ shape: [2, 3] }] },
  // an input that needs no gradient (a constant) between two that do
  {
    op: 'Concat',
    attrs: { axis: 1 },
    inputs: [{ shape: [2, 3] }, { shape: [2, 2], as: 'constant' }, { shape: [2, 1] }],
  },
  { op: 'Concat', opset: 11, attrs: { axis: 0 }, inputs: [{ shape: [2, 3] }, { shape: [1, 3] }] },
  { op: 'Squeeze', opset: 11, attrs: { axes: [1] }, inputs: [{ shape: [3, 1, 4] }] },
  { op: 'Squeeze', opset: 13, inputs: [{ shape: [3, 1, 4] }, axes([1])] },
  { op: 'Squeeze', opset: 13, inputs: [{ shape: [1, 3, 1] }] },
  { op: 'Unsqueeze', opset: 11, attrs: { axes: [0, 3] }, inputs: [{ shape: [3, 4] }] },
  { op: 'Unsqueeze', opset: 13, inputs: [{ shape: [3, 4] }, axes([-1])] },
  { op: 'Expand', inputs: [{ shape: [3, 1] }, shapeOf([2, 3, 4])] },
  { op: 'Expand', inputs: [{ shape: [4] }, shapeOf([3, 1])] },
  // a Concat whose sizes are only known at run time (behind a Reshape fed its shape as data)
  {
    op: 'Concat',
    name: 'Concat of run-time-shaped parts',
    inputs: [{ shape: [2, 3] }, { shape: [2, 4] }, { shape: [2], values: [3, 2], dtype: 'int64' }],
    graph: (b, [a, c, s]) => [
      b.op('Concat', [b.op('Reshape', [a!, s!]), b.op('Reshape', [c!, b.ints([-1, 2])])], { axis: 0 }),
    ],
  },
  // Slice: positive, negative and past-the-end bounds, explicit axes, a symbolic-free 3-D case
  { op: 'Slice', inputs: [{ shape: [4, 5] }, shapeOf([1, 0]), shapeOf([3, 4])] },
  { op: 'Slice', inputs: [{ shape: [4, 5] }, shapeOf([-3]), shapeOf([2 ** 40]), axes([1])] },
  { op: 'Slice', inputs: [{ shape: [2, 3, 4] }, shapeOf([0, 1]), shapeOf([1, -1]), axes([2, 0]), shapeOf([1, 1])] },
  { op: 'Slice', inputs: [{ shape: [2, 6] }, shapeOf([4]), shapeOf([2]), axes([1])] },
  // Pad (constant mode): all axes, and the opset-18 axes input
  { op: 'Pad', inputs: [{ shape: [2, 3] }, shapeOf([1, 0, 2, 3])] },
  { op: 'Pad', inputs: [{ shape: [2, 3] }, shapeOf([1, 0, 2, 3]), { shape: [], values: [0.5], as: 'constant' }] },
  { op: 'Pad', opset: 18, inputs: [{ shape: [2, 3, 4] }, shapeOf([1, 2]), null, axes([-1])] },
  // Split: equal parts, explicit sizes (attribute before 13, input since), an output nobody uses
  { op: 'Split', outputs: 3, attrs: { axis: 1 }, inputs: [{ shape: [2, 6] }] },
  { op: 'Split', opset: 11, outputs: 2, attrs: { axis: 0, split: [1, 3] }, inputs: [{ shape: [4, 2] }] },
  { op: 'Split', opset: 13, outputs: 2, attrs: { axis: -1 }, inputs: [{ shape: [2, 5] }, shapeOf([2, 3])] },
  {
    op: 'Split',
    name: 'Split with one output unused',
    inputs: [{ shape: [2, 6] }],
    graph: (b, [x]) => [b.opN('Split', [x!], { axis: 1 }, { outputs: 3 })[1]!],
  },
  // Gather: repeated and negative indices accumulate; scalar indices; a non-leading axis
  { op: 'Gather', inputs: [{ shape: [5, 3] }, { shape: [4], values: [1, 3, 1, -1], dtype: 'int64', as: 'constant' }] },
  {
    op: 'Gather',
    inputs: [{ shape: [5, 3] }, { shape: [2, 2], values: [0, 4, 4, 2], dtype: 'int64', as: 'constant' }],
  },
  { op: 'Gather', inputs: [{ shape: [5, 3] }, { shape: [], values: [2], dtype: 'int64', as: 'constant' }] },
  {
    op: 'Gather',
    attrs: { axis: 1 },
    inputs: [{ shape: [2, 4, 3] }, { shape: [3], values: [0, 3, 0], dtype: 'int64', as: 'constant' }],
  },
  {
    op: 'Gather',
    attrs: { axis: -1 },
    inputs: [{ shape: [2, 4, 3] }, { shape: [2, 2], values: [2, 1, 1, 0], dtype: 'int64', as: 'constant' }],
  },
  {
    op: 'Gather',
    attrs: { axis: 1 },
    inputs: [{ shape: [2, 4] }, { shape: [], values: [0], dtype: 'int64', as: 'constant' }],
  },
  // Gather before opset 16: the one-hot form (repeated and negative indices, a scalar class-token pick)
  ...[11, 13, 15].map((opset): GradCheckCase => ({
    op: 'Gather',
    opset,
    inputs: [{ shape: [5, 3] }, { shape: [4], values: [1, 3, 1, -1], dtype: 'int64', as: 'constant' }],
  })),
  {
    op: 'Gather',
    opset: 13,
    attrs: { axis: 1 },
    inputs: [{ shape: [2, 4, 3] }, { shape: [3], values: [0, 3, 0], dtype: 'int64', as: 'constant' }],
  },
  {
    op: 'Gather',
    opset: 13,
    attrs: { axis: -1 },
    inputs: [{ shape: [2, 4, 3] }, { shape: [2, 2], values: [2, 1, 1, 0], dtype: 'int64', as: 'constant' }],
  },
  {
    op: 'Gather',
    opset: 13,
    attrs: { axis: 1 },
    inputs: [{ shape: [2, 4, 3] }, { shape: [], values: [0], dtype: 'int64', as: 'constant' }],
  },
  // GatherND: rows of a [N, T, C] tensor picked by (n, t) pairs, a repeated pair accumulates
  ...[13, 17].map((opset): GradCheckCase => ({
    op: 'GatherND',
    opset,
    inputs: [{ shape: [2, 3, 4] }, { shape: [4, 2], values: [0, 1, 1, 2, 0, 1, 1, 0], dtype: 'int64', as: 'constant' }],
  })),
  {
    op: 'GatherND',
    opset: 13,
    inputs: [{ shape: [3, 4] }, { shape: [2, 1], values: [2, 0], dtype: 'int64', as: 'constant' }],
  },
  {
    op: 'GatherND',
    opset: 17,
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 2], values: [0, 0, 1, 2], dtype: 'int64', as: 'constant' }],
  },
  // ScatterND: data and updates both get gradients, with and without the 'add' reduction
  ...[
    [13, undefined],
    [17, 'none'],
    [17, 'add'],
  ].map(([opset, reduction]): GradCheckCase => ({
    op: 'ScatterND',
    opset: opset as number,
    attrs: reduction ? { reduction: reduction as string } : undefined,
    inputs: [
      { shape: [2, 3, 4] },
      { shape: [3, 2], values: [0, 1, 1, 2, 0, 0], dtype: 'int64', as: 'constant' },
      { shape: [3, 4] },
    ],
  })),
]);
