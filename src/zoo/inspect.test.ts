import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from '../onnx/builder.js';
import { Graph, Model, Node } from '../onnx/graph.js';
import { inspectModel } from './inspect.js';
import type { ModelEntry } from './types.js';

/**
 * A small CNN laid out like a PyTorch export: a stem, two residual blocks, a pooled head with a Gemm.
 * Parameters: stem 4*3*3*3+4 = 112; each block 4*4*3*3+4 = 148; head 3*4+3 = 15 -> 423.
 */
function tinyCnn(): Model {
  const b = new GraphBuilder('tiny_cnn');
  const x = b.input('pixel_values', 'float32', ['N', 3, 8, 8]);
  const w = (name: string, dims: number[]) =>
    b.initializer(name, new Float32Array(dims.reduce((a, c) => a * c, 1)).fill(0.01), dims);
  let h = b.op(
    'Conv',
    [x, w('stem.w', [4, 3, 3, 3]), w('stem.b', [4])],
    { pads: [1, 1, 1, 1] },
    { name: '/stem/conv/Conv', outputs: ['/stem/conv/Conv_output_0'] },
  );
  h = b.op('Relu', [h], {}, { name: '/stem/act/Relu', outputs: ['/stem/act/Relu_output_0'] });
  for (const k of [1, 2]) {
    const c = b.op(
      'Conv',
      [h, w(`layer${k}.w`, [4, 4, 3, 3]), w(`layer${k}.b`, [4])],
      { pads: [1, 1, 1, 1] },
      { name: `/layer${k}/conv/Conv`, outputs: [`/layer${k}/conv/Conv_output_0`] },
    );
    const r = b.op('Relu', [c], {}, { name: `/layer${k}/act/Relu`, outputs: [`/layer${k}/act/Relu_output_0`] });
    h = b.op('Add', [r, h], {}, { name: `/layer${k}/add/Add`, outputs: [`/layer${k}/add/Add_output_0`] });
  }
  const pooled = b.op(
    'GlobalAveragePool',
    [h],
    {},
    { name: '/pool/GlobalAveragePool', outputs: ['/pool/GlobalAveragePool_output_0'] },
  );
  const flat = b.op('Flatten', [pooled], {}, { name: '/head/Flatten', outputs: ['/head/Flatten_output_0'] });
  const logits = b.op(
    'Gemm',
    [flat, w('fc.w', [3, 4]), w('fc.b', [3])],
    { transB: 1 },
    { name: '/fc/Gemm', outputs: ['logits'] },
  );
  b.output(logits, 'float32', ['N', 3]);
  return new Model(b.graph);
}

test('inspect reports parameters, blocks, the classifier and safe cut points of a small CNN', () => {
  const r = inspectModel(tinyCnn());
  assert.equal(r.parameters, 423);
  assert.deepEqual(r.inputs, [{ name: 'pixel_values', dtype: 'float32', shape: ['N', 3, 8, 8] }]);
  assert.deepEqual(
    r.blocks.map((b) => [b.name, b.nodes, b.parameters]),
    [
      ['stem', 2, 112],
      ['layer1', 3, 148],
      ['layer2', 3, 148],
      ['pool', 1, 0],
      ['head', 1, 0],
      ['fc', 1, 15],
    ],
  );
  assert.deepEqual(r.classifier, {
    nodes: ['/fc/Gemm'],
    parameters: 15,
    featureValue: '/head/Flatten_output_0',
    numClasses: 3,
    source: 'detected',
  });
  const cuts = r.cutPoints.map((c) => c.value);
  assert.equal(cuts[0], '/head/Flatten_output_0', 'the pooled features come first');
  assert.ok(cuts.includes('/layer1/add/Add_output_0'), cuts.join(', '));
  // Inside a residual block two values are live (the branch and the skip): never a cut point.
  assert.ok(!cuts.includes('/layer2/conv/Conv_output_0'));
  assert.ok(!cuts.includes('/layer2/act/Relu_output_0'));
  assert.ok(!cuts.includes('logits'), 'the output itself is not a cut point');
});

test('a zoo entry naming the classifier takes precedence over detection', () => {
  const entry = {
    classifierNodes: ['/fc/Gemm'],
    featureValue: '/pool/GlobalAveragePool_output_0',
    numClasses: 3,
  } as ModelEntry;
  const r = inspectModel(tinyCnn(), entry);
  assert.equal(r.classifier?.source, 'entry');
  assert.equal(r.classifier?.featureValue, '/pool/GlobalAveragePool_output_0');
});

test('a model without a dense head reports no classifier', () => {
  const b = new GraphBuilder('enc');
  const x = b.input('x', 'float32', ['N', 4]);
  b.output(b.op('Relu', [x], {}, { name: 'act', outputs: ['y'] }));
  assert.equal(inspectModel(new Model(b.graph)).classifier, undefined);
});

test('a valid model has no problems; a head that loops back on itself is reported, not walked forever', () => {
  assert.deepEqual(inspectModel(tinyCnn()).problems, []);
  const g = new Graph({
    name: 'loop',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
    nodes: [
      new Node({ name: 'add', opType: 'Add', inputs: ['y', 'x'], outputs: ['s'] }),
      new Node({ name: 'relu', opType: 'Relu', inputs: ['s'], outputs: ['y'] }),
    ],
  });
  const r = inspectModel(new Model(g));
  assert.equal(r.classifier, undefined);
  assert.deepEqual(
    r.problems.map((p) => p.message),
    ['nodes form a cycle: add -> relu -> add'],
  );
});

test('inputs that are not tensors are summarised by their type', () => {
  const g = new Graph({
    name: 'seq',
    inputs: [{ name: 'xs', type: { kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: ['N', 4] } } }],
    outputs: [{ name: 'n', dtype: 'int64', shape: [] }],
    nodes: [new Node({ name: 'len', opType: 'SequenceLength', inputs: ['xs'], outputs: ['n'] })],
  });
  const r = inspectModel(new Model(g));
  assert.deepEqual(r.inputs, [{ name: 'xs', type: 'sequence<float32[N,4]>' }]);
  assert.deepEqual(r.problems, []);
});
