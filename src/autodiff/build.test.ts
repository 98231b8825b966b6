import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { checkGraph } from '../onnx/check.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { inferShapes } from '../onnx/shapes.js';
import type { Model } from '../onnx/graph.js';
import { Session, f32, f64, i64 } from '../runtime/session.js';
import { applyTrainedParams, buildTrainingGraph } from './build.js';
import { gradCheckTraining, rng } from './gradcheck.js';
import type { LossSpec } from './losses.js';
import { ortRunner } from './test-utils/ort-runner.js';

type Float = 'float32' | 'float64';

function filled(n: number, seed: number, dtype: Float, scale = 0.5) {
  const r = rng(seed);
  const values = Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  return dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
}

/** x [N, 6] -> Gemm(w1,b1) -> Relu -> Gemm(w2,b2) -> Tanh -> MatMul(w3) + b3 -> logits [N, 4] */
function mlp(dtype: Float = 'float64', opset = 17): Model {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', dtype, ['N', 6]);
  const w1 = b.initializer('w1', filled(8 * 6, 1, dtype), [8, 6], dtype);
  const b1 = b.initializer('b1', filled(8, 2, dtype), [8], dtype);
  const w2 = b.initializer('w2', filled(8 * 5, 3, dtype), [8, 5], dtype);
  const b2 = b.initializer('b2', filled(5, 4, dtype), [5], dtype);
  const w3 = b.initializer('w3', filled(5 * 4, 5, dtype), [5, 4], dtype);
  const b3 = b.initializer('b3', filled(4, 6, dtype), [4], dtype);
  const h1 = b.op('Relu', [b.op('Gemm', [x, w1, b1], { transB: 1 }, { name: 'layer1' })], undefined, { name: 'act1' });
  const h2 = b.op('Tanh', [b.op('Gemm', [h1, w2, b2], undefined, { name: 'layer2' })], undefined, { name: 'act2' });
  const logits = b.op('Add', [b.op('MatMul', [h2, w3], undefined, { name: 'layer3' }), b3], undefined, {
    outputs: ['logits'],
  });
  // an extra output after the logits (probabilities): the training graph must drop it
  b.output(b.op('Softmax', [logits], { axis: 1 }, { outputs: ['probs'] }), dtype, ['N', 4]);
  return b.build({ opset });
}

const ALL = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'];
const SHAPES: Record<string, number[]> = { w1: [8, 6], b1: [8], w2: [8, 5], b2: [5], w3: [5, 4], b3: [4] };

function paramFeeds(model: Model, names: string[]) {
  return Object.fromEntries(
    names.map((p) => {
      const t = model.graph.initializers.get(p)!;
      return [p, { dtype: t.dtype, dims: t.dims, data: t.toArray() }];
    }),
  );
}

const backwardNodes = (m: Model) => m.graph.nodes.filter((n) => n.name.startsWith('grad/'));

test('2-layer+ MLP: loss and gradients from onnxruntime agree with finite differences of the loss', async () => {
  for (const opset of [11, 13, 17]) {
    const model = mlp('float64', opset);
    const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable: ALL });
    const xs = filled(7 * 6, 11, 'float64', 2);
    const report = await gradCheckTraining(
      tg,
      { x: f64(xs as Float64Array, [7, 6]), [tg.labels.name]: i64([0, 3, 1, 2, 2, 0, 3], [7]) },
      paramFeeds(model, ALL),
      ortRunner,
    );
    assert.ok(report.ok, `opset ${opset}\n${report.describe()}`);
    assert.ok(report.loss > 0.5 && report.loss < 3, `plausible CE loss for 4 classes: ${report.loss}`);
  }
});

