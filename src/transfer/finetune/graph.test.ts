import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrainingGraph } from '../../autodiff/build.js';
import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { Session, f32, i64 } from '../../runtime/session.js';
import { cut } from '../../surgery/cut.js';
import { parameterNames } from '../../surgery/params.js';
import { estimateBatchNormStats, withBatchNormStats, withTrainingBatchNorms } from './batch-norm.js';
import { between, forwardAll } from './forward.js';
import { composeClassifier, createHead } from './head.js';
import { withInputSize } from './input-size.js';
import { contractBatchedGradients } from './optimize.js';
import { reinitialize } from './reinit.js';
import { upperGraph } from './split.js';
import { textureImages, tinyCnn } from './test-utils.js';

const ONE_THREAD = { intraOpThreads: 1 };

function classifier(opts: { size?: number } = {}) {
  const { model, featureValue } = tinyCnn({ size: opts.size ?? 8 });
  return composeClassifier(model, featureValue, createHead(8, 4, { seed: 1 }));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('the graph above a block boundary, fed the activations below it, computes what the whole model computes', async () => {
  const cls = classifier();
  const x = textureImages(10).data;
  const at = 'layers/block_1/out/Relu_out';
  const whole = (await forwardAll(cls.model, { data: x, sampleDims: [3, 8, 8] }, { outputs: [cls.logits] }))[
    cls.logits
  ]!;
  const below = (await forwardAll(cut(cls.model, at), { data: x, sampleDims: [3, 8, 8] }))[at]!;
  assert.deepEqual(below.sampleDims, [4, 8, 8]);
  const upper = upperGraph(cls.model, at);
  assert.deepEqual(
    upper.graph.dataInputs.map((i) => i.name),
    [at],
  );
  assert.ok(!upper.graph.initializers.has('stem/conv.weight'), 'nothing below the boundary is kept');
  const above = (await forwardAll(upper, below, { outputs: [cls.logits] }))[cls.logits]!;
  assert.ok(maxAbsDiff(whole.data, above.data) < 1e-5);
  const mid = (await forwardAll(between(cls.model, at, 'features'), below))['features']!;
  assert.deepEqual(mid.sampleDims, [8]);
});

test('splitting inside a residual block (a value the skip connection bypasses) is refused', () => {
  const cls = classifier();
  assert.throws(
    () => upperGraph(cls.model, 'layers/block_1/conv1/Relu_out'),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'BAD_GRAPH' &&
      /stem\/conv\/Relu_out/.test(e.message) &&
      /block boundary/.test(e.message),
  );
  assert.throws(() => upperGraph(cls.model, 'no_such_value'), /no node produces it/);
});

test('contracting the batch in weight-gradient products changes no gradient and removes the batched sums', async () => {
  const cls = classifier();
  const model = cls.model;
  const trainable = parameterNames(model.graph).filter((p) => !p.includes('running'));
  const tg = buildTrainingGraph(model, { logits: cls.logits, loss: { kind: 'softmax-cross-entropy' }, trainable });
  const fast = tg.model.clone();
  const n = contractBatchedGradients(fast);
  assert.equal(n, 6, 'one product per convolution weight');
  const batchedSums = (m: typeof fast) =>
    m.graph.nodes.filter((x) => x.opType === 'ReduceSum' && m.graph.producer(x.inputs[0]!)?.opType === 'MatMul').length;
  assert.equal(batchedSums(fast), 0);
  assert.ok(batchedSums(tg.model) >= n);
  const { data, labels } = textureImages(6);
  const feeds = {
    image: f32(data, [6, 3, 8, 8]),
    [tg.labels.name]: i64(Array.from(labels), [6]),
    ...Object.fromEntries(
      tg.params.map((p) => {
        const t = model.graph.initializers.get(p)!;
        return [p, f32(t.toArray() as Float32Array, t.dims)];
      }),
    ),
  };
  const run = async (m: typeof fast) => {
    const s = await Session.create(m, ONE_THREAD);
    try {
      return await s.run(feeds);
    } finally {
      await s.dispose();
    }
  };
  const [a, b] = [await run(tg.model), await run(fast)];
  for (const p of trainable) {
    const ga = a[tg.gradOf[p]!]!.data as Float32Array;
    const gb = b[tg.gradOf[p]!]!.data as Float32Array;
    const scale = Math.max(1e-6, ...Array.from(ga, Math.abs));
    assert.ok(maxAbsDiff(ga, gb) <= 1e-5 * scale, p);
  }
});

test('batch-norm population statistics: the mean and variance of each BN input over the data, in batches of any size', async () => {
  const cls = classifier();
  const bn = 'top_conv/bn/BatchNormalization';
  const node = cls.model.graph.nodes.find((n) => n.label === bn)!;
  const train = withTrainingBatchNorms(cls.model, [bn]);
  assert.equal(train.graph.nodes.find((n) => n.label === bn)!.intAttr('training_mode', 0), 1);
  assert.equal(
    cls.model.graph.nodes.find((n) => n.label === bn)!.intAttr('training_mode', 0),
    0,
    'the input is unchanged',
  );
  const x = textureImages(37).data;
  const stats = await estimateBatchNormStats({
    model: train,
    labels: [bn],
    input: 'image',
    data: x,
    sampleDims: [3, 8, 8],
    batchSize: 10,
    session: ONE_THREAD,
  });
  // direct: the BN input over all 37 images at once
  const input = (await forwardAll(cut(cls.model, node.inputs[0]!), { data: x, sampleDims: [3, 8, 8] }))[
    node.inputs[0]!
  ]!;
  const [c, hw] = [input.sampleDims[0]!, input.sampleDims[1]! * input.sampleDims[2]!];
  const mean = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < 37; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < hw; k++) {
        const v = input.data[(i * c + ch) * hw + k]!;
        mean[ch]! += v / (37 * hw);
        sq[ch]! += (v * v) / (37 * hw);
      }
    }
  }
  const gotMean = stats.mean[node.inputs[3]!]!;
  const gotVar = stats.variance[node.inputs[4]!]!;
  for (let ch = 0; ch < c; ch++) {
    assert.ok(Math.abs(gotMean[ch]! - mean[ch]!) < 1e-4, `mean ${ch}`);
    assert.ok(Math.abs(gotVar[ch]! - (sq[ch]! - mean[ch]! ** 2)) < 1e-4, `var ${ch}`);
  }
  const updated = withBatchNormStats(cls.model, stats);
  assert.deepEqual(updated.graph.initializers.get(node.inputs[3]!)!.toArray(), gotMean);
  const old = classifier().model;
  old.opsetImports = [{ domain: '', version: 13 }];
  assert.throws(() => withTrainingBatchNorms(old, [bn]), /opset 14 or later/);
});

