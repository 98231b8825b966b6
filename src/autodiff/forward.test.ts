import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { Session, f32, f64, i64 } from '../runtime/session.js';
import { buildTrainingGraph } from './build.js';
import { gradCheckTraining, rng, type TensorData } from './gradcheck.js';
import { ortRunner } from './test-utils/ort-runner.js';

function values(n: number, seed: number, center = 0, width = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => center + width * (2 * r() - 1));
}

/** x -> Conv(+bias) -> BN -> (+ residual Conv) -> GlobalAveragePool -> Flatten -> Gemm -> logits, float32. */
function convBnModel(opset: number): Model {
  const b = new GraphBuilder('conv-bn');
  b.input('x', 'float32', ['N', 3, 6, 6]);
  b.initializer('w', values(4 * 3 * 9, 1, 0, 0.5), [4, 3, 3, 3]);
  b.initializer('cb', values(4, 2, 0, 0.1), [4]);
  b.initializer('scale', values(4, 3, 1, 0.2), [4]);
  b.initializer('bias', values(4, 4, 0, 0.2), [4]);
  b.initializer('mean', values(4, 5, 0, 0.3), [4]);
  b.initializer('var', values(4, 6, 1, 0.4), [4]);
  b.initializer('w2', values(4 * 3, 7, 0, 0.5), [4, 3, 1, 1]);
  b.initializer('fc', values(4 * 3, 8, 0, 0.5), [4, 3]);
  const conv = b.op('Conv', ['x', 'w', 'cb'], { pads: [1, 1, 1, 1] });
  const bn = b.op('BatchNormalization', [conv, 'scale', 'bias', 'mean', 'var'], { epsilon: 1e-3 });
  const sum = b.op('Add', [bn, b.op('Conv', ['x', 'w2'])]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [sum])]);
  b.output(b.op('MatMul', [pooled, 'fc'], undefined, { outputs: ['logits'] }), 'float32', ['N', 3]);
  return b.build({ opset });
}

const X = f32(values(2 * 3 * 36, 9), [2, 3, 6, 6]);

function paramFeeds(model: Model, names: readonly string[]): Record<string, TensorData> {
  return Object.fromEntries(
    names.map((p) => {
      const t = model.graph.initializers.get(p)!;
      return [p, { dtype: t.dtype, dims: t.dims, data: t.toArray() }];
    }),
  );
}

test('an inference-mode BatchNormalization after a Conv is folded into it: same logits, correct gradients', async () => {
  const model = convBnModel(13);
  const trainable = ['w', 'cb', 'scale', 'bias', 'w2', 'fc'];
  const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable });
  const ops = tg.model.graph.nodes.map((n) => n.opType);
  assert.ok(!ops.includes('BatchNormalization'), 'BN folded away');
  const forwardConvs = tg.model.graph.nodes.filter((n) => n.opType === 'Conv' && !n.name.startsWith('grad/'));
  assert.equal(forwardConvs.length, 2);
  // Add(Conv, ...) is written as Sum so onnxruntime does not fuse it into the Conv (see forward.ts)
  assert.ok(!tg.model.graph.nodes.some((n) => n.opType === 'Add' && !n.name.includes('/')));
  assert.ok(ops.includes('Sum'));

  const fwd = await Session.create(model);
  const want = (await fwd.run({ x: X }))['logits']!.data as Float32Array;
  await fwd.dispose();
  const params = paramFeeds(model, trainable);
  const s = await Session.create(tg.model);
  const got = (await s.run({ x: X, [tg.labels.name]: i64([0, 2], [2]), ...params }))['logits']!.data as Float32Array;
  await s.dispose();
  want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-5 * (1 + Math.abs(v)), `logit ${i}: ${got[i]} vs ${v}`));

  // float32 (no float64 Conv in onnxruntime): the loss is smooth in every parameter, so a 1e-2 step is accurate
  const report = await gradCheckTraining(tg, { x: X, [tg.labels.name]: i64([0, 2], [2]) }, params, ortRunner, {
    tol: 2e-3,
    step: 1e-2,
  });
  assert.ok(report.ok, report.describe());
});

