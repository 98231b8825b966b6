// Acceptance: the trainer with a training graph compiled by autodiff, end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTrainedParams, buildTrainingGraph } from '../autodiff/index.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { Session, f32 } from '../runtime/session.js';
import { Rng, glorotUniform, heNormal } from '../util/rng.js';
import { cosineSchedule, withWarmup } from './schedules.js';
import { Trainer, paramsFromModel, type FitResult } from './trainer.js';
import type { ArrayDataset } from './types.js';

const HIDDEN = 32;

/** Three concentric rings (radius 1, 2, 3; noise 0.15): separable, but not by a linear model. */
function rings(rng: Rng, count: number): ArrayDataset & { features: Float32Array; labels: Int32Array } {
  const features = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = rng.int(3);
    const r = 1 + c + 0.15 * rng.normal();
    const a = 2 * Math.PI * rng.uniform();
    features[2 * i] = r * Math.cos(a);
    features[2 * i + 1] = r * Math.sin(a);
    labels[i] = c;
  }
  return { features, labels };
}

function mlp(seed: number): Model {
  const init = new Rng(seed);
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 2]);
  b.initializer('W1', heNormal(init, 2, 2 * HIDDEN), [2, HIDDEN]);
  b.initializer('b1', new Float32Array(HIDDEN), [HIDDEN]);
  b.initializer('W2', glorotUniform(init, HIDDEN, 3, HIDDEN * 3), [HIDDEN, 3]);
  b.initializer('b2', new Float32Array(3), [3]);
  const h = b.op('Relu', [b.op('Gemm', [x, 'W1', 'b1'])]);
  b.op('Gemm', [h, 'W2', 'b2'], undefined, { outputs: ['logits'] });
  b.output('logits', 'float32', ['N', 3]);
  return b.build();
}

test(
  'a 2-layer MLP trained through buildTrainingGraph reaches >= 98% and is reproducible',
  { timeout: 60_000 },
  async () => {
    const started = performance.now();
    const model = mlp(1);
    const graph = buildTrainingGraph(model, {
      logits: 'logits',
      loss: { kind: 'softmax-cross-entropy' },
      trainable: ['W1', 'b1', 'W2', 'b2'],
    });
    const data = new Rng(2);
    const train = rings(data, 1500);
    const val = rings(data, 500);
    const run = async (intraOpThreads?: number): Promise<FitResult> => {
      const t = new Trainer({
        graph,
        params: paramsFromModel(model, graph.params),
        optimizer: { name: 'adamw', lr: 0.01 },
        schedule: withWarmup(0.05, cosineSchedule()),
        batchSize: 32,
        epochs: 12,
        seed: 3,
        session: intraOpThreads ? { intraOpThreads } : {},
      });
      try {
        return await t.fit(train, val);
      } finally {
        await t.dispose();
      }
    };
    const a = await run(1);
    const b = await run(1);
    const threaded = await run();
    const last = a.history[a.history.length - 1]!;
    assert.ok(last.valAcc! >= 0.98, `validation accuracy ${last.valAcc}`);
    assert.ok(last.trainAcc! >= 0.98, `training accuracy ${last.trainAcc}`);
    assert.ok(last.trainLoss < a.history[0]!.trainLoss / 5, 'the loss fell');

    const losses = (r: FitResult) => r.history.flatMap((h) => [h.trainLoss, h.valLoss!]);
    assert.deepEqual(losses(b), losses(a), 'intraOpThreads=1: bit-identical losses');
    for (const name of graph.params) assert.deepEqual([...b.params[name]!], [...a.params[name]!], name);
    losses(threaded).forEach((v, i) =>
      assert.ok(Math.abs(v - losses(a)[i]!) <= 1e-5, `default threads, loss #${i}: ${v} vs ${losses(a)[i]}`),
    );

    // the trained values, written back into the forward model, classify as well in plain inference
    const session = await Session.create(applyTrainedParams(model, a.params));
    try {
      const out = await session.run({ x: f32(val.features, [val.labels.length, 2]) });
      const z = out.logits!.data as Float32Array;
      let correct = 0;
      for (let i = 0; i < val.labels.length; i++) {
        const row = [z[3 * i]!, z[3 * i + 1]!, z[3 * i + 2]!];
        if (row.indexOf(Math.max(...row)) === val.labels[i]) correct++;
      }
      assert.equal(correct / val.labels.length, last.valAcc);
    } finally {
      await session.dispose();
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `# 3 runs x 12 epochs: ${seconds.toFixed(2)} s, val acc ${last.valAcc}, final loss ${last.trainLoss}\n`,
    );
  },
);
