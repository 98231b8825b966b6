import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GraphBuilder } from '../onnx/builder.js';
import { Session, f64, i64 } from '../runtime/session.js';
import { buildTrainingGraph } from './build.js';
import { gradCheckTraining } from './gradcheck.js';
import type { LossSpec } from './losses.js';
import { ortRunner } from './test-utils/ort-runner.js';

interface Reference {
  logits: number[][];
  labels: number[];
  targets: number[][];
  cases: { kind: LossSpec['kind']; options: Record<string, unknown>; loss: number; grad: number[][] }[];
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/losses.json', import.meta.url), 'utf8')) as Reference;
const N = ref.logits.length;
const C = ref.logits[0]!.length;

/** logits = x + p with p = 0 trainable and shaped like the logits: dL/dp is exactly dL/dlogits. */
function identityModel() {
  const b = new GraphBuilder('identity');
  const x = b.input('x', 'float64', ['N', C]);
  const p = b.initializer('p', new Float64Array(N * C), [N, C]);
  b.output(b.op('Add', [x, p], undefined, { outputs: ['logits'] }), 'float64', ['N', C]);
  return b.build();
}

/** Independent, loop-by-loop versions of the losses (PyTorch's definitions, mean reduction). */
function handLoss(spec: LossSpec, z: number[][], labels: number[], targets: number[][]): number {
  if (spec.kind === 'softmax-cross-entropy') {
    const w = spec.classWeights ?? Array<number>(C).fill(1);
    const eps = spec.labelSmoothing ?? 0;
    let nll = 0;
    let smooth = 0;
    let norm = 0;
    z.forEach((row, i) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      const logp = row.map((v) => v - lse);
      const y = labels[i]!;
      nll += -w[y]! * logp[y]!;
      smooth += -logp.reduce((s, v, c) => s + w[c]! * v, 0);
      norm += w[y]!;
    });
    return (1 - eps) * (nll / norm) + (eps / C) * (smooth / norm);
  }
  let total = 0;
  z.forEach((row, i) =>
    row.forEach((v, c) => {
      const t = targets[i]![c]!;
      if (spec.kind === 'mse') total += (v - t) ** 2;
      else {
        const pw = spec.posWeight?.[c] ?? 1;
        const sig = 1 / (1 + Math.exp(-v));
        total += -(pw * t * Math.log(sig) + (1 - t) * Math.log(1 - sig));
      }
    }),
  );
  return total / (z.length * C);
}

for (const c of ref.cases) {
  const spec = { kind: c.kind, ...c.options } as LossSpec;
  test(`loss ${JSON.stringify(spec)}: value and logit gradient match PyTorch; value matches a hand computation`, async () => {
    const tg = buildTrainingGraph(identityModel(), { logits: 'logits', loss: spec, trainable: ['p'] });
    assert.equal(tg.labels.dtype, spec.kind === 'softmax-cross-entropy' ? 'int64' : 'float64');
    assert.deepEqual(tg.labels.shape, spec.kind === 'softmax-cross-entropy' ? [N] : [N, C]);
    const labels = spec.kind === 'softmax-cross-entropy' ? i64(ref.labels, [N]) : f64(ref.targets.flat(), [N, C]);
    const s = await Session.create(tg.model);
    const out = await s.run({
      x: f64(ref.logits.flat(), [N, C]),
      p: f64(new Float64Array(N * C), [N, C]),
      [tg.labels.name]: labels,
    });
    await s.dispose();
    const loss = out[tg.loss]!.data[0] as number;
    assert.deepEqual(out[tg.loss]!.dims, []);
    assert.ok(Math.abs(loss - c.loss) < 1e-12 * Math.max(1, Math.abs(c.loss)), `loss ${loss} vs PyTorch ${c.loss}`);
    const hand = handLoss(spec, ref.logits, ref.labels, ref.targets);
    assert.ok(Math.abs(loss - hand) < 1e-12, `loss ${loss} vs hand ${hand}`);
    const grad = out[tg.gradOf['p']!]!.data as Float64Array;
    c.grad.flat().forEach((want, k) => {
      assert.ok(Math.abs(grad[k]! - want) < 1e-12, `dL/dlogits[${k}] ${grad[k]} vs PyTorch ${want}`);
    });
  });
}

test('loss gradients with respect to a weight matrix agree with finite differences', async () => {
  for (const c of ref.cases) {
    const spec = { kind: c.kind, ...c.options } as LossSpec;
    const b = new GraphBuilder('linear');
    const x = b.input('x', 'float64', ['N', 4]);
    b.initializer('w', new Float64Array(4 * C), [4, C]);
    b.output(b.op('MatMul', [x, 'w'], undefined, { outputs: ['logits'] }), 'float64', ['N', C]);
    const tg = buildTrainingGraph(b.build(), { logits: 'logits', loss: spec, trainable: ['w'] });
    const xs = Array.from({ length: N * 4 }, (_, i) => Math.sin(i * 1.3) * 2);
    const labels = spec.kind === 'softmax-cross-entropy' ? i64(ref.labels, [N]) : f64(ref.targets.flat(), [N, C]);
    const report = await gradCheckTraining(
      tg,
      { x: f64(xs, [N, 4]), [tg.labels.name]: labels },
      {
        w: f64(
          Array.from({ length: 4 * C }, (_, i) => Math.cos(i)),
          [4, C],
        ),
      },
      ortRunner,
    );
    assert.ok(report.ok, `${JSON.stringify(spec)}\n${report.describe()}`);
  }
});

test('bad loss options are reported with expected/found', () => {
  const model = identityModel();
  assert.throws(
    () =>
      buildTrainingGraph(model, {
        logits: 'logits',
        loss: { kind: 'softmax-cross-entropy', classWeights: [1, 2] },
        trainable: ['p'],
      }),
    (e: Error & { code?: string }) => e.code === 'CONFIG' && /expected: 3 values/.test(e.message),
  );
  assert.throws(
    () =>
      buildTrainingGraph(model, {
        logits: 'logits',
        loss: { kind: 'softmax-cross-entropy', labelSmoothing: 1 },
        trainable: ['p'],
      }),
    (e: Error & { code?: string }) => e.code === 'CONFIG' && /labelSmoothing/.test(e.message),
  );
  assert.throws(
    () =>
      buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'hinge' } as unknown as LossSpec, trainable: ['p'] }),
    (e: Error & { code?: string }) => e.code === 'CONFIG' && /valid choices: softmax-cross-entropy/.test(e.message),
  );
});
