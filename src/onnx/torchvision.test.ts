import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { Session, f32 } from '../runtime/session.js';
import { decodeModel, encodeModel } from './codec.js';
import { checkGraph } from './check.js';
import { equalBytes, modelDiff } from './test-utils/graph-diff.js';
import { fnv1a32, hashUniform } from './test-utils/det-random.js';
import {
  FIXTURE_DIR,
  TORCHVISION_FIXTURES,
  generated,
  loadTorchvisionFixture,
  readFixtureJson,
} from './test-utils/torchvision-fixture.js';

test('the deterministic generator matches known values', () => {
  // pinned so a change to either implementation shows up here, not only as a checksum mismatch
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  const v = hashUniform('graft', 4, 0, 1);
  assert.ok(v.every((x) => x >= -1 && x < 1));
  assert.deepEqual([...hashUniform('graft', 4, 0, 1)], [...v]);
  assert.notDeepEqual([...hashUniform('graft2', 4, 0, 1)], [...v]);
  const many = hashUniform('stats', 100000, 1, 0.5);
  const mean = many.reduce((a, b) => a + b, 0) / many.length;
  assert.ok(Math.abs(mean - 1) < 0.01, `mean ${mean}`);
  assert.ok(many.every((x) => x >= 0.5 && x < 1.5));
});

for (const name of TORCHVISION_FIXTURES) {
  test(`${name}: regenerated weights are bit-identical to the tensors PyTorch used`, () => {
    const recipe = readFixtureJson(name, 'weights');
    const model = loadTorchvisionFixture(name);
    let checked = 0;
    for (const e of recipe.initializers) {
      if ('inline' in e) continue;
      const t = model.graph.initializers.get(e.name)!;
      assert.deepEqual(t.dims, e.dims, e.name);
      assert.equal(createHash('sha256').update(t.bytes).digest('hex'), e.sha256, e.name);
      checked++;
    }
    assert.ok(checked > 50, `${checked} tensors checked`);
    assert.deepEqual(
      [...model.graph.initializers.keys()],
      recipe.initializers.map((e) => e.name),
    );
    checkGraph(model.graph);
  });

  test(`${name}: committed fixture files stay small`, () => {
    for (const kind of ['graph.onnx', 'weights.json', 'reference.json', 'grads.json']) {
      const size = statSync(`${FIXTURE_DIR}${name}.${kind}`).size;
      assert.ok(size < 1024 * 1024, `${name}.${kind} is ${size} bytes`);
    }
  });
}

test('mobilenet_v2: decode -> encode -> decode is identical, and onnxruntime outputs are bitwise equal', async () => {
  const model = loadTorchvisionFixture('mobilenet_v2');
  const bytes = encodeModel(model);
  const back = decodeModel(bytes);
  assert.deepEqual(modelDiff(model, back), []);
  assert.ok(equalBytes(encodeModel(back), bytes), 'second encode is byte-identical');
  assert.equal(
    back.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length,
    52,
    'BatchNormalization kept separate from Conv',
  );

  const ref = readFixtureJson('mobilenet_v2', 'reference');
  const size = ref.input.dims.reduce((a, b) => a * b, 1);
  const feeds = { input: f32(generated(ref.input, size), ref.input.dims) };
  const s1 = await Session.create(model, { intraOpThreads: 1 });
  const s2 = await Session.create(back, { intraOpThreads: 1 });
  const y1 = (await s1.run(feeds)).logits!;
  const y2 = (await s2.run(feeds)).logits!;
  await s1.dispose();
  await s2.dispose();
  assert.deepEqual(y1.dims, ref.output.dims);
  assert.ok(equalBytes(new Uint8Array(y1.data.buffer), new Uint8Array(y2.data.buffer)), 'bitwise equal outputs');

  let maxErr = 0;
  ref.output.values.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - (y1.data[i] as number)))));
  const scale = Math.max(1, ...ref.output.values.map(Math.abs));
  assert.ok(maxErr <= 1e-4 * scale, `max |onnxruntime - pytorch| = ${maxErr}`);
});

test('resnet18: round trip is identical and onnxruntime matches PyTorch', async () => {
  const model = loadTorchvisionFixture('resnet18');
  const back = decodeModel(encodeModel(model));
  assert.deepEqual(modelDiff(model, back), []);
  const ref = readFixtureJson('resnet18', 'reference');
  const size = ref.input.dims.reduce((a, b) => a * b, 1);
  const s = await Session.create(back, { intraOpThreads: 1 });
  const y = (await s.run({ input: f32(generated(ref.input, size), ref.input.dims) })).logits!;
  await s.dispose();
  let maxErr = 0;
  ref.output.values.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - (y.data[i] as number)))));
  assert.ok(maxErr <= 1e-4 * Math.max(1, ...ref.output.values.map(Math.abs)), `max error ${maxErr}`);
});

for (const name of TORCHVISION_FIXTURES) {
  test(`${name}: gradient fixture's forward pass (logits, loss) matches onnxruntime`, async () => {
    const g = readFixtureJson(name, 'grads');
    const model = loadTorchvisionFixture(name);
    const size = g.input.dims.reduce((a, b) => a * b, 1);
    const s = await Session.create(model, { intraOpThreads: 1 });
    const y = (await s.run({ input: f32(generated(g.input, size), g.input.dims) })).logits!;
    await s.dispose();
    assert.deepEqual(y.dims, g.logits.dims);
    let maxErr = 0;
    g.logits.values.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - (y.data[i] as number)))));
    assert.ok(maxErr <= 1e-4 * Math.max(1, ...g.logits.values.map(Math.abs)), `max logit error ${maxErr}`);
    // mean softmax cross-entropy over the batch, in float64
    const [n, c] = y.dims as [number, number];
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const row = Array.from(y.data.subarray(r * c, (r + 1) * c) as Float32Array);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      loss += (lse - row[g.labels[r]!]!) / n;
    }
    assert.ok(Math.abs(loss - g.loss.value) <= 1e-4 * Math.max(1, g.loss.value), `loss ${loss} vs ${g.loss.value}`);
    assert.equal(g.params.length, { mobilenet_v2: 158, resnet18: 62 }[name], 'one entry per torchvision parameter');
    for (const p of g.params) {
      const t = model.graph.initializers.get(p.name);
      assert.ok(t, `gradient for ${p.name} names an initializer`);
      assert.deepEqual(p.dims, t.dims, p.name);
      assert.ok(p.l2 > 0 && Number.isFinite(p.l2), `${p.name} has a finite non-zero gradient`);
      // norms must be mutually consistent, or the stored summary is corrupt
      const n = t.size;
      assert.ok(p.maxAbs <= p.l2 * (1 + 1e-9) && p.l2 <= p.l1 * (1 + 1e-9), p.name);
      assert.ok(p.l1 <= p.maxAbs * n * (1 + 1e-9) && Math.abs(p.sum) <= p.l1 * (1 + 1e-9), p.name);
      assert.equal(p.first.length, Math.min(16, n), p.name);
      assert.ok(
        p.first.every((v) => Math.abs(v) <= p.maxAbs),
        p.name,
      );
      assert.ok(
        p.dots.every((d) => Math.abs(d) <= p.l1 * (1 + 1e-9)),
        `${p.name}: |dot| <= l1 for |r| <= 1`,
      );
    }
  });
}
