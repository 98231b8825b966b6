// A classifier's metadata is part of a model file someone else wrote (issue 10): it is validated before any
// session or tensor exists, and errors name the key and the file without quoting the metadata.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { META, graftClassifier, preprocessingFromMetadata, readClassifierInfo } from './pipeline-graft.js';

const SECRET = 'METADATA-SECRET-51c2';

const good = {
  size: [4, 4],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  layout: 'NCHW',
  channels: 3,
};

function classifier(preprocessing: string, inputHw: [number | string, number | string] = [4, 4]): Model {
  const b = new GraphBuilder('c');
  const x = b.input('pixel_values', 'float32', ['N', 3, ...inputHw]);
  const pooled = b.op('GlobalAveragePool', [x]);
  b.output(b.op('Flatten', [pooled], { axis: 1 }, { outputs: ['logits'] }), 'float32', ['N', 3]);
  const m = b.build();
  m.metadata.set(META.labels, JSON.stringify(['a', 'b', 'c']));
  m.metadata.set(META.preprocessing, preprocessing);
  return m;
}

function refused(model: Model, re: RegExp): void {
  assert.throws(
    () => readClassifierInfo(model, '/models/evil.onnx'),
    (e: unknown) => {
      assert.ok(e instanceof GraftError, String(e));
      assert.equal(e.code, 'BAD_MODEL');
      assert.match(e.message, /^The model's 'graft\.preprocessing' /);
      assert.match(e.message, /\[file \/models\/evil\.onnx\]/);
      assert.match(e.message, re);
      assert.ok(!JSON.stringify(e.toJSON()).includes(SECRET), `metadata quoted: ${e.message}`);
      return true;
    },
  );
}

test('a 30000x30000 input in the metadata is refused before any session or tensor exists', () => {
  const huge = JSON.stringify({ ...good, size: [30000, 30000] });
  refused(classifier(huge, ['H', 'W']), /Invalid preprocessing: size[\s\S]*at most 4.2 megapixels/);
  refused(classifier(huge, [30000, 30000]), /at most 4.2 megapixels/);
  // a zoo-shaped spec (pulled models) is checked the same way
  const zoo = JSON.stringify({
    resize: { mode: 'exact', size: 30000 },
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    channels: 'RGB',
  });
  refused(classifier(zoo, [30000, 30000]), /at most 4.2 megapixels/);
  // raised for a genuine model
  const info = readClassifierInfo(classifier(huge, [30000, 30000]), 'big.onnx', { maxInputPixels: 30000 * 30000 });
  assert.deepEqual(info.preprocessing.size, [30000, 30000]);
  assert.deepEqual(readClassifierInfo(classifier(JSON.stringify(good))).preprocessing.size, [4, 4]);
});

test('bad or inconsistent metadata is BAD_MODEL naming the key and file, never quoting the metadata', () => {
  refused(classifier(`{"size": [4, 4], "note": "${SECRET}"`), /not valid JSON/);
  refused(classifier(JSON.stringify({ ...good, resize: SECRET })), /resize mode/);
  refused(classifier(JSON.stringify({ ...good, mean: [0, SECRET, 0] })), /mean/);
  refused(classifier(JSON.stringify({ ...good, scale: 'Infinity' })), /scale/);
  refused(classifier(JSON.stringify({ ...good, layout: SECRET })), /layout/);
  refused(classifier(JSON.stringify(SECRET)), /not an object/);
  refused(
    classifier(JSON.stringify({ resize: { mode: SECRET }, channels: SECRET })),
    /not a usable preprocessing spec/,
  );
  refused(classifier(JSON.stringify({ resize: {}, crop: [SECRET, 4], channels: 'RGB' })), /not a usable/);
  // the size must be the model input's
  refused(classifier(JSON.stringify({ ...good, size: [8, 8] })), /size does not match its input[\s\S]*\[4, 4\]/);
  assert.throws(
    () => preprocessingFromMetadata({ ...good, std: [1, 0, 1] }, ['N', 3, 4, 4], 'f.onnx'),
    /'graft\.preprocessing'/,
  );
});

test('unreadable labels metadata is not quoted either', () => {
  const m = classifier(JSON.stringify(good));
  m.metadata.set(META.labels, `["a", "${SECRET}", 3]`);
  assert.throws(
    () => readClassifierInfo(m, 'x.onnx'),
    (e: unknown) => e instanceof GraftError && /graft\.labels/.test(e.message) && !e.message.includes(SECRET),
  );
  m.metadata.set(META.labels, `["a", "${SECRET}"`);
  assert.throws(
    () => readClassifierInfo(m, 'x.onnx'),
    (e: unknown) => e instanceof GraftError && /not valid JSON/.test(e.message) && !e.message.includes(SECRET),
  );
});

test('the grafted classifier names every Conv kernel shape (browser WebGPU needs them)', () => {
  const b = new GraphBuilder('convnet');
  const x = b.input('image', 'float32', ['N', 3, 8, 8]);
  const w = b.initializer('w', new Float32Array(4 * 3 * 9).fill(0.1), [4, 3, 3, 3]);
  const f = b.op(
    'Flatten',
    [b.op('GlobalAveragePool', [b.op('Conv', [x, w], { pads: [1, 1, 1, 1] })])],
    { axis: 1 },
    { outputs: ['features'] },
  );
  b.output(f, 'float32', ['N', 4]);
  const backbone = b.build();
  const h = new GraphBuilder('head');
  const hx = h.input('features', 'float32', ['N', 4]);
  h.output(
    h.op('Gemm', [hx, h.initializer('hw', new Float32Array(8), [2, 4])], { transB: 1 }, { outputs: ['logits'] }),
    'float32',
    ['N', 2],
  );
  const m = graftClassifier({
    backbone,
    featureValue: 'features',
    head: h.build(),
    labels: ['a', 'b'],
    preprocessing: {
      size: [8, 8],
      resize: 'squash',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      layout: 'NCHW',
      channels: 3,
    },
  });
  const conv = m.graph.nodes.find((n) => n.opType === 'Conv')!;
  assert.deepEqual(conv.attrs.kernel_shape, { type: 'ints', value: [3, 3] });
});
