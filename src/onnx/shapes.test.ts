import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { Session, f32 } from '../runtime/session.js';
import { GraphBuilder } from './builder.js';
import type { Dim, Graph } from './graph.js';
import { inferShapes } from './shapes.js';
import { broadcastDim, Conflict, product, quotient } from './shape-rules/dims.js';
import { generated, loadTorchvisionFixture, readFixtureJson } from './test-utils/torchvision-fixture.js';

const shapeOf = (g: Graph, v: string) => g.info(v)?.shape;

function mismatch(fn: () => unknown, node: string, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GraftError, String(e));
    assert.equal(e.code, 'SHAPE_MISMATCH');
    assert.equal(e.fields.node, node);
    assert.match(e.message, message);
    return true;
  });
}

test('dim algebra: broadcasting, products and quotients with symbols', () => {
  assert.equal(broadcastDim('N', 1), 'N');
  assert.equal(broadcastDim(1, 'N'), 'N');
  assert.equal(broadcastDim('N', 3), 3);
  assert.equal(broadcastDim('N', 'N'), 'N');
  assert.equal(broadcastDim('N', 'M'), undefined);
  assert.equal(broadcastDim(undefined, 1), undefined);
  assert.equal(broadcastDim(undefined, 4), 4);
  assert.ok(broadcastDim(3, 4) instanceof Conflict);
  assert.equal(product(['N', 1, 1]), 'N');
  assert.equal(product([2, 3, 4]), 24);
  assert.equal(product(['N', 2]), undefined);
  assert.equal(product(['N', 0]), 0);
  assert.equal(quotient(['N', 1280, 1, 1], [1280]), 'N');
  assert.equal(quotient(['N', 3, 4], ['N', 2]), 6);
  assert.equal(quotient(['N', 3, 4], [5]), undefined);
  assert.ok(quotient([3, 4], [5]) instanceof Conflict);
  assert.equal(quotient([undefined, 4], [2]), undefined);
});

test('a symbolic batch flows through conv, pooling, flatten and Gemm', () => {
  const b = new GraphBuilder('net');
  const x = b.input('x', 'float32', ['N', 3, 32, 32]);
  const w = b.initializer('w', new Float32Array(16 * 3 * 9), [16, 3, 3, 3]);
  const c = b.op('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] });
  const r = b.op('Relu', [c]);
  const p = b.op('MaxPool', [r], { kernel_shape: [2, 2], strides: [2, 2] });
  const gp = b.op('GlobalAveragePool', [p]);
  const fl = b.op('Flatten', [gp]);
  const fc = b.initializer('fc', new Float32Array(10 * 16), [10, 16]);
  const y = b.op('Gemm', [fl, fc], { transB: 1 }, { outputs: ['y'] });
  b.output(y);
  const g = inferShapes(b.graph);
  assert.deepEqual(shapeOf(g, c), ['N', 16, 16, 16]);
  assert.deepEqual(shapeOf(g, p), ['N', 16, 8, 8]);
  assert.deepEqual(shapeOf(g, fl), ['N', 16]);
  assert.deepEqual(g.outputs[0], { name: 'y', dtype: 'float32', shape: ['N', 10] });
  assert.equal(g.valueInfo.has('y'), false, 'graph outputs are described in outputs, not value_info');
  assert.equal(g.valueInfo.get(c)?.dtype, 'float32');
});

test('symbols propagate through broadcasting; unknown dims stay unknown', () => {
  const b = new GraphBuilder('bc');
  const x = b.input('x', 'float32', ['N', 1, 5]);
  const z = b.input('z', 'float32', [undefined, 'T', 1]);
  const one = b.input('one', 'float32', [1, 5]);
  const a = b.op('Add', [x, one]);
  const m = b.op('Mul', [x, z]);
  b.output(a);
  b.output(m);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, a), ['N', 1, 5]);
  assert.deepEqual(shapeOf(b.graph, m), [undefined, 'T', 5]);
});

test('PyTorch-style dynamic reshape: Shape -> Gather -> Unsqueeze -> Concat -> Reshape keeps N', () => {
  const b = new GraphBuilder('dyn');
  const x = b.input('x', 'float32', ['N', 8, 4, 4]);
  const s = b.op('Shape', [x]);
  const n = b.op('Gather', [s, b.constant(BigInt64Array.of(0n), [], 'zero')], { axis: 0 });
  const n1 = b.op('Unsqueeze', [n, b.ints([0])]);
  const target = b.op('Concat', [n1, b.ints([-1])], { axis: 0 });
  const r = b.op('Reshape', [x, target]);
  // a Div on shape values: half the channels, twice the rows
  const hw = b.op('Slice', [s, b.ints([1]), b.ints([2]), b.ints([0])]);
  const half = b.op('Div', [hw, b.ints([2])]);
  const t2 = b.op('Concat', [n1, half, b.ints([-1])], { axis: 0 });
  const r2 = b.op('Reshape', [x, t2]);
  b.output(r);
  b.output(r2);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, s), [4]);
  assert.deepEqual(shapeOf(b.graph, n), []);
  assert.deepEqual(shapeOf(b.graph, r), ['N', 128]);
  assert.deepEqual(shapeOf(b.graph, r2), ['N', 4, 32]);
});

