import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, f32 } from '../runtime/session.js';
import { mulberry32, gaussian } from '../util/rng.js';
import { prototypeHead, classPrototypes, type FeatureSet } from './prototype.js';
import { knnHead } from './knn.js';
import { GraphBuilder } from '../onnx/builder.js';
import { composeHead } from '../surgery/compose.js';

/** Three well separated clusters in 8-d around random centres. */
function clusters(perClass: number, seed: number): FeatureSet {
  const rng = mulberry32(seed);
  const n = gaussian(rng);
  const dim = 8;
  const centres = Array.from({ length: 3 }, () => Array.from({ length: dim }, () => n() * 3));
  const features = new Float32Array(3 * perClass * dim);
  const labels = new Int32Array(3 * perClass);
  for (let i = 0; i < 3 * perClass; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let j = 0; j < dim; j++) features[i * dim + j] = centres[c]![j]! + n() * 0.3;
  }
  return { features, labels, dim, numClasses: 3 };
}

function argmaxRows(data: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c]! > data[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

test('prototype head: unit prototypes, and the ONNX head classifies held-out points', async () => {
  const train = clusters(20, 1);
  const testSet = clusters(10, 1); // same centres (same seed), fresh noise draws come after the centres
  const protos = classPrototypes(train);
  for (let c = 0; c < 3; c++) {
    const norm = Math.hypot(...protos.subarray(c * 8, c * 8 + 8));
    assert.ok(Math.abs(norm - 1) < 1e-5);
  }
  const s = await Session.create(prototypeHead(train));
  const out = await s.run({ features: f32(testSet.features, [30, 8]) });
  assert.deepEqual(argmaxRows(out.logits!.data as Float32Array, 3), [...testSet.labels]);
  await s.dispose();
});

test('kNN head votes like a brute-force reference', async () => {
  const train = clusters(15, 2);
  const k = 5;
  const model = knnHead(train, { k });
  const rng = mulberry32(9);
  const queries = Float32Array.from({ length: 12 * 8 }, () => (rng() - 0.5) * 8);
  const s = await Session.create(model);
  const out = await s.run({ features: f32(queries, [12, 8]) });
  const probs = Array.from(out.logits!.data as Float32Array, Math.exp);
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0,
      na = 0,
      nb = 0;
    for (let i = 0; i < a.length; i++) ((d += a[i]! * b[i]!), (na += a[i]! ** 2), (nb += b[i]! ** 2));
    return d / Math.sqrt(na * nb);
  };
  for (let q = 0; q < 12; q++) {
    const qv = queries.subarray(q * 8, q * 8 + 8);
    const ranked = [...train.labels.keys()]
      .map((i) => [i, cos(qv, train.features.subarray(i * 8, i * 8 + 8))] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, k);
    for (let c = 0; c < 3; c++) {
      const share = ranked.filter(([i]) => train.labels[i] === c).length / k;
      assert.ok(Math.abs(probs[q * 3 + c]! - share) < 1e-4, `query ${q} class ${c}: ${probs[q * 3 + c]} vs ${share}`);
    }
  }
  await s.dispose();
});

test('composeHead grafts a head graph onto a backbone value', async () => {
  const b = new GraphBuilder('backbone');
  const x = b.input('x', 'float32', ['N', 8]);
  const feat = b.op('Relu', [x], undefined, { outputs: ['features'] });
  b.output(b.op('Neg', [feat]), 'float32', ['N', 8]);
  const train = clusters(10, 3);
  const grafted = composeHead(b.build(), 'features', prototypeHead(train));
  assert.deepEqual(
    grafted.graph.dataInputs.map((i) => i.name),
    ['x'],
  );
  assert.deepEqual(
    grafted.graph.outputs.map((o) => o.name),
    ['logits'],
  );
  assert.ok(!grafted.graph.nodes.some((n) => n.opType === 'Neg'), 'the old head is gone');
  const s = await Session.create(grafted);
  const out = await s.run({ x: f32(new Float32Array(16).fill(1), [2, 8]) });
  assert.deepEqual(out.logits!.dims, [2, 3]);
  await s.dispose();
});
