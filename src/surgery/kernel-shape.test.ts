import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from '../onnx/builder.js';
import { Session, f32 } from '../runtime/session.js';
import { writeKernelShapes } from './kernel-shape.js';

function convs() {
  const b = new GraphBuilder('convs');
  const x = b.input('x', 'float32', ['N', 2, 5, 5]);
  const w1 = b.initializer(
    'w1',
    Float32Array.from({ length: 3 * 2 * 9 }, (_, i) => Math.sin(i)),
    [3, 2, 3, 3],
  );
  const y1 = b.op('Conv', [x, w1], { pads: [1, 1, 1, 1] }, { name: 'c1' });
  const w2 = b.initializer(
    'w2',
    Float32Array.from({ length: 3 * 3 * 4 }, (_, i) => Math.cos(i)),
    [3, 3, 2, 2],
  );
  const y2 = b.op('Conv', [y1, w2], { kernel_shape: [2, 2] }, { name: 'c2' });
  const w3 = b.initializer(
    'w3',
    Float32Array.from({ length: 3 * 1 * 4 }, (_, i) => i / 10),
    [3, 1, 2, 2],
  );
  const y3 = b.op('ConvTranspose', [y2, w3], { strides: [2, 2] }, { name: 't3', outputs: ['y'] });
  b.output(y3, 'float32', ['N', 1, 8, 8]);
  return b.build({ opset: 17 });
}

test('writeKernelShapes writes kernel_shape from the weights where a Conv or ConvTranspose has none', () => {
  const m = convs();
  assert.equal(writeKernelShapes(m), 2);
  const attr = (name: string) => m.graph.nodes.find((n) => n.name === name)!.attrs.kernel_shape;
  assert.deepEqual(attr('c1'), { type: 'ints', value: [3, 3] });
  assert.deepEqual(attr('c2'), { type: 'ints', value: [2, 2] }, 'a written one stays');
  assert.deepEqual(attr('t3'), { type: 'ints', value: [2, 2] });
  assert.equal(writeKernelShapes(m), 0, 'nothing left to write');
});

test('the model computes the same with the attributes written', async () => {
  const before = convs();
  const after = convs();
  writeKernelShapes(after);
  const x = f32(
    Float32Array.from({ length: 2 * 2 * 25 }, (_, i) => Math.sin(i * 0.7)),
    [2, 2, 5, 5],
  );
  const run = async (m: typeof before) => {
    const s = await Session.create(m);
    try {
      return (await s.run({ x })).y!.data as Float32Array;
    } finally {
      await s.dispose();
    }
  };
  assert.deepEqual(await run(after), await run(before));
});
