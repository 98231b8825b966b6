import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, f32, i64 } from '../runtime/session.js';
import type { Model } from '../onnx/graph.js';
import {
  generated,
  loadTorchvisionFixture,
  readFixtureJson,
  type GradientReference,
  type TorchvisionFixture,
} from '../onnx/test-utils/torchvision-fixture.js';
import { buildTrainingGraph } from './build.js';

/**
 * Full-backbone training graphs against PyTorch 1.13 (scripts/fixtures/export_torchvision.py): every
 * parameter trainable, BatchNormalization with the running statistics (eval mode), onnxruntime's default
 * graph optimisations. The loss and each parameter's gradient summary must agree to 1e-3 relative.
 */
const TOL = 1e-3;

type ParamRef = GradientReference['params'][number];

/** Worst relative disagreement between a gradient and PyTorch's summary of it, and where. */
function compare(g: Float32Array, want: ParamRef): { error: number; what: string } {
  let l1 = 0;
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (const v of g) {
    l1 += Math.abs(v);
    sum += v;
    sq += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const checks: [string, number][] = [
    ['L1', Math.abs(l1 - want.l1) / want.l1],
    ['L2', Math.abs(Math.sqrt(sq) - want.l2) / want.l2],
    ['max|g|', Math.abs(maxAbs - want.maxAbs) / want.maxAbs],
    // sums and dot products can cancel: measured against the L1 norm, as the fixture README says
    ['sum', Math.abs(sum - want.sum) / want.l1],
    ...want.first.map((v, i): [string, number] => [`[${i}]`, Math.abs(g[i]! - v) / want.maxAbs]),
    ...want.dots.map((d, k): [string, number] => {
      const vec = generated({ name: `${want.name}#dot${k}`, center: 0, halfWidth: 1 }, g.length);
      let dot = 0;
      for (let i = 0; i < g.length; i++) dot += g[i]! * vec[i]!;
      return [`dot${k}`, Math.abs(dot - d) / want.l1];
    }),
  ];
  return checks.reduce((w, [what, error]) => (error > w.error ? { error, what } : w), { error: 0, what: '-' });
}

async function checkFullBackbone(name: TorchvisionFixture, model: Model): Promise<{ worst: string; model: Model }> {
  const ref = readFixtureJson(name, 'grads');
  const trainable = ref.params.map((p) => p.name);
  const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable });
  const feeds = {
    input: f32(
      generated(
        ref.input,
        ref.input.dims.reduce((a, b) => a * b, 1),
      ),
      ref.input.dims,
    ),
    [tg.labels.name]: i64(ref.labels, [ref.labels.length]),
    ...Object.fromEntries(
      trainable.map((p) => {
        const t = model.graph.initializers.get(p)!;
        return [p, f32(t.toArray() as Float32Array, t.dims)];
      }),
    ),
  };
  const s = await Session.create(tg.model);
  let out;
  try {
    out = await s.run(feeds);
  } finally {
    await s.dispose();
  }
  const loss = out[tg.loss]!.data[0] as number;
  assert.ok(Math.abs(loss - ref.loss.value) < TOL * ref.loss.value, `loss ${loss} vs PyTorch ${ref.loss.value}`);
  const results = ref.params.map((want) => {
    const g = out[tg.gradOf[want.name]!]!;
    assert.deepEqual(g.dims, want.dims, want.name);
    return { name: want.name, ...compare(g.data as Float32Array, want) };
  });
  const bad = results.filter((r) => !(r.error < TOL));
  const worst = [...results].sort((a, b) => b.error - a.error).slice(0, 3);
  assert.equal(
    bad.length,
    0,
    `${bad.length} of ${results.length} gradients differ from PyTorch by more than ${TOL}:\n` +
      bad.map((r) => `  ${r.name}: ${r.what} rel.err ${r.error.toExponential(2)}`).join('\n'),
  );
  assert.ok(worst[0]!.error > 0, 'gradients compared');
  return {
    worst: `loss rel.err ${(Math.abs(loss - ref.loss.value) / ref.loss.value).toExponential(2)}; worst gradients: ${worst.map((r) => `${r.name} ${r.what} ${r.error.toExponential(2)}`).join(', ')}`,
    model: tg.model,
  };
}

for (const name of ['mobilenet_v2', 'resnet18'] as const) {
  test(`${name}: full-backbone training graph (batch and image size symbolic) matches PyTorch's loss and every parameter's gradient`, async (t) => {
    const { worst } = await checkFullBackbone(name, loadTorchvisionFixture(name));
    t.diagnostic(worst);
  });
}

test('mobilenet_v2 with a fixed input size (the shape-specialised formulations) matches PyTorch too', async (t) => {
  const fixed = loadTorchvisionFixture('mobilenet_v2');
  fixed.graph.inputs[0]!.shape = [2, 3, 64, 64];
  const { worst, model } = await checkFullBackbone('mobilenet_v2', fixed);
  t.diagnostic(worst);
  // static sizes: every strided input gradient gets its output_padding at build time, no run-time shapes
  const backward = model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
  assert.equal(backward.filter((n) => n.opType === 'Shape').length, 0);
  assert.equal(backward.filter((n) => n.opType === 'ConvTranspose').length, 4);
});

test('resnet18 with a fixed input size matches PyTorch too', async (t) => {
  const fixed = loadTorchvisionFixture('resnet18');
  fixed.graph.inputs[0]!.shape = [2, 3, 64, 64];
  t.diagnostic((await checkFullBackbone('resnet18', fixed)).worst);
});
