import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, f32, i64 } from '../runtime/session.js';
import {
  TORCHVISION_FIXTURES,
  generated,
  loadTorchvisionFixture,
  readFixtureJson,
} from '../onnx/test-utils/torchvision-fixture.js';
import { buildTrainingGraph } from './build.js';

/** The classifier of each exported model: the only parameters whose gradient rules are all in this family set. */
const HEAD: Record<string, string[]> = {
  resnet18: ['fc.weight', 'fc.bias'],
  mobilenet_v2: ['classifier.1.weight', 'classifier.1.bias'],
};

for (const name of TORCHVISION_FIXTURES) {
  test(`${name}: head-only training graph matches PyTorch's loss and classifier gradients; the frozen backbone gets no backward work`, async () => {
    const ref = readFixtureJson(name, 'grads');
    const model = loadTorchvisionFixture(name);
    const trainable = HEAD[name]!;
    const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable });

    // Pruning on a real network: only the classifier Gemm is differentiated.
    const backward = tg.model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
    const differentiated = new Set(backward.map((n) => n.name.split('/')[1]));
    assert.equal(differentiated.size, 1, [...differentiated].join(', '));
    assert.ok(backward.length <= 3, `${backward.length} backward nodes`);
    assert.equal(
      tg.model.graph.nodes.filter((n) => n.opType === 'Conv').length,
      model.graph.nodes.filter((n) => n.opType === 'Conv').length,
    );

    const size = ref.input.dims.reduce((a, b) => a * b, 1);
    const feeds = {
      input: f32(generated(ref.input, size), ref.input.dims),
      [tg.labels.name]: i64(ref.labels, [ref.labels.length]),
      ...Object.fromEntries(
        trainable.map((p) => {
          const t = model.graph.initializers.get(p)!;
          return [p, f32(t.toArray() as Float32Array, t.dims)];
        }),
      ),
    };
    const s = await Session.create(tg.model, { intraOpThreads: 1 });
    const out = await s.run(feeds);
    await s.dispose();
    const loss = out[tg.loss]!.data[0] as number;
    assert.ok(Math.abs(loss - ref.loss.value) < 1e-4 * ref.loss.value, `loss ${loss} vs PyTorch ${ref.loss.value}`);
    for (const p of trainable) {
      const want = ref.params.find((x) => x.name === p)!;
      const g = out[tg.gradOf[p]!]!;
      assert.deepEqual(g.dims, want.dims);
      const data = g.data as Float32Array;
      let l1 = 0;
      let sum = 0;
      let maxAbs = 0;
      for (const v of data) {
        l1 += Math.abs(v);
        sum += v;
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      const tol = 1e-4;
      assert.ok(Math.abs(l1 - want.l1) < tol * want.l1, `${p} L1 ${l1} vs ${want.l1}`);
      assert.ok(Math.abs(sum - want.sum) < tol * want.l1, `${p} sum ${sum} vs ${want.sum}`);
      assert.ok(Math.abs(maxAbs - want.maxAbs) < tol * want.maxAbs, `${p} max|g| ${maxAbs} vs ${want.maxAbs}`);
      want.first.forEach((v, i) =>
        assert.ok(Math.abs(data[i]! - v) < tol * want.maxAbs, `${p}[${i}] ${data[i]} vs ${v}`),
      );
      want.dots.forEach((d, k) => {
        const vec = generated({ name: `${p}#dot${k}`, center: 0, halfWidth: 1 }, data.length);
        let dot = 0;
        for (let i = 0; i < data.length; i++) dot += data[i]! * vec[i]!;
        assert.ok(Math.abs(dot - d) < tol * want.l1, `${p} dot${k} ${dot} vs ${d}`);
      });
    }
  });
}