test('Reshape reads its target from a Constant node', () => {
  const b = new GraphBuilder('cr');
  const x = b.input('x', 'float32', ['N', 2, 3]);
  const target = b.op('Constant', [], { value_ints: [0, 3, -1] });
  const r = b.op('Reshape', [x, target]);
  b.output(r);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, target), [3]);
  assert.deepEqual(shapeOf(b.graph, r), ['N', 3, 2]);
});

test('Expand, ConstantOfShape, Tile and Range read constant shapes', () => {
  const b = new GraphBuilder('gen');
  const x = b.input('x', 'float32', ['N', 1]);
  const e = b.op('Expand', [x, b.ints([1, 6])]);
  const shp = b.op('Shape', [e]);
  const zeros = b.op('ConstantOfShape', [shp]);
  const t = b.op('Tile', [x, b.ints([1, 3])]);
  const r = b.op('Range', [b.scalar(0), b.scalar(5), b.scalar(0.5)]);
  for (const v of [e, zeros, t, r]) b.output(v);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, e), ['N', 6]);
  assert.deepEqual(b.graph.info(zeros), { name: zeros, dtype: 'float32', shape: ['N', 6] });
  assert.deepEqual(shapeOf(b.graph, t), ['N', 3]);
  assert.deepEqual(shapeOf(b.graph, r), [10]);
});

test('slicing a whole symbolic axis keeps it; a partial slice of it is unknown', () => {
  const b = new GraphBuilder('sl');
  const x = b.input('x', 'float32', ['N', 10]);
  const big = 2 ** 62;
  const whole = b.op('Slice', [x, b.ints([0, 2]), b.ints([big, 8]), b.ints([0, 1])]);
  const part = b.op('Slice', [x, b.ints([1]), b.ints([big]), b.ints([0])]);
  b.output(whole);
  b.output(part);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, whole), ['N', 6]);
  assert.deepEqual(shapeOf(b.graph, part), [undefined, 10]);
});

test('ops without a rule, and other domains, leave outputs unknown without throwing', () => {
  const b = new GraphBuilder('unk');
  const x = b.input('x', 'float32', [2, 3]);
  const u = b.op('SomeFutureOp', [x]);
  const ms = b.op('FusedGemm', [x, x], undefined, { domain: 'com.microsoft' });
  const after = b.op('Relu', [u]);
  b.output(after);
  b.output(ms);
  inferShapes(b.graph);
  assert.equal(b.graph.valueInfo.has(u), false);
  assert.deepEqual(b.graph.outputs[0], { name: after, dtype: undefined, shape: undefined });
  // declared value_info of an unknown op's output is used downstream
  b.graph.valueInfo.set(u, { name: u, dtype: 'float32', shape: [7] });
  inferShapes(b.graph);
  assert.deepEqual(b.graph.outputs[0]!.shape, [7]);
});