test('training graph interface: inputs, outputs, shapes, and symbolic batch', async () => {
  const model = mlp('float32');
  const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable: ALL });
  const g = tg.model.graph;
  checkGraph(g);
  assert.deepEqual(tg.dataInputs, ['x']);
  assert.deepEqual(tg.params, ALL);
  assert.deepEqual(tg.labels, { name: 'labels', dtype: 'int64', shape: ['N'] });
  assert.deepEqual(
    g.inputs.map((i) => i.name),
    ['x', ...ALL, 'labels'],
  );
  assert.deepEqual(
    g.outputs.map((o) => o.name),
    [tg.loss, 'logits', ...ALL.map((p) => tg.gradOf[p])],
  );
  for (const p of ALL) assert.equal(g.initializers.has(p), false, `${p} moved to the inputs`);
  // the shared shape inference agrees with every output declared (it throws on contradictions)
  inferShapes(tg.model.clone());
  assert.equal(
    g.nodes.some((n) => n.outputs.includes('probs')),
    false,
    'nodes after the logits are dropped',
  );
  // the encoded model survives a round trip and runs for two batch sizes
  const s = await Session.create(decodeModel(encodeModel(tg.model)));
  for (const n of [1, 5]) {
    const out = await s.run({
      x: f32(filled(n * 6, 3, 'float32') as Float32Array, [n, 6]),
      labels: i64(
        Array.from({ length: n }, (_, i) => i % 4),
        [n],
      ),
      ...paramFeeds(model, ALL),
    });
    assert.deepEqual(out[tg.loss]!.dims, []);
    assert.deepEqual(out['logits']!.dims, [n, 4]);
    for (const p of ALL) {
      assert.deepEqual(out[tg.gradOf[p]!]!.dims, SHAPES[p], `gradient of ${p} has the parameter's shape`);
      const data = out[tg.gradOf[p]!]!.data as Float32Array;
      assert.ok(data.every(Number.isFinite));
      assert.ok(
        data.some((v) => v !== 0),
        `gradient of ${p} is not all zero`,
      );
    }
  }
  await s.dispose();
});

test('every emitted node is in the default ONNX domain', () => {
  const losses: LossSpec[] = [
    { kind: 'softmax-cross-entropy', classWeights: [1, 2, 3, 4], labelSmoothing: 0.1 },
    { kind: 'bce-with-logits', posWeight: [1, 2, 3, 4] },
    { kind: 'mse' },
  ];
  for (const loss of losses) {
    const tg = buildTrainingGraph(mlp(), { logits: 'logits', loss, trainable: ALL });
    const foreign = tg.model.graph.nodes.filter((n) => n.domain !== '');
    assert.deepEqual(
      foreign.map((n) => `${n.opType}@${n.domain}`),
      [],
      loss.kind,
    );
    assert.ok(tg.model.graph.nodes.length > 20);
  }
});

test('frozen layers get no gradient outputs and no backward nodes', () => {
  const model = mlp();
  const trainable = ['w2', 'b2', 'w3', 'b3'];
  const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable });
  const g = tg.model.graph;
  assert.deepEqual(Object.keys(tg.gradOf), trainable);
  assert.ok(g.initializers.has('w1') && g.initializers.has('b1'), 'frozen weights stay initializers');
  assert.equal(g.isGraphInput('w1'), false);
  const backward = backwardNodes(tg.model);
  // nothing differentiates layer 1 or its activation, and nothing reads the frozen weights
  assert.deepEqual(
    backward.filter((n) => /^grad\/(layer1|act1)\//.test(n.name)).map((n) => n.name),
    [],
  );
  assert.equal(
    backward.some((n) => n.inputs.includes('w1') || n.inputs.includes('b1')),
    false,
  );
  // Exact count: layer3 MatMul (dW3 Gemm, dh2 Gemm) + Add (db3 ReduceSum) + Tanh (3) + layer2 Gemm
  // (dW2 Gemm, db2 ReduceSum; no input gradient: h1 leads to no trainable value).
  const count = (m: Model) => backwardNodes(m).length;
  assert.equal(count(tg.model), 2 + 1 + 3 + 2);
  const all = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ALL });
  // all trainable adds layer2's input gradient (Gemm), Relu (Greater + Cast + Mul), dW1 (Gemm), db1 (ReduceSum)
  assert.equal(count(all.model), count(tg.model) + 1 + 3 + 2);
  // only the head trainable: the backward pass stops at layer 3
  const head = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w3', 'b3'] });
  assert.deepEqual([...new Set(backwardNodes(head.model).map((n) => n.name.split('/')[1]))].sort(), ['Add', 'layer3']);
});

