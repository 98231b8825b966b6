import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { buildTrainingGraph } from './build.js';
import { gradientEntry, isDifferentiableInput, ruleOpsets, supportedOps } from './registry.js';

/** The ops the training-graph builder must differentiate at every supported opset (issue 2, item 4). */
const REQUIRED = [
  'Gemm',
  'MatMul',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Softmax',
  'LogSoftmax',
  'Exp',
  'Log',
  'Sqrt',
  'Pow',
  'Reshape',
  'Flatten',
  'Transpose',
  'Identity',
  'Concat',
  'ReduceMean',
  'ReduceSum',
  'Dropout',
];

test('every required op has a rule at opsets 11 through 18', () => {
  for (const opset of [11, 12, 13, 15, 17, 18]) {
    const ops = supportedOps(opset);
    for (const op of REQUIRED) assert.ok(ops.includes(op), `${op} at opset ${opset}`);
    assert.deepEqual([...ops].sort(), ops, 'sorted');
  }
});

test('entries are chosen by opset and domain', () => {
  assert.equal(gradientEntry('Gather', 15), undefined);
  assert.equal(gradientEntry('Gather', 16)?.kind, 'rule');
  assert.deepEqual(ruleOpsets('Gather'), ['16+']);
  assert.equal(gradientEntry('Relu', 13, 'com.microsoft'), undefined);
  assert.equal(gradientEntry('Relu', 13, 'ai.onnx')?.kind, 'rule');
  assert.equal(gradientEntry('Floor', 13)?.kind, 'zero');
  assert.equal(gradientEntry('ArgMax', 13)?.kind, 'notDifferentiable');
  assert.equal(isDifferentiableInput('Reshape', 1), false);
  assert.equal(isDifferentiableInput('Reshape', 0), true);
  assert.equal(isDifferentiableInput('Slice', 3), false);
});

test('a rule outside its opset range is reported with the range it has', () => {
  const b = new GraphBuilder('emb');
  const ids = b.input('ids', 'int64', ['N']);
  b.initializer('table', new Float32Array(20), [5, 4]);
  b.output(b.op('Gather', ['table', ids], undefined, { outputs: ['logits'] }), 'float32', ['N', 4]);
  assert.throws(
    () => buildTrainingGraph(b.build({ opset: 13 }), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['table'] }),
    (e: Error & { code?: string }) =>
      e.code === 'NO_GRADIENT' && /opset 13 \(rules exist for opsets 16\+\)/.test(e.message),
  );
  const b16 = new GraphBuilder('emb');
  b16.input('ids', 'int64', ['N']);
  b16.initializer('table', new Float32Array(20), [5, 4]);
  b16.output(b16.op('Gather', ['table', 'ids'], undefined, { outputs: ['logits'] }), 'float32', ['N', 4]);
  assert.doesNotThrow(() =>
    buildTrainingGraph(b16.build({ opset: 16 }), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['table'] }),
  );
});