test('contradictions throw SHAPE_MISMATCH naming the node', () => {
  const graphWith = (build: (b: GraphBuilder) => void) => {
    const b = new GraphBuilder('bad');
    build(b);
    return () => inferShapes(b.graph);
  };
  mismatch(
    graphWith((b) =>
      b.op('Add', [b.input('a', 'float32', [2, 3]), b.input('c', 'float32', [4])], {}, { name: 'add1' }),
    ),
    'add1',
    /cannot be broadcast/,
  );
  mismatch(
    graphWith((b) =>
      b.op('Gemm', [b.input('a', 'float32', [2, 3]), b.input('w', 'float32', [4, 5])], {}, { name: 'fc' }),
    ),
    'fc',
    /inner dimensions differ/,
  );
  mismatch(
    graphWith((b) =>
      b.op(
        'Gemm',
        [b.input('a', 'float32', [2, 3]), b.input('w', 'float32', [5, 3]), b.input('c', 'float32', [4])],
        {
          transB: 1,
        },
        { name: 'fcb' },
      ),
    ),
    'fcb',
    /C cannot be broadcast/,
  );
  mismatch(
    graphWith((b) =>
      b.op('MatMul', [b.input('a', 'float32', ['N', 3]), b.input('w', 'float32', [4, 5])], {}, { name: 'mm' }),
    ),
    'mm',
    /inner dimensions/,
  );
  mismatch(
    graphWith((b) =>
      b.op('Conv', [b.input('x', 'float32', [1, 3, 8, 8]), b.input('w', 'float32', [4, 2, 3, 3])], {}, { name: 'cv' }),
    ),
    'cv',
    /channels/,
  );
  mismatch(
    graphWith((b) =>
      b.op('Conv', [b.input('x', 'float32', [1, 1, 2, 2]), b.input('w', 'float32', [1, 1, 3, 3])], {}, { name: 'big' }),
    ),
    'big',
    /window is larger/,
  );
  mismatch(
    graphWith((b) => b.op('Reshape', [b.input('x', 'float32', [2, 3]), b.ints([4, -1])], {}, { name: 'rs' })),
    'rs',
    /does not divide/,
  );
  mismatch(
    graphWith((b) => b.op('Reshape', [b.input('x', 'float32', ['N', 3]), b.ints([0, 4])], {}, { name: 'rs2' })),
    'rs2',
    /element count changes/,
  );
  mismatch(
    graphWith((b) =>
      b.op('Concat', [b.input('a', 'float32', [2, 3]), b.input('c', 'float32', [3, 3])], { axis: 1 }, { name: 'cat' }),
    ),
    'cat',
    /not the concat axis/,
  );
  mismatch(
    graphWith((b) => b.op('Squeeze', [b.input('a', 'float32', [2, 3]), b.ints([1])], {}, { name: 'sq' })),
    'sq',
    /has size 3, not 1/,
  );
  mismatch(
    graphWith((b) => b.op('Gather', [b.input('a', 'float32', [2, 3]), b.ints([3])], { axis: 1 }, { name: 'gt' })),
    'gt',
    /out of range/,
  );
  mismatch(
    graphWith((b) => b.op('Softmax', [b.input('a', 'float32', [2, 3])], { axis: 2 }, { name: 'sm' })),
    'sm',
    /axis 2 is out of range/,
  );
  mismatch(
    graphWith((b) =>
      b.op(
        'BatchNormalization',
        [b.input('x', 'float32', [1, 3, 2, 2]), ...['s', 'bb', 'm', 'v'].map((n) => b.input(n, 'float32', [4]))],
        {},
        { name: 'bn' },
      ),
    ),
    'bn',
    /differs from the channels/,
  );
  mismatch(
    graphWith((b) => b.op('Add', [b.input('a', 'float32', [2]), b.input('i', 'int64', [2])], {}, { name: 'mixed' })),
    'mixed',
    /different element types/,
  );
  mismatch(
    graphWith((b) => b.opN('Split', [b.input('a', 'float32', [5]), b.ints([2, 2])], {}, { name: 'sp', outputs: 2 })),
    'sp',
    /do not add up/,
  );
  mismatch(
    graphWith((b) => b.op('Expand', [b.input('a', 'float32', [3]), b.ints([2, 4])], {}, { name: 'ex' })),
    'ex',
    /cannot be broadcast/,
  );
});

test('declared value_info is checked against inference; reset forgets it', () => {
  const b = new GraphBuilder('vi');
  const x = b.input('x', 'float32', ['N', 4]);
  const r = b.op('Relu', [x], undefined, { outputs: ['r'], name: 'relu' });
  const y = b.op('Gemm', [r, b.initializer('w', new Float32Array(12), [3, 4])], { transB: 1 }, { outputs: ['y'] });
  b.output(y, 'float32', ['batch', 1000]); // stale: the head was replaced
  b.graph.valueInfo.set('r', { name: 'r', dtype: 'float32', shape: ['N', 5], docString: 'old' });
  mismatch(() => inferShapes(b.graph), 'relu', /contradicts its declared value_info/);
  inferShapes(b.graph, { reset: true });
  assert.deepEqual(b.graph.outputs[0]!.shape, ['N', 3]);
  assert.deepEqual(b.graph.valueInfo.get('r'), { name: 'r', dtype: 'float32', shape: ['N', 4] });
  // declared info that agrees refines what inference leaves open (symbols unify, numbers win)
  b.graph.inputs[0]!.shape = [undefined, 4];
  b.graph.valueInfo.set('r', { name: 'r', dtype: 'float32', shape: [8, 4], docString: 'kept' });
  inferShapes(b.graph);
  assert.deepEqual(b.graph.valueInfo.get('r'), { name: 'r', dtype: 'float32', shape: [8, 4], docString: 'kept' });
  assert.deepEqual(b.graph.outputs[0]!.shape, [8, 3]);
});

test('nodes out of order are inferred as if sorted', () => {
  const b = new GraphBuilder('unsorted');
  const x = b.input('x', 'float32', ['N', 2, 6]);
  const t = b.op('Transpose', [x], { perm: [0, 2, 1] });
  const f = b.op('Flatten', [t]);
  b.output(f);
  b.graph.nodes.reverse();
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, f), ['N', 12]);
});

