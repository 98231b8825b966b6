import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrainingGraph } from '../../autodiff/build.js';
import { GraftError } from '../../errors.js';
import { paramsFromModel } from '../../train/trainer.js';
import { mulberry32 } from '../../util/rng.js';
import { createHead } from './head.js';
import { type LrFindPoint, findLearningRate, plotLrFind, suggestLearningRate } from './lr-find.js';

/** Two separable Gaussian blobs per class in 16-d: a head learns them at moderate rates. */
function blobs(n: number, seed = 1) {
  const rnd = mulberry32(seed);
  const dim = 16;
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    for (let j = 0; j < dim; j++) features[i * dim + j] = (j % 4 === labels[i] ? 2 : 0) + (rnd() - 0.5);
  }
  return { features, labels };
}

function headGraph() {
  const head = createHead(16, 4, { seed: 3 });
  const graph = buildTrainingGraph(head, {
    logits: head.graph.outputs[0]!.name,
    loss: { kind: 'softmax-cross-entropy' },
    trainable: ['head.0.weight', 'head.0.bias'],
  });
  return { head, graph };
}

test('the range test sweeps the rate geometrically, one step per batch, stops when the loss diverges and leaves the parameters alone', async () => {
  const { head, graph } = headGraph();
  const params = paramsFromModel(head, graph.params);
  const before = params['head.0.weight']!.slice();
  const r = await findLearningRate({
    graph,
    params,
    train: blobs(256),
    batchSize: 16,
    startLr: 1e-5,
    endLr: 1e3,
    steps: 60,
    session: { intraOpThreads: 1 },
  });
  assert.deepEqual(params['head.0.weight'], before);
  assert.ok(r.points.length >= 10);
  const ratio = Math.pow(1e3 / 1e-5, 1 / 59);
  for (let i = 1; i < r.points.length; i++) {
    assert.ok(Math.abs(r.points[i]!.lr / r.points[i - 1]!.lr - ratio) < 1e-6 * ratio, `step ${i}`);
  }
  assert.ok(Math.abs(r.points[0]!.lr - 1e-5) < 1e-12);
  assert.ok(r.stoppedEarly, `a rate of 1e3 must blow the loss up (${r.reason})`);
  assert.match(r.reason, /diverged|became/);
  const s = r.suggestion!;
  assert.ok(s.suggested > 1e-4 && s.suggested < 1, `suggested ${s.suggested}`);
  assert.ok(s.suggested <= s.minimumTenth * 3 + 1e-12);
  const lines = plotLrFind(r.points, s);
  assert.ok(lines.some((l) => l.includes('*')));
  assert.match(lines.at(-1)!, /suggestion/);
});

test('the suggestion reads the steepest fall and the minimum off a known curve', () => {
  // loss = 1 - tanh(log10(lr) + 3) while lr < 1e-1, then it blows up: steepest at 1e-3, minimum near 1e-1
  const points: LrFindPoint[] = [];
  for (let k = 0; k < 61; k++) {
    const lr = Math.pow(10, -6 + k / 10);
    const x = Math.log10(lr);
    const smoothed = x < -1 ? 1 - Math.tanh(x + 3) : 1 - Math.tanh(2) + 10 * (x + 1) ** 2;
    points.push({ step: k, lr, loss: smoothed, smoothed });
  }
  const s = suggestLearningRate(points)!;
  assert.ok(Math.abs(Math.log10(s.steepest) + 3) <= 0.1, `steepest ${s.steepest}`);
  assert.ok(Math.abs(Math.log10(s.minimumTenth) + 2) <= 0.1, `minimum/10 ${s.minimumTenth}`);
  assert.equal(s.suggested, s.steepest);
  assert.equal(suggestLearningRate(points.slice(0, 5)), undefined);
});

test('a bad sweep is a GraftError', async () => {
  const { head, graph } = headGraph();
  const params = paramsFromModel(head, graph.params);
  for (const bad of [{ startLr: 1, endLr: 0.1 }, { startLr: 0 }, { steps: 2 }]) {
    await assert.rejects(
      () => findLearningRate({ graph, params, train: blobs(32), ...bad }),
      (e: unknown) => e instanceof GraftError && e.code === 'BAD_INPUT',
    );
  }
});
