import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model, Node } from '../onnx/graph.js';
import { f32, i64 } from '../runtime/session.js';
import { buildTrainingGraph } from './build.js';
import { gradCheckTraining, rng, type TensorData } from './gradcheck.js';
import { ortRunner } from './test-utils/ort-runner.js';

function values(n: number, seed: number, width = 0.5): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => width * (2 * r() - 1));
}

/** conv -> Relu -> conv -> Sigmoid gate (squeeze-excitation) -> conv -> pool -> MatMul, float32. */
/**
 * `smooth`: Tanh and swish instead of Relu (exact float32 central differences); `hideSwish`: the swish reads
 * Sigmoid(Identity(x)), which neither the swish rule nor its recomputation recognise.
 */
function model(smooth = false, hideSwish = false): Model {
  const b = new GraphBuilder('se-net');
  b.input('x', 'float32', ['N', 3, 8, 8]);
  b.initializer('w1', values(4 * 3 * 9, 1), [4, 3, 3, 3]);
  b.initializer('w2', values(4 * 4 * 9, 2), [4, 4, 3, 3]);
  b.initializer('wse', values(4 * 4, 3), [4, 4, 1, 1]);
  b.initializer('w3', values(4 * 4, 4), [4, 4, 1, 1]);
  b.initializer('fc', values(4 * 3, 5), [4, 3]);
  const c1 = b.op('Conv', ['x', 'w1'], { pads: [1, 1, 1, 1] });
  const h1 = smooth
    ? b.op('Mul', [c1, b.op('Sigmoid', [hideSwish ? b.op('Identity', [c1]) : c1])])
    : b.op('Relu', [c1]);
  const h2 = b.op(smooth ? 'Tanh' : 'Relu', [b.op('Conv', [h1, 'w2'], { pads: [1, 1, 1, 1] })]);
  const gate = b.op('Sigmoid', [b.op('Conv', [b.op('GlobalAveragePool', [h2]), 'wse'])]);
  const excited = b.op('Mul', [h2, gate], undefined, { outputs: ['excited'] });
  const h3 = b.op('Conv', [excited, 'w3']);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [h3])]);
  b.output(b.op('MatMul', [pooled, 'fc'], undefined, { outputs: ['logits'] }), 'float32', ['N', 3]);
  return b.build({ opset: 17 });
}

const TRAINABLE = ['w1', 'w2', 'wse', 'w3', 'fc'];

function dependsOn(nodes: readonly Node[], root: string): Set<Node> {
  const late = new Set<string>([root]);
  const out = new Set<Node>();
  for (const n of nodes) {
    if (n.inputs.some((v) => late.has(v))) {
      out.add(n);
      n.outputs.forEach((o) => late.add(o));
    }
  }
  return out;
}

test('training graphs list label-independent nodes first and the leaves last, cheapest leaf at the end', () => {
  const tg = buildTrainingGraph(model(), {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable: TRAINABLE,
  });
  const nodes = tg.model.graph.nodes;
  const consumed = new Set(nodes.flatMap((n) => n.inputs));
  const isLeaf = (n: Node) => n.outputs.every((o) => !consumed.has(o));
  const leaves = nodes.filter(isLeaf);
  assert.deepEqual(nodes.slice(nodes.length - leaves.length), leaves, 'leaves come last');
  const late = dependsOn(nodes, tg.labels.name);
  const body = nodes.filter((n) => !isLeaf(n));
  const firstLate = body.findIndex((n) => late.has(n));
  assert.ok(firstLate > 0);
  assert.deepEqual(
    body
      .slice(firstLate)
      .filter((n) => !late.has(n))
      .map((n) => n.name),
    [],
    'nothing label-independent after the first label-dependent node',
  );
  // the ReLU masks of the backward pass are label-independent: listed before the backward chain
  const masks = body.filter((n) => n.name.startsWith('grad/') && n.opType === 'Greater');
  assert.equal(masks.length, 2);
  for (const m of masks) assert.ok(body.indexOf(m) < firstLate);
  // the last-listed leaf (where onnxruntime's walk starts) needs the fewest backward nodes: the head's weight
  assert.equal(nodes.at(-1)!.outputs[0], tg.gradOf['fc']);
});