test('If: outputs are known as far as both branches agree, branches see the outer scope', () => {
  const branch = (op: string, extra: number) => {
    const g = new GraphBuilder(`${op}_branch`);
    const w = g.initializer(`w_${op}`, new Float32Array(4 * extra), [4, extra]);
    g.output(g.op('MatMul', ['x', w], undefined, { outputs: [`${op}_out`] }));
    g.output(g.op(op, ['x'], undefined, { outputs: [`${op}_same`] }));
    return g.graph;
  };
  const b = new GraphBuilder('if');
  b.input('x', 'float32', ['N', 4]);
  b.input('c', 'bool', []);
  const [y, z] = b.opN('If', ['c'], { then_branch: branch('Relu', 3), else_branch: branch('Neg', 5) }, { outputs: 2 });
  b.output(y!);
  b.output(z!);
  inferShapes(b.graph);
  assert.deepEqual(b.graph.outputs[0]!.shape, ['N', undefined]);
  assert.deepEqual(b.graph.outputs[1]!.shape, ['N', 4]);
  const thenG = b.graph.nodes[0]!.attrs.then_branch!.value as Graph;
  assert.deepEqual(thenG.outputs[0]!.shape, ['N', 3]);
});

test('values of constants do not leak from initializers that are also graph inputs', () => {
  const b = new GraphBuilder('override');
  const x = b.input('x', 'float32', [2, 6]);
  b.initializer('shape', BigInt64Array.of(3n, 4n), [2], 'int64');
  b.input('shape', 'int64', [2]); // a default the caller may override
  const r = b.op('Reshape', [x, 'shape']);
  b.output(r);
  inferShapes(b.graph);
  assert.deepEqual(shapeOf(b.graph, r), [undefined, undefined]);
});

/** Every intermediate value becomes a graph output so onnxruntime reports its real shape. */
async function compareAllValues(name: 'mobilenet_v2' | 'resnet18', dims: number[]) {
  const model = loadTorchvisionFixture(name);
  const g = model.graph;
  g.inputs[0]!.shape = [...dims];
  inferShapes(model, { reset: true });
  const names = g.nodes.flatMap((n) => n.outputs).filter((o) => o && !g.isGraphOutput(o));
  const expected = new Map<string, Dim[] | undefined>(names.map((v) => [v, g.valueInfo.get(v)?.shape]));
  for (const v of names) g.outputs.push({ name: v, dtype: g.valueInfo.get(v)?.dtype });
  const size = dims.reduce((a, b) => a * b, 1);
  const s = await Session.create(model, { optimization: 'disabled', intraOpThreads: 1 });
  const got = await s.run({ input: f32(generated({ name: 'x', center: 0, halfWidth: 1 }, size), dims) });
  await s.dispose();
  let compared = 0;
  for (const [v, shape] of expected) {
    assert.deepEqual(shape, [...got[v]!.dims], `${name}: ${v}`);
    compared++;
  }
  return compared;
}

test('MobileNetV2: every inferred intermediate shape equals onnxruntime at 1x3x224x224', async () => {
  assert.ok((await compareAllValues('mobilenet_v2', [1, 3, 224, 224])) > 200);
});

test('ResNet-18: every inferred intermediate shape equals onnxruntime at 2x3x64x80', async () => {
  assert.ok((await compareAllValues('resnet18', [2, 3, 64, 80])) > 60);
});

test('exported models keep the symbolic batch through to the logits', () => {
  for (const name of ['mobilenet_v2', 'resnet18'] as const) {
    const model = loadTorchvisionFixture(name);
    model.graph.inputs[0]!.shape = ['N', 3, 224, 224];
    inferShapes(model);
    assert.deepEqual(model.graph.outputs[0]!.shape, ['N', 1000], name);
    const gap = model.graph.nodes.find((n) => n.opType === 'GlobalAveragePool')!;
    assert.deepEqual(model.graph.info(gap.outputs[0]!)?.shape, ['N', name === 'resnet18' ? 512 : 1280, 1, 1]);
    assert.equal(readFixtureJson(name, 'reference').output.dims[1], 1000);
  }
});

test('inferShapes on a Model reads its opset', () => {
  // opset 11 Softmax defaults to axis 1; axis 1 of a rank-1 input does not exist
  const b = new GraphBuilder('sm');
  b.output(b.op('Softmax', [b.input('x', 'float32', [3])], {}, { name: 'sm' }));
  assert.throws(() => inferShapes(b.build({ opset: 11, check: false })), GraftError);
  const ok = new GraphBuilder('sm2');
  ok.output(ok.op('Softmax', [ok.input('x', 'float32', [3])]));
  assert.deepEqual(inferShapes(ok.build({ opset: 13 })).graph.outputs[0]!.shape, [3]);
});
