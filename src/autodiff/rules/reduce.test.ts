import type { GradCheckCase } from '../gradcheck.js';
import { gradCheckTable } from '../test-utils/cases.js';

const axes = (values: number[]) => ({
  shape: [values.length],
  values,
  dtype: 'int64' as const,
  as: 'constant' as const,
});
const x = { shape: [2, 3, 4] };

const rows: GradCheckCase[] = [];
for (const op of ['ReduceSum', 'ReduceMean']) {
  // axes as an attribute: ReduceSum before 13, ReduceMean before 18
  const attrOpset = op === 'ReduceSum' ? 11 : 13;
  const inputOpset = op === 'ReduceSum' ? 13 : 18;
  for (const keepdims of [0, 1]) {
    rows.push(
      { op, opset: attrOpset, attrs: { axes: [1], keepdims }, inputs: [x] },
      { op, opset: attrOpset, attrs: { axes: [0, -1], keepdims }, inputs: [x] },
      { op, opset: attrOpset, attrs: { keepdims }, inputs: [x] },
      { op, opset: inputOpset, attrs: { keepdims }, inputs: [x, axes([1])] },
      { op, opset: inputOpset, attrs: { keepdims }, inputs: [x, axes([2, 0])] },
      { op, opset: inputOpset, attrs: { keepdims }, inputs: [x] },
    );
  }
  rows.push({ op, opset: inputOpset, attrs: { noop_with_empty_axes: 1 }, inputs: [x] });
  // axes fed at run time: fine with keepdims=1 (the gradient broadcasts back with Expand)
  rows.push({
    op,
    opset: inputOpset,
    attrs: { keepdims: 1 },
    inputs: [x, { shape: [1], values: [1], dtype: 'int64' }],
  });
}
rows.push({ op: 'ReduceSum', opset: 13, attrs: { keepdims: 0 }, inputs: [{ shape: [5] }, axes([0])] });

gradCheckTable('reduce', rows);
