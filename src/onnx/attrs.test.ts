import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from './builder.js';
import { decodeModel, encodeModel } from './codec.js';
import { Graph } from './graph.js';
import { toAttr, toAttrs } from './attrs.js';
import { Tensor } from './tensor.js';

test('builder types plain JS attribute values the way ONNX declares them', () => {
  const cases: [string, Parameters<typeof toAttr>[1], string][] = [
    ['axis', 1, 'int'],
    ['transB', 1, 'int'],
    ['alpha', 1, 'float'], // whole number, but alpha is a float attribute
    ['epsilon', 0, 'float'],
    ['momentum', 0.9, 'float'],
    ['min', 0, 'float'],
    ['max', 6, 'float'],
    ['kernel_shape', [3, 3], 'ints'],
    ['pads', [], 'ints'],
    ['scales', [1, 2], 'floats'],
    ['something', [1.5, 2], 'floats'], // a fraction makes any list floats
    ['something', 0.25, 'float'],
    ['mode', 'constant', 'string'],
    ['names', ['a', 'b'], 'strings'],
    ['big', 2n ** 60n, 'int'],
  ];
  for (const [name, value, want] of cases) assert.equal(toAttr(name, value).type, want, `${name}=${String(value)}`);
  // names whose type depends on the op: RandomNormal's seed is a float, Dropout's an int
  assert.equal(toAttr('seed', 3, 'RandomNormal').type, 'float');
  assert.equal(toAttr('mean', 0, 'RandomNormalLike').type, 'float');
  assert.equal(toAttr('seed', 3, 'Dropout').type, 'int');
  assert.deepEqual(toAttr('alpha', 1), { type: 'float', value: 1 });
  const t = Tensor.from('v', [1], [1]);
  assert.deepEqual(toAttr('value', t), { type: 'tensor', value: t });
  const g = new Graph({ name: 'body' });
  assert.deepEqual(toAttr('then_branch', g), { type: 'graph', value: g });
  // an explicit Attr passes through unchanged: the escape hatch for an int attribute written as float
  assert.deepEqual(toAttr('axis', { type: 'float', value: 1 }), { type: 'float', value: 1 });
  assert.deepEqual(toAttrs({ a: 1, skip: undefined }), { a: { type: 'int', value: 1 } });
});

test('builder names nodes and outputs uniquely and wires them in order', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', ['N', 3]);
  const r1 = b.op('Relu', [x]);
  const r2 = b.op('Relu', [r1]);
  const [s0, s1] = b.opN('Split', [r2], { axis: 1 }, { outputs: 2 });
  b.output(s0!);
  b.output(s1!);
  const names = b.graph.nodes.map((n) => n.name);
  assert.equal(new Set(names).size, names.length);
  assert.notEqual(r1, r2);
  assert.deepEqual(b.graph.nodes[1]!.inputs, [r1]);
  assert.equal(b.graph.nodes[2]!.attrs.axis!.type, 'int');
  const c = b.ints([1, -1]);
  assert.equal(b.graph.initializers.get(c)!.dtype, 'int64');
  const s = b.scalar(2);
  assert.deepEqual(b.graph.initializers.get(s)!.dims, []);
});

test('typed attributes survive encode/decode with their types', () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 3]);
  const y = b.op('LeakyRelu', [x], { alpha: 1 });
  const z = b.op('Clip', [y], { min: 0, max: 6 });
  b.output(b.op('Transpose', [z], { perm: [1, 0] }));
  const back = decodeModel(encodeModel(b.build({ opset: 10 })));
  const [leaky, clip, tr] = back.graph.nodes;
  assert.deepEqual(leaky!.attrs.alpha, { type: 'float', value: 1 });
  assert.deepEqual(clip!.attrs.min, { type: 'float', value: 0 });
  assert.deepEqual(tr!.attrs.perm, { type: 'ints', value: [1, 0] });
});
