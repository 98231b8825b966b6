import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck, type GradCheckCase, type GradCheckInput } from '../gradcheck.js';
import { BROADCAST_PAIRS, gradCheckTable } from '../test-utils/cases.js';
import { ortRunner } from '../test-utils/ort-runner.js';
import { defElementwise } from './helpers.js';

function broadcast(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

type Sampling = Omit<GradCheckInput, 'shape'>;
const binary = (op: string, second: Sampling = {}, first: Sampling = {}): GradCheckCase[] =>
  BROADCAST_PAIRS.map(([a, b]) => ({
    op,
    inputs: [
      { ...first, shape: a },
      { ...second, shape: b },
    ],
  }));

gradCheckTable('elementwise', [
  // positional codes and clamps (USE lite's l2 normalize takes Max(sum of squares, eps))
  { op: 'Sin', inputs: [{ shape: [3, 4] }] },
  { op: 'Cos', inputs: [{ shape: [3, 4] }] },
  ...binary('Max'),
  ...binary('Min'),
  { op: 'Max', inputs: [{ shape: [3, 4] }, { shape: [], values: [1e-3], as: 'constant' }] },
  { op: 'Min', inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }] },
  ...binary('Add'),
  ...binary('Sub'),
  ...binary('Mul'),
  ...binary('Div', { sample: 'positive' }),
  ...binary('Pow', {}, { sample: 'positive' }),
  // constant exponents: the folded special cases and the general constant tensor
  ...[2, 3, 0.5, -1.5, 1].map((p) => ({
    op: 'Pow',
    inputs: [
      { shape: [3, 4], sample: 'positive' as const },
      { shape: [], values: [p], as: 'constant' as const },
    ],
  })),
  {
    op: 'Pow',
    inputs: [
      { shape: [3, 4], sample: 'positive' },
      { shape: [4], values: [2, 0.5, 3, -1], as: 'constant' },
    ],
  },
  {
    op: 'Pow',
    opset: 11,
    inputs: [
      { shape: [3, 4], sample: 'positive' },
      { shape: [], values: [3], as: 'constant' },
    ],
  },
  { op: 'Sum', inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }] },
  { op: 'Mean', dtype: 'float32', inputs: [{ shape: [2, 3] }, { shape: [3] }] },
  // the condition takes the broadcast shape of both branches, alternating between them
  ...BROADCAST_PAIRS.map(([a, b]): GradCheckCase => {
    const shape = broadcast(a, b);
    const n = shape.reduce((p, d) => p * d, 1);
    const cond = Array.from({ length: n }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    return {
      op: 'Where',
      inputs: [{ shape, values: cond, dtype: 'bool', as: 'constant' }, { shape: a }, { shape: b }],
    };
  }),
  { op: 'Neg', inputs: [{ shape: [3, 4] }] },
  { op: 'Exp', inputs: [{ shape: [3, 4] }] },
  { op: 'Log', inputs: [{ shape: [3, 4], sample: 'positive' }] },
  { op: 'Sqrt', inputs: [{ shape: [3, 4], sample: 'positive' }] },
  { op: 'Reciprocal', inputs: [{ shape: [3, 4], sample: 'positive' }] },
  { op: 'Abs', inputs: [{ shape: [3, 4], sample: 'awayFromZero' }] },
  // onnxruntime has no float64 Erf kernel
  { op: 'Erf', dtype: 'float32', inputs: [{ shape: [3, 4] }] },
  { op: 'Cast', dtype: 'float32', attrs: { to: 11 }, inputs: [{ shape: [3, 4] }] },
  // the same value on both inputs, and fan-out into two consumers: contributions must add up
  { op: 'Mul', name: 'x * x', inputs: [{ shape: [3] }], graph: (b, [x]) => [b.op('Mul', [x!, x!])] },
  {
    op: 'fan-out',
    name: 'exp(x) * x + tanh(x)',
    inputs: [{ shape: [2, 3] }],
    graph: (b, [x]) => [b.op('Add', [b.op('Mul', [b.op('Exp', [x!]), x!]), b.op('Tanh', [x!])])],
  },
  // swish x * Sigmoid(x) in both operand orders (the Mul rule's pattern), and with the Sigmoid also used
  // elsewhere (its other consumer's gradient must still reach x through the Sigmoid). float32: onnxruntime
  // fuses the forward x * Sigmoid(x) into its float-only QuickGelu, so a float64 model does not load.
  {
    op: 'Mul',
    name: 'x * Sigmoid(x)',
    dtype: 'float32',
    tol: 2e-3,
    inputs: [{ shape: [3, 4] }],
    graph: (b, [x]) => [b.op('Mul', [x!, b.op('Sigmoid', [x!])])],
  },
  {
    op: 'Mul',
    name: 'Sigmoid(x) * x',
    dtype: 'float32',
    tol: 2e-3,
    inputs: [{ shape: [3, 4] }],
    graph: (b, [x]) => [b.op('Mul', [b.op('Sigmoid', [x!]), x!])],
  },
  {
    op: 'Mul',
    name: 'x * Sigmoid(x), Sigmoid(x) also an output',
    dtype: 'float32',
    tol: 2e-3,
    inputs: [{ shape: [3, 4] }],
    graph: (b, [x]) => {
      const s = b.op('Sigmoid', [x!]);
      return [b.op('Mul', [x!, s]), s];
    },
  },
  // not the pattern: the Sigmoid of another value
  {
    op: 'Mul',
    name: 'x * Sigmoid(y)',
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }],
    graph: (b, [x, y]) => [b.op('Mul', [x!, b.op('Sigmoid', [y!])])],
  },
]);

test('the checker reports a wrong rule (negative control)', async () => {
  // Mul whose gradient for input 0 forgets the other factor: must be caught, with seed and shapes printed.
  const wrong = defElementwise([(_, a) => a.go, (c, a) => c.emit('Mul', [a.go, a.in[0]!])]);
  const report = await gradCheck(
    { op: 'Mul', inputs: [{ shape: [3, 4] }, { shape: [4] }], overrides: { Mul: wrong }, seed: 7 },
    ortRunner,
  );
  assert.equal(report.ok, false);
  assert.ok(report.checks.some((k) => k.input === 0 && k.error > 1e-3));
  assert.ok(report.checks.filter((k) => k.input === 1).every((k) => k.error < 1e-6));
  assert.match(report.describe(), /seed 7/);
  assert.match(report.describe(), /\[3,4\] \[4\]/);
});