test('an op without a gradient rule on the gradient path is a NO_GRADIENT error naming it; off the path it is fine', () => {
  const build = (frozen: boolean) => {
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', ['N', 3]);
    b.initializer('w', new Float32Array(9), [3, 3]);
    b.initializer('v', new Float32Array(9), [3, 3]);
    const h = b.op('Acos', [b.op('MatMul', [x, 'w'])], undefined, { name: 'cosine' });
    b.output(b.op('MatMul', [h, 'v'], undefined, { outputs: ['logits'] }), 'float32', ['N', 3]);
    return buildTrainingGraph(b.build(), {
      logits: 'logits',
      loss: { kind: 'mse' },
      trainable: frozen ? ['v'] : ['w', 'v'],
    });
  };
  assert.throws(
    () => build(false),
    (e: Error & { code?: string; fields?: { node?: string; op?: string; choices?: string[] } }) =>
      e.code === 'NO_GRADIENT' &&
      e.fields?.node === 'cosine' &&
      e.fields.op === 'Acos' &&
      !!e.fields.choices?.includes('Gemm') &&
      /freeze/.test(e.message),
  );
  assert.doesNotThrow(() => build(true));
});

test('a parameter that does not reach the loss gets a zero gradient of its shape', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [2, 3]);
  b.initializer(
    'w',
    Float32Array.from({ length: 9 }, (_, i) => i / 10),
    [3, 3],
  );
  b.initializer('unused', new Float32Array(6).fill(1), [2, 3]);
  b.output(b.op('MatMul', [x, 'w'], undefined, { outputs: ['logits'] }), 'float32', [2, 3]);
  b.output(b.op('Add', [x, 'unused']), 'float32', [2, 3]);
  const tg = buildTrainingGraph(b.build(), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w', 'unused'] });
  const s = await Session.create(tg.model);
  const out = await s.run({
    x: f32([1, 2, 3, 4, 5, 6], [2, 3]),
    labels: f32(new Float32Array(6), [2, 3]),
    w: f32(
      Float32Array.from({ length: 9 }, (_, i) => i / 10),
      [3, 3],
    ),
    unused: f32(new Float32Array(6).fill(1), [2, 3]),
  });
  await s.dispose();
  assert.deepEqual(out[tg.gradOf['unused']!]!.dims, [2, 3]);
  assert.ok((out[tg.gradOf['unused']!]!.data as Float32Array).every((v) => v === 0));
});

test('bad specs are GraftErrors listing the valid choices', () => {
  const model = mlp();
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { code?: string }).code + ': ' + (e as Error).message;
    }
    return 'no error';
  };
  assert.match(
    code(() => buildTrainingGraph(model, { logits: 'nope', loss: { kind: 'mse' }, trainable: ['w1'] })),
    /^NOT_FOUND.*logits/s,
  );
  assert.match(
    code(() => buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w9'] })),
    /^NOT_FOUND.*valid choices: w1, b1, w2/s,
  );
  assert.match(
    code(() => buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w1', 'w1'] })),
    /^CONFIG.*twice/s,
  );
  assert.match(
    code(() => buildTrainingGraph(mlp('float64', 10), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['w1'] })),
    /^BAD_MODEL.*opset 11/s,
  );
});

