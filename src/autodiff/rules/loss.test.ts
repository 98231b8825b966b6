import type { GradCheckCase } from '../gradcheck.js';
import { gradCheckTable } from '../test-utils/cases.js';

const labels = (values: number[], shape = [values.length]) => ({
  shape,
  values,
  dtype: 'int64' as const,
  as: 'constant' as const,
});
const weights = { shape: [4], values: [0.5, 2, 1, 1.5], as: 'constant' as const };

const rows: GradCheckCase[] = [];
for (const op of ['SoftmaxCrossEntropyLoss', 'NegativeLogLikelihoodLoss']) {
  for (const reduction of ['mean', 'sum', 'none']) {
    rows.push(
      { op, attrs: { reduction }, inputs: [{ shape: [3, 4] }, labels([0, 3, 1])] },
      { op, attrs: { reduction }, inputs: [{ shape: [3, 4] }, labels([0, 3, 1]), weights] },
      { op, attrs: { reduction, ignore_index: 1 }, inputs: [{ shape: [3, 4] }, labels([0, 1, 2]), weights] },
      // scores [N, C, d]: the class axis is 1
      { op, attrs: { reduction }, inputs: [{ shape: [2, 4, 3] }, labels([0, 1, 3, 2, 2, 0], [2, 3])] },
    );
  }
}
// a gradient reaching the log_prob output as well
rows.push({ op: 'SoftmaxCrossEntropyLoss', outputs: 2, inputs: [{ shape: [3, 4] }, labels([2, 0, 3])] });
rows.push({ op: 'SoftmaxCrossEntropyLoss', opset: 12, inputs: [{ shape: [3, 4] }, labels([2, 0, 3])] });

gradCheckTable('loss ops', rows);
