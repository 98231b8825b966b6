import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { GraftError } from '../errors.js';
import { Session, f32 } from '../runtime/session.js';
import { cut } from './cut.js';
import { attachHead } from './head.js';
import { freeze, globToRegExp } from './freeze.js';
import { parameterNames } from './params.js';
import { mulberry32 } from '../util/rng.js';

/** A tiny "pretrained" CNN: conv -> BN -> relu -> pool (features) -> classifier with 5 classes. */
function tinyBackbone() {
  const rng = mulberry32(1);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng() - 0.5);
  const b = new GraphBuilder('tiny');
  const x = b.input('image', 'float32', ['N', 3, 8, 8]);
  const c = b.op(
    'Conv',
    [x, b.initializer('conv.weight', r(4 * 3 * 9), [4, 3, 3, 3]), b.initializer('conv.bias', r(4), [4])],
    {
      pads: [1, 1, 1, 1],
    },
  );
  const bn = b.op('BatchNormalization', [
    c,
    b.initializer('bn.weight', r(4), [4]),
    b.initializer('bn.bias', r(4), [4]),
    b.initializer('bn.running_mean', r(4), [4]),
    b.initializer('bn.running_var', new Float32Array(4).fill(1), [4]),
  ]);
  const relu = b.op('Relu', [bn]);
  const pooled = b.op('GlobalAveragePool', [relu], undefined, { outputs: ['features_4d'] });
  const flat = b.op('Flatten', [pooled], { axis: 1 }, { outputs: ['features'] });
  b.graph.valueInfo.set('features', { name: 'features', dtype: 'float32', shape: ['N', 4] });
  b.graph.valueInfo.set('features_4d', { name: 'features_4d', dtype: 'float32', shape: ['N', 4, 1, 1] });
  const logits = b.op('Gemm', [flat, b.initializer('fc.weight', r(20), [5, 4]), b.initializer('fc.bias', r(5), [5])], {
    transB: 1,
  });
  b.output(logits, 'float32', ['N', 5]);
  return b.build();
}

test('cut keeps only what the feature value needs', async () => {
  const m = tinyBackbone();
  const back = cut(m, 'features');
  assert.deepEqual(
    back.graph.nodes.map((n) => n.opType),
    ['Conv', 'BatchNormalization', 'Relu', 'GlobalAveragePool', 'Flatten'],
  );
  assert.ok(!back.graph.initializers.has('fc.weight'));
  assert.equal(back.graph.outputs[0]!.name, 'features');
  assert.equal(m.graph.nodes.length, 6, 'the input model is unchanged');
  const s = await Session.create(back);
  const out = await s.run({ image: f32(new Float32Array(2 * 3 * 64).fill(0.5), [2, 3, 8, 8]) });
  assert.deepEqual(out.features!.dims, [2, 4]);
  await s.dispose();
});

test('cut at an unknown value lists close names', () => {
  assert.throws(
    () => cut(tinyBackbone(), 'featurez'),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && /features/.test(e.message),
  );
});

test('attachHead grafts a seeded MLP head on [N,C] and on [N,C,H,W] features', async () => {
  const back = cut(tinyBackbone(), 'features');
  const a = attachHead(back, 'features', { numClasses: 3, hidden: [6], seed: 7 });
  const b2 = attachHead(back, 'features', { numClasses: 3, hidden: [6], seed: 7 });
  assert.deepEqual(a.headParams, ['head.0.weight', 'head.0.bias', 'head.1.weight', 'head.1.bias']);
  assert.deepEqual(
    a.model.graph.initializers.get('head.0.weight')!.bytes,
    b2.model.graph.initializers.get('head.0.weight')!.bytes,
  );
  const bound = 1 / Math.sqrt(4);
  for (const v of a.model.graph.initializers.get('head.0.weight')!.toNumbers()) assert.ok(Math.abs(v) <= bound);
  const s = await Session.create(a.model);
  const out = await s.run({ image: f32(new Float32Array(2 * 3 * 64).fill(0.25), [2, 3, 8, 8]) });
  assert.deepEqual(out[a.logits]!.dims, [2, 3]);
  await s.dispose();

  const map = attachHead(cut(tinyBackbone(), 'features_4d'), 'features_4d', { numClasses: 2, dropout: 0.2 });
  assert.ok(map.trainingFlag);
  assert.deepEqual(
    map.model.graph.nodes.slice(-4).map((n) => n.opType),
    ['GlobalAveragePool', 'Flatten', 'Dropout', 'Gemm'],
  );
});

test('parameters exclude BN running statistics; freeze selects by glob', () => {
  const g = tinyBackbone().graph;
  assert.deepEqual(parameterNames(g), ['conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'fc.weight', 'fc.bias']);
  const { trainable, frozen } = freeze(g, { train: ['fc.*', 'bn.*'], freeze: ['bn.bias'] });
  assert.deepEqual(trainable, ['bn.weight', 'fc.weight', 'fc.bias']);
  assert.deepEqual(frozen, ['conv.weight', 'conv.bias', 'bn.bias']);
  assert.throws(() => freeze(g, { train: ['nothing.*'] }), /matches no parameter/);
  assert.ok(globToRegExp('block_*/conv').test('block_12/conv'));
  assert.ok(!globToRegExp('a.b').test('axb'));
});

test('a head with dropout loads and runs in onnxruntime (Dropout seed is an int attribute)', async () => {
  const g = attachHead(cut(tinyBackbone(), 'features'), 'features', { numClasses: 2, dropout: 0.3, seed: 4 });
  const s = await Session.create(g.model);
  const out = await s.run({ image: f32(new Float32Array(3 * 64).fill(0.5), [1, 3, 8, 8]) });
  assert.deepEqual(out[g.logits]!.dims, [1, 2]);
  await s.dispose();
});