test('applyTrainedParams writes trained values into a copy of the inference model', async () => {
  const model = mlp('float32');
  const trained = { w3: new Float32Array(20).fill(0), b3: Float32Array.of(1, 2, 3, 4) };
  const inference = applyTrainedParams(model, trained);
  assert.notEqual(inference, model);
  assert.deepEqual(model.graph.initializers.get('b3')!.toNumbers(), Array.from(filled(4, 6, 'float32')));
  const s = await Session.create(inference);
  const out = await s.run({ x: f32(new Float32Array(12).fill(0.3), [2, 6]) });
  await s.dispose();
  // with w3 = 0 the logits are b3 for every row
  const probs = out['probs']!.data as Float32Array;
  const e = [1, 2, 3, 4].map(Math.exp);
  const sum = e.reduce((a, b) => a + b, 0);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(probs[i]! - e[i % 4]! / sum) < 1e-6);
  assert.throws(() => applyTrainedParams(model, { nope: new Float32Array(1) }), /NOT_FOUND|not an initializer/);
  assert.throws(
    () => applyTrainedParams(model, { b3: new Float32Array(3) }),
    (e: Error & { code?: string }) => e.code === 'SHAPE_MISMATCH',
  );
  assert.throws(() => applyTrainedParams(model, { b3: new Float64Array(4) }), /wrong element type/);
});

test("dropout 'train' drops in the training graph and the gradient uses the same mask; 'as-is' keeps the identity", async () => {
  const b = new GraphBuilder('drop');
  const x = b.input('x', 'float64', ['N', 64]);
  b.initializer('bias', new Float64Array(64).fill(0.25), [64]);
  const h = b.op('Dropout', [b.op('Add', [x, 'bias'])], undefined, { name: 'drop' });
  b.output(b.op('Identity', [h], undefined, { outputs: ['logits'] }), 'float64', ['N', 64]);
  const model = b.build({ opset: 13 });
  const n = 8;
  const xs = Float64Array.from({ length: n * 64 }, (_, i) => 1 + Math.abs(Math.sin(i)));
  const feeds = {
    x: f64(xs, [n, 64]),
    labels: f64(new Float64Array(n * 64), [n, 64]),
    bias: f64(new Float64Array(64).fill(0.25), [64]),
  };

  const train = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ['bias'] });
  const s = await Session.create(train.model);
  const out = await s.run(feeds);
  await s.dispose();
  const z = out['logits']!.data as Float64Array;
  const grad = out[train.gradOf['bias']!]!.data as Float64Array;
  const dropped = z.filter((v) => v === 0).length;
  assert.ok(dropped > n * 64 * 0.35 && dropped < n * 64 * 0.65, `about half dropped: ${dropped}`);
  // logits = (x + b) * mask * 2 and loss = mean(logits^2): dL/db[j] = sum_i 2 z_ij / numel * mask_ij * 2
  for (let j = 0; j < 64; j++) {
    let want = 0;
    for (let i = 0; i < n; i++) {
      const v = z[i * 64 + j]!;
      if (v !== 0) want += ((2 * v) / (n * 64)) * 2;
    }
    assert.ok(Math.abs(grad[j]! - want) < 1e-12, `dL/db[${j}] ${grad[j]} vs ${want}`);
  }
  assert.equal(
    model.graph.nodes.find((nd) => nd.opType === 'Dropout')!.inputs.length,
    1,
    'the forward model is untouched',
  );

  const asIs = buildTrainingGraph(model, {
    logits: 'logits',
    loss: { kind: 'mse' },
    trainable: ['bias'],
    dropout: 'as-is',
  });
  const report = await gradCheckTraining(asIs, { x: feeds.x, labels: feeds.labels }, { bias: feeds.bias }, ortRunner);
  assert.ok(report.ok, report.describe());
});

/**
 * A pre-LN transformer block as exporters before opset 17 write it: decomposed LayerNorm (ReduceMean, Sub,
 * Pow, Sqrt, Div), multi-head attention with Reshape/Transpose heads and batched MatMuls, a residual Add,
 * mean pooling and a linear classifier. Batch is symbolic.
 */