/** x -> Gemm -> BN (2-D) -> Relu -> Gemm -> logits, float64 so the whole step can be checked to 1e-6. */
function gemmBnModel(opset: number): Model {
  const b = new GraphBuilder('gemm-bn');
  b.input('x', 'float64', ['N', 4]);
  b.initializer('w1', Float64Array.from(values(4 * 5, 11, 0, 0.7)), [4, 5], 'float64');
  b.initializer('scale', Float64Array.from(values(5, 12, 1, 0.2)), [5], 'float64');
  b.initializer('bias', Float64Array.from(values(5, 13, 0, 0.2)), [5], 'float64');
  b.initializer('mean', Float64Array.from(values(5, 14, 0, 0.3)), [5], 'float64');
  b.initializer('var', Float64Array.from(values(5, 15, 1, 0.4)), [5], 'float64');
  b.initializer('w2', Float64Array.from(values(5 * 3, 16, 0, 0.7)), [5, 3], 'float64');
  const h = b.op('Gemm', ['x', 'w1']);
  const bn = b.op('BatchNormalization', [h, 'scale', 'bias', 'mean', 'var'], { momentum: 0.8 });
  b.output(b.op('MatMul', [b.op('Tanh', [bn]), 'w2'], undefined, { outputs: ['logits'] }), 'float64', ['N', 3]);
  return b.build({ opset });
}

for (const opset of [13, 15]) {
  test(`batchNorm 'train' (opset ${opset}): batch statistics, running statistics as inputs with defaults and updated outputs, gradients checked`, async () => {
    const model = gemmBnModel(opset);
    const trainable = ['w1', 'scale', 'bias', 'w2'];
    const tg = buildTrainingGraph(model, {
      logits: 'logits',
      loss: { kind: 'softmax-cross-entropy' },
      trainable,
      batchNorm: 'train',
    });
    assert.deepEqual(Object.keys(tg.stateUpdates).sort(), ['mean', 'var']);
    const g = tg.model.graph;
    for (const stat of ['mean', 'var']) {
      assert.ok(g.isGraphInput(stat) && g.initializers.has(stat), `${stat}: an input with a default`);
      assert.ok(g.isGraphOutput(tg.stateUpdates[stat]!));
    }
    const x = f64(values(6 * 4, 17), [6, 4]);
    const labels = i64([0, 1, 2, 0, 1, 2], [6]);
    const params = paramFeeds(model, trainable);
    const s = await Session.create(tg.model);
    const out = await s.run({ x, [tg.labels.name]: labels, ...params });
    await s.dispose();

    // by hand: h = x w1; batch mean / biased variance per column; running = 0.8 old + 0.2 batch
    const w1 = model.graph.initializers.get('w1')!.toArray() as Float64Array;
    const xs = x.data as Float64Array;
    const h = Array.from({ length: 6 }, (_, n) =>
      Array.from({ length: 5 }, (_, j) => [0, 1, 2, 3].reduce((a, k) => a + xs[n * 4 + k]! * w1[k * 5 + j]!, 0)),
    );
    const oldMean = model.graph.initializers.get('mean')!.toArray() as Float64Array;
    const oldVar = model.graph.initializers.get('var')!.toArray() as Float64Array;
    const newMean = out[tg.stateUpdates['mean']!]!.data as Float64Array;
    const newVar = out[tg.stateUpdates['var']!]!.data as Float64Array;
    for (let j = 0; j < 5; j++) {
      const col = h.map((r) => r[j]!);
      const mu = col.reduce((a, b) => a + b) / 6;
      const v = col.reduce((a, b) => a + (b - mu) ** 2, 0) / 6;
      // onnxruntime keeps the running statistics to float32 precision even for float64 tensors
      assert.ok(Math.abs(newMean[j]! - (0.8 * oldMean[j]! + 0.2 * mu)) < 1e-6, `mean ${j}`);
      assert.ok(Math.abs(newVar[j]! - (0.8 * oldVar[j]! + 0.2 * v)) < 1e-6, `var ${j}`);
    }

    const report = await gradCheckTraining(tg, { x, [tg.labels.name]: labels }, params, ortRunner);
    assert.ok(report.ok, report.describe());
  });
}

test("batchNorm 'train' leaves BNs whose parameters are frozen in inference mode (and folds them)", () => {
  const model = convBnModel(15);
  const tg = buildTrainingGraph(model, {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable: ['fc'],
    batchNorm: 'train',
  });
  assert.deepEqual(tg.stateUpdates, {});
  assert.ok(!tg.model.graph.nodes.some((n) => n.opType === 'BatchNormalization'));
  const trained = buildTrainingGraph(model, {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable: ['scale', 'fc'],
    batchNorm: 'train',
  });
  const bn = trained.model.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
  assert.equal(bn.intAttr('training_mode', 0), 1);
  assert.deepEqual(Object.keys(trained.stateUpdates).sort(), ['mean', 'var']);
});
