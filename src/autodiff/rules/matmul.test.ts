import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GradCheckCase } from '../gradcheck.js';
import { gradCheckTable } from '../test-utils/cases.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { buildTrainingGraph } from '../build.js';

const M = 3;
const K = 4;
const N = 5;
const gemmRows: GradCheckCase[] = [];
for (const transA of [0, 1]) {
  for (const transB of [0, 1]) {
    for (const c of [[N], [1, N], [M, 1], [M, N], [], null]) {
      gemmRows.push({
        op: 'Gemm',
        attrs: { transA, transB, alpha: 0.7, beta: c ? 1.3 : undefined },
        inputs: [{ shape: transA ? [K, M] : [M, K] }, { shape: transB ? [N, K] : [K, N] }, c ? { shape: c } : null],
      });
    }
  }
}
gemmRows.push({
  op: 'Gemm',
  opset: 11,
  attrs: { transB: 1 },
  inputs: [{ shape: [M, K] }, { shape: [N, K] }, { shape: [N] }],
});
gemmRows.push({ op: 'Gemm', attrs: { beta: 0 }, inputs: [{ shape: [M, K] }, { shape: [K, N] }, { shape: [N] }] });

const matmulShapes: [number[], number[]][] = [
  [
    [3, 4],
    [4, 5],
  ],
  [
    [2, 3, 4],
    [4, 5],
  ],
  [[4], [4, 5]],
  [[3, 4], [4]],
  [[4], [4]],
  [
    [2, 4],
    [3, 4, 5],
  ],
  [
    [2, 3, 4],
    [2, 4, 5],
  ],
  [
    [3, 4],
    [2, 4, 5],
  ],
  [
    [2, 1, 3, 4],
    [3, 4, 5],
  ],
  [
    [5, 1, 3, 4],
    [2, 4, 6],
  ],
  [[2, 3, 4], [4]],
  [[4], [2, 4, 5]],
];

gradCheckTable('matmul', [
  ...gemmRows,
  ...matmulShapes.map(([a, b]): GradCheckCase => ({ op: 'MatMul', inputs: [{ shape: a }, { shape: b }] })),
]);

test('Gemm and 2-D MatMul gradients are Gemms with transpose flags, no Transpose nodes', () => {
  const b = new GraphBuilder('lin');
  const x = b.input('x', 'float32', ['N', 8]);
  const w1 = b.initializer('w1', new Float32Array(8 * 6), [6, 8]);
  const b1 = b.initializer('b1', new Float32Array(6), [6]);
  const w2 = b.initializer('w2', new Float32Array(6 * 3), [6, 3]);
  const h = b.op('Gemm', [x, w1, b1], { transB: 1 });
  const y = b.op('MatMul', [h, w2], undefined, { outputs: ['logits'] });
  b.output(y, 'float32', ['N', 3]);
  const tg = buildTrainingGraph(b.build(), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w1', 'b1', 'w2'] });
  const backward = tg.model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
  assert.equal(backward.filter((n) => n.opType === 'Transpose').length, 0);
  assert.ok(backward.filter((n) => n.opType === 'Gemm').length >= 3);
  assert.equal(backward.filter((n) => n.opType === 'MatMul').length, 0);
});