test('the squeeze-excitation product is recomputed for the backward pass; gradients stay exact', async () => {
  // smooth activations so float32 central differences are accurate everywhere
  const m = model(true);
  const tg = buildTrainingGraph(m, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable: TRAINABLE });
  const g = tg.model.graph;
  const copy = g.nodes.find((n) => n.name.startsWith('recompute/'));
  assert.ok(copy, 'a recompute node');
  assert.equal(copy.opType, 'Mul');
  // swapped operands: onnxruntime's common-subexpression elimination must not merge it with the forward Mul
  assert.deepEqual(copy.inputs, [...g.producer('excited')!.inputs].reverse());
  const readers = g.consumers('excited').map((n) => n.name);
  assert.ok(
    readers.every((r) => !r.startsWith('grad/')),
    `backward nodes read the copy, not the forward value: ${readers.join(', ')}`,
  );
  const params: Record<string, TensorData> = Object.fromEntries(
    TRAINABLE.map((p) => {
      const t = m.graph.initializers.get(p)!;
      return [p, { dtype: t.dtype, dims: t.dims, data: t.toArray() }];
    }),
  );
  const feeds = { x: f32(values(2 * 3 * 64, 9, 1), [2, 3, 8, 8]), [tg.labels.name]: i64([0, 2], [2]) };
  // the same graph reading the forward product instead of the copy gives bit-identical gradients
  const plain = tg.model.clone();
  const pg = plain.graph;
  const copyName = copy.outputs[0]!;
  pg.nodes = pg.nodes.filter((n) => n.name !== copy.name);
  for (const n of pg.nodes) n.inputs = n.inputs.map((v) => (v === copyName ? 'excited' : v));
  pg.touch();
  const run = async (mm: Model) => {
    const s = await ortRunner(mm);
    try {
      return await s.run({ ...feeds, ...params });
    } finally {
      await s.dispose();
    }
  };
  const [a, b] = [await run(tg.model), await run(plain)];
  for (const p of TRAINABLE) assert.deepEqual(a[tg.gradOf[p]!]!.data, b[tg.gradOf[p]!]!.data, p);
  // and they are gradients: float32 central differences (resolution ~1e-5 on this loss)
  const report = await gradCheckTraining(tg, feeds, params, ortRunner, { tol: 1e-2, step: 1e-2 });
  assert.ok(report.ok, report.describe());
});

test('swish: Sigmoid(x) and x * Sigmoid(x) are recomputed from x for the backward pass; same gradients', async () => {
  const feeds = { x: f32(values(2 * 3 * 64, 9, 1), [2, 3, 8, 8]) };
  const grads = async (m: Model) => {
    const tg = buildTrainingGraph(m, {
      logits: 'logits',
      loss: { kind: 'softmax-cross-entropy' },
      trainable: TRAINABLE,
    });
    const params = Object.fromEntries(
      TRAINABLE.map((p) => {
        const t = m.graph.initializers.get(p)!;
        return [p, { dtype: t.dtype, dims: t.dims, data: t.toArray() }];
      }),
    );
    const s = await ortRunner(tg.model);
    try {
      const out = await s.run({ ...feeds, [tg.labels.name]: i64([0, 2], [2]), ...params });
      return { tg, out };
    } finally {
      await s.dispose();
    }
  };
  const a = await grads(model(true));
  const g = a.tg.model.graph;
  const sigmoids = g.nodes.filter((n) => n.opType === 'Sigmoid');
  assert.equal(sigmoids.filter((n) => n.name.startsWith('recompute/')).length, 1, 'the swish Sigmoid is recomputed');
  const c1 = g.nodes.find((n) => n.opType === 'Conv' && n.inputs[0] === 'x')!.outputs[0]!;
  const forwardSigmoid = sigmoids.find((n) => n.inputs[0] === c1);
  assert.ok(forwardSigmoid, 'the forward swish Sigmoid');
  assert.ok(
    g.consumers(forwardSigmoid.outputs[0]!).every((n) => !n.name.startsWith('grad/')),
    'the backward pass does not read the forward Sigmoid',
  );
  const b = await grads(model(true, true));
  for (const p of TRAINABLE) {
    const [ga, gb] = [a.out[a.tg.gradOf[p]!]!.data as Float32Array, b.out[b.tg.gradOf[p]!]!.data as Float32Array];
    const scale = gb.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    ga.forEach((v, i) => assert.ok(Math.abs(v - gb[i]!) <= 1e-5 * scale, `${p}[${i}] ${v} vs ${gb[i]}`));
  }
});
