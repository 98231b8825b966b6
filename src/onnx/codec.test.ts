import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from './builder.js';
import { decodeModel, encodeModel } from './codec.js';
import { Session, f32 } from '../runtime/session.js';

test('MLP built in code runs in onnxruntime and round-trips losslessly', async () => {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 4]);
  const w1 = b.initializer(
    'w1',
    Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)),
    [4, 8],
  );
  const b1 = b.initializer('b1', new Float32Array(8).fill(0.1), [8]);
  const h = b.op('Relu', [b.op('Gemm', [x, w1, b1])]);
  const w2 = b.initializer(
    'w2',
    Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)),
    [8, 3],
  );
  const y = b.op('MatMul', [h, w2], undefined, { outputs: ['logits'] });
  b.output(y, 'float32', ['N', 3]);
  const model = b.build();
  model.metadata.set('graft.labels', '["a","b","c"]');

  const bytes = encodeModel(model);
  const back = decodeModel(bytes);
  assert.deepEqual(encodeModel(back), bytes);
  assert.equal(back.metadata.get('graft.labels'), '["a","b","c"]');
  assert.deepEqual(back.graph.inputs[0]!.shape, ['N', 4]);

  const feeds = { x: f32([1, 2, 3, 4, -1, 0, 1, 2], [2, 4]) };
  const s1 = await Session.create(model);
  const s2 = await Session.create(back);
  const o1 = await s1.run(feeds);
  const o2 = await s2.run(feeds);
  assert.deepEqual(o1.logits!.data, o2.logits!.data);
  await s1.dispose();
  await s2.dispose();
});