function attentionBlock(opset: number): { model: Model; params: string[] } {
  const [S, D, H] = [5, 8, 2];
  const b = new GraphBuilder('attention');
  const x = b.input('x', 'float64', ['N', S, D]);
  const p = (name: string, dims: number[], seed: number, scale = 0.4) =>
    b.initializer(
      name,
      filled(
        dims.reduce((a, c) => a * c, 1),
        seed,
        'float64',
        scale,
      ),
      dims,
      'float64',
    );
  const gamma = p('ln.gamma', [D], 20, 1);
  const beta = p('ln.beta', [D], 21);
  const mean = (v: string) =>
    opset >= 18
      ? b.op('ReduceMean', [v, b.ints([-1])], { keepdims: 1 })
      : b.op('ReduceMean', [v], { axes: [-1], keepdims: 1 });
  const centered = b.op('Sub', [x, mean(x)]);
  const variance = mean(b.op('Pow', [centered, b.scalar(2, 'two', 'float64')]));
  const std = b.op('Sqrt', [b.op('Add', [variance, b.scalar(1e-5, 'eps', 'float64')])]);
  const ln = b.op('Add', [b.op('Mul', [b.op('Div', [centered, std]), gamma]), beta]);
  const heads = (v: string) =>
    b.op('Transpose', [b.op('Reshape', [v, b.ints([0, S, H, D / H])])], { perm: [0, 2, 1, 3] });
  const q = heads(b.op('MatMul', [ln, p('wq', [D, D], 22)]));
  const k = heads(b.op('MatMul', [ln, p('wk', [D, D], 23)]));
  const v = heads(b.op('Add', [b.op('MatMul', [ln, p('wv', [D, D], 24)]), p('bv', [D], 25)]));
  const scores = b.op('Div', [
    b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]),
    b.scalar(Math.sqrt(D / H), 'scale', 'float64'),
  ]);
  const attn = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
  const merged = b.op('Reshape', [b.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), b.ints([0, S, D])]);
  const residual = b.op('Add', [x, b.op('MatMul', [merged, p('wo', [D, D], 26)])]);
  const pooled = mean(b.op('Transpose', [residual], { perm: [0, 2, 1] }));
  const flat = b.op('Flatten', [pooled], { axis: 1 });
  const logits = b.op(
    'Gemm',
    [flat, p('fc.w', [3, D], 27), p('fc.b', [3], 28)],
    { transB: 1 },
    { outputs: ['logits'] },
  );
  b.output(logits, 'float64', ['N', 3]);
  return { model: b.build({ opset }), params: ['ln.gamma', 'ln.beta', 'wq', 'wk', 'wv', 'bv', 'wo', 'fc.w', 'fc.b'] };
}

test('transformer block (decomposed LayerNorm, multi-head attention): gradients agree with finite differences', async () => {
  for (const opset of [13, 18]) {
    const { model, params } = attentionBlock(opset);
    const tg = buildTrainingGraph(model, {
      logits: 'logits',
      loss: { kind: 'softmax-cross-entropy', labelSmoothing: 0.1, classWeights: [1, 2, 0.5] },
      trainable: params,
    });
    const report = await gradCheckTraining(
      tg,
      { x: f64(filled(3 * 5 * 8, 30, 'float64', 2) as Float64Array, [3, 5, 8]), [tg.labels.name]: i64([2, 0, 1], [3]) },
      paramFeeds(model, params),
      ortRunner,
    );
    assert.ok(report.ok, `opset ${opset}\n${report.describe()}`);
  }
});

test('a forward graph whose nodes are listed out of order gets a correct backward pass', async () => {
  const model = mlp('float64');
  model.graph.nodes.reverse();
  model.graph.touch();
  const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'mse' }, trainable: ALL });
  checkGraph(tg.model.graph);
  const report = await gradCheckTraining(
    tg,
    {
      x: f64(filled(4 * 6, 12, 'float64', 2) as Float64Array, [4, 6]),
      labels: f64(filled(16, 13, 'float64') as Float64Array, [4, 4]),
    },
    paramFeeds(model, ALL),
    ortRunner,
  );
  assert.ok(report.ok, report.describe());
});