test('re-initialisation: fresh He-normal convolutions, zero biases, identity batch norms, seeded; other constants kept', () => {
  const b = new GraphBuilder('scaled');
  const x = b.input('x', 'float32', ['N', 3, 16, 16]);
  const scaled = b.op('Mul', [x, b.initializer('input_scale', Float32Array.of(2), [])]);
  const w = b.initializer('conv.weight', new Float32Array(64 * 3 * 9).fill(0.5), [64, 3, 3, 3]);
  const y = b.op('Conv', [scaled, w, b.initializer('conv.bias', new Float32Array(64).fill(3), [64])]);
  const bn = b.op('BatchNormalization', [
    y,
    b.initializer('bn.weight', new Float32Array(64).fill(5), [64]),
    b.initializer('bn.bias', new Float32Array(64).fill(5), [64]),
    b.initializer('bn.mean', new Float32Array(64).fill(5), [64]),
    b.initializer('bn.var', new Float32Array(64).fill(5), [64]),
  ]);
  b.output(bn, 'float32');
  const model = b.build();
  const params = ['input_scale', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias'];
  const r = reinitialize(model, params, 7);
  assert.deepEqual(r.kept, ['input_scale']);
  const get = (m: typeof model, n: string) => m.graph.initializers.get(n)!.toArray() as Float32Array;
  const wv = get(r.model, 'conv.weight');
  const std = Math.sqrt(wv.reduce((a, v) => a + v * v, 0) / wv.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 27)) < 0.02, `std ${std}`);
  assert.ok(get(r.model, 'conv.bias').every((v) => v === 0));
  assert.ok(get(r.model, 'bn.weight').every((v) => v === 1));
  assert.ok(get(r.model, 'bn.mean').every((v) => v === 0) && get(r.model, 'bn.var').every((v) => v === 1));
  assert.equal(get(r.model, 'input_scale')[0], 2);
  assert.deepEqual(get(reinitialize(model, params, 7).model, 'conv.weight'), wv);
  assert.notDeepEqual(get(reinitialize(model, params, 8).model, 'conv.weight'), wv);
  assert.equal(get(model, 'conv.weight')[0], 0.5, 'the input model is unchanged');
});

test('a convolutional network takes another input size; one with a size baked into a reshape says so', async () => {
  const cls = classifier();
  const big = withInputSize(cls.model, [16, 16]);
  assert.deepEqual(big.graph.dataInputs[0]!.shape, ['N', 3, 16, 16]);
  const out = await forwardAll(big, { data: new Float32Array(2 * 3 * 16 * 16).fill(0.5), sampleDims: [3, 16, 16] });
  assert.deepEqual(out[cls.logits]!.sampleDims, [4]);
  assert.deepEqual(cls.model.graph.dataInputs[0]!.shape, ['N', 3, 8, 8], 'the input model is unchanged');

  const b = new GraphBuilder('fixed');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  b.output(b.op('Reshape', [x, b.ints([0, 192])]), 'float32', ['N', 192]);
  assert.throws(() => withInputSize(b.build(), [16, 16]), /cannot take 16x16 images/);
  assert.throws(() => withInputSize(cls.model, [4, 4]), /at least 8/);

  // a flattened (not pooled) feature output follows the input size instead of keeping its declared width
  const f = new GraphBuilder('flat');
  const fx = f.input('x', 'float32', ['N', 3, 8, 8]);
  const pooled = f.op('AveragePool', [fx], { kernel_shape: [4, 4], strides: [4, 4] });
  f.output(f.op('Flatten', [pooled], { axis: 1 }), 'float32', ['N', 12]);
  assert.deepEqual(withInputSize(f.build(), [16, 16]).graph.outputs[0]!.shape, ['N', 48]);
});

test('the rewrite leaves graphs whose value_info shape inference cannot type (max-pool gradients) loadable', async () => {
  const { model, featureValue } = tinyCnn({ size: 8, maxPool: true });
  const cls = composeClassifier(model, featureValue, createHead(8, 4, { seed: 1 }));
  const trainable = parameterNames(cls.model.graph).filter((p) => !p.includes('running'));
  const tg = buildTrainingGraph(cls.model, { logits: cls.logits, loss: { kind: 'softmax-cross-entropy' }, trainable });
  const before = tg.model.graph.valueInfo.size;
  assert.equal(contractBatchedGradients(tg.model), 6);
  assert.ok(tg.model.graph.valueInfo.size <= before, 'no value_info is added');
  const s = await Session.create(tg.model, ONE_THREAD);
  await s.dispose();
});
