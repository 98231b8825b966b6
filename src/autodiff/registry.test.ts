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
  assert.equal(gradientEntry('Gather', 10), undefined);
  assert.equal(gradientEntry('Gather', 13)?.kind, 'rule');
  assert.equal(gradientEntry('Gather', 16)?.kind, 'rule');
  assert.notEqual(
    gradientEntry('Gather', 13),
    gradientEntry('Gather', 16),
    'one-hot form before 16, scatter-add from 16',
  );
  assert.deepEqual(ruleOpsets('Gather'), ['11-15', '16+']);
  assert.equal(gradientEntry('Relu', 13, 'com.microsoft'), undefined);
  assert.equal(gradientEntry('Relu', 13, 'ai.onnx')?.kind, 'rule');
  assert.equal(gradientEntry('Floor', 13)?.kind, 'zero');
  assert.equal(gradientEntry('ArgMax', 13)?.kind, 'notDifferentiable');
  assert.equal(isDifferentiableInput('Reshape', 1), false);
  assert.equal(isDifferentiableInput('Reshape', 0), true);
  assert.equal(isDifferentiableInput('Slice', 3), false);
});

test('an embedding lookup trains at opset 13 (one-hot form) and 16 (scatter-add)', () => {
  const build = (opset: number) => {
    const b = new GraphBuilder('emb');
    const ids = b.input('ids', 'int64', ['N']);
    b.initializer('table', new Float32Array(20), [5, 4]);
    b.output(b.op('Gather', ['table', ids], undefined, { outputs: ['logits'] }), 'float32', ['N', 4]);
    return buildTrainingGraph(b.build({ opset }), { logits: 'logits', loss: { kind: 'mse' }, trainable: ['table'] });
  };
  const ops = (opset: number) => new Set(build(opset).model.graph.nodes.map((n) => n.opType));
  assert.ok(!ops(13).has('ScatterND') && ops(13).has('Equal'), 'opset 13: one-hot rows, no scatter');
  assert.ok(ops(16).has('ScatterND'), 'opset 16: scatter-add');
});
