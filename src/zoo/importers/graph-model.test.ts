import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../../errors.js';
import { importTfjsGraphModel } from './graph-model.js';
import { GraphModelBuilder, assertClose, attr, onnxPredict, randomData } from './test-utils/fixtures.js';
import { tfjsGraphPredict } from './test-utils/tfjs.js';
import type { TfjsImportOptions } from './types.js';

const TOL = 1e-4;

interface Case {
  name: string;
  /** NHWC input shape (placeholder shape); default [2, 8, 9, 5] (8 rows: stride-2 'SAME' pads are asymmetric) */
  input?: number[];
  /** the shape fed when the placeholder has unknown dims */
  feedShape?: number[];
  build: (b: GraphModelBuilder, x: string) => string | string[];
  opts?: TfjsImportOptions;
  /** ONNX op types the conversion must contain (proves the intended path was taken) */
  expectOps?: string[];
}

const conv = (s: number, padding: string, d = 1, extra: Record<string, ReturnType<typeof attr.s>> = {}) => ({
  strides: attr.ints([1, s, s, 1]),
  padding: attr.s(padding),
  data_format: attr.s('NHWC'),
  dilations: attr.ints([1, d, d, 1]),
  ...extra,
});
const fused = (ops: string[], nArgs: number, extra = {}) => ({
  fused_ops: attr.strs(ops),
  num_args: attr.i(nArgs),
  ...extra,
});
const pool = (k: number, s: number, padding: string) => ({
  ksize: attr.ints([1, k, k, 1]),
  strides: attr.ints([1, s, s, 1]),
  padding: attr.s(padding),
  data_format: attr.s('NHWC'),
});

function fusedConvCase(act: string, extraArgs: (b: GraphModelBuilder) => string[] = () => [], extra = {}): Case {
  return {
    name: `_FusedConv2D BiasAdd+${act || 'none'} SAME stride 2`,
    build: (b, x) => {
      const w = b.random('w', [3, 3, 5, 4], 11, 0.5);
      const bias = b.random('bias', [4], 12, 0.5);
      const args = [bias, ...extraArgs(b)];
      const ops = act ? ['BiasAdd', act] : ['BiasAdd'];
      return b.op('_FusedConv2D', 'y', [x, w, ...args], { ...conv(2, 'SAME'), ...fused(ops, args.length, extra) });
    },
    expectOps: ['Conv'],
  };
}

const CASES: Case[] = [
  {
    name: 'Conv2D SAME stride 2 (asymmetric pads)',
    build: (b, x) => b.op('Conv2D', 'y', [x, b.random('w', [3, 3, 5, 4], 1)], conv(2, 'SAME')),
    expectOps: ['Conv'],
  },
  {
    name: 'Conv2D SAME stride 1, even kernel',
    build: (b, x) => b.op('Conv2D', 'y', [x, b.random('w', [2, 4, 5, 3], 2)], conv(1, 'SAME')),
  },
  {
    name: 'Conv2D VALID dilation 2',
    build: (b, x) => b.op('Conv2D', 'y', [x, b.random('w', [3, 3, 5, 4], 3)], conv(1, 'VALID', 2)),
  },
  {
    name: 'Conv2D EXPLICIT padding',
    build: (b, x) =>
      b.op('Conv2D', 'y', [x, b.random('w', [3, 3, 5, 4], 4)], {
        ...conv(2, 'EXPLICIT'),
        explicit_paddings: attr.ints([0, 0, 1, 2, 0, 1, 0, 0]),
      }),
  },
  {
    name: 'Conv2D SAME with unknown input size (auto_pad SAME_UPPER)',
    input: [-1, -1, -1, 5],
    feedShape: [2, 8, 9, 5],
    build: (b, x) => b.op('Conv2D', 'y', [x, b.random('w', [3, 3, 5, 4], 5)], conv(2, 'SAME')),
  },
  {
    name: 'Conv2D SAME with inputSize given for an open placeholder',
    input: [-1, -1, -1, 5],
    feedShape: [1, 8, 9, 5],
    opts: { inputSize: [8, 9] },
    build: (b, x) => b.op('Conv2D', 'y', [x, b.random('w', [3, 3, 5, 4], 6)], conv(2, 'SAME')),
  },
  fusedConvCase(''),
  fusedConvCase('Relu'),
  fusedConvCase('Relu6'),
  fusedConvCase('Elu'),
  fusedConvCase('Sigmoid'),
  fusedConvCase('LeakyRelu', () => [], { leakyrelu_alpha: attr.f(0.3) }),
  fusedConvCase('Prelu', (b) => [b.random('alpha', [4], 13, 0.5)]),
  {
    name: 'DepthwiseConv2dNative SAME stride 2, multiplier 2',
    build: (b, x) => b.op('DepthwiseConv2dNative', 'y', [x, b.random('w', [3, 3, 5, 2], 21)], conv(2, 'SAME')),
    expectOps: ['Conv'],
  },
  {
    name: 'FusedDepthwiseConv2dNative BiasAdd+Relu6 5x5',
    build: (b, x) =>
      b.op('FusedDepthwiseConv2dNative', 'y', [x, b.random('w', [5, 5, 5, 1], 22), b.random('bias', [5], 23)], {
        ...conv(1, 'SAME'),
        ...fused(['BiasAdd', 'Relu6'], 1),
      }),
  },
  {
    name: 'MaxPool SAME 3x3 stride 2',
    build: (b, x) => b.op('MaxPool', 'y', [x], pool(3, 2, 'SAME')),
    expectOps: ['MaxPool'],
  },
  {
    name: 'AvgPool SAME 3x3 stride 2 (padding excluded from the mean)',
    build: (b, x) => b.op('AvgPool', 'y', [x], pool(3, 2, 'SAME')),
    expectOps: ['AveragePool'],
  },
  { name: 'AvgPool VALID 2x2', build: (b, x) => b.op('AvgPool', 'y', [x], pool(2, 2, 'VALID')) },
  {
    name: 'Mean over H,W then _FusedMatMul BiasAdd+Relu',
    build: (b, x) => {
      const m = b.op('Mean', 'pool', [x, b.const('axes', [1, 2], [2], 'int32')], { keep_dims: attr.b(false) });
      return b.op('_FusedMatMul', 'y', [m, b.random('w', [5, 6], 31), b.random('bias', [6], 32)], {
        transpose_a: attr.b(false),
        transpose_b: attr.b(false),
        ...fused(['BiasAdd', 'Relu'], 1),
      });
    },
    expectOps: ['ReduceMean', 'Gemm'],
  },
  {
    name: 'Mean keep_dims, Sum, Max over channels',
    build: (b, x) => [
      b.op('Mean', 'mean', [x, b.const('a1', [1, 2], [2], 'int32')], { keep_dims: attr.b(true) }),
      b.op('Sum', 'sum', [x, b.const('a2', [-1], [1], 'int32')], { keep_dims: attr.b(false) }),
      b.op('Max', 'max', [x, b.const('a3', [3], [], 'int32')], { keep_dims: attr.b(true) }),
    ],
  },
  {
    name: 'MatMul transpose_b and Softmax/LogSoftmax',
    input: [3, 5],
    build: (b, x) => {
      const m = b.op('MatMul', 'mm', [x, b.random('w', [4, 5], 33)], {
        transpose_a: attr.b(false),
        transpose_b: attr.b(true),
      });
      return [b.op('Softmax', 'sm', [m]), b.op('LogSoftmax', 'lsm', [m])];
    },
  },
  {
    name: 'Pad then Conv2D VALID; PadV2; MirrorPad REFLECT',
    build: (b, x) => {
      const p = b.op('Pad', 'pad', [x, b.const('pads', [0, 0, 0, 1, 1, 0, 0, 0], [4, 2], 'int32')]);
      const c = b.op('Conv2D', 'conv', [p, b.random('w', [3, 3, 5, 4], 41)], conv(2, 'VALID'));
      const p2 = b.op('PadV2', 'pad2', [
        x,
        b.const('pads2', [0, 0, 1, 1, 2, 0, 0, 0], [4, 2], 'int32'),
        b.const('v', [0.5], []),
      ]);
      const p3 = b.op('MirrorPad', 'pad3', [x, b.const('pads3', [0, 0, 2, 1, 1, 2, 0, 0], [4, 2], 'int32')], {
        mode: attr.s('REFLECT'),
      });
      return [c, p2, p3];
    },
  },
  {
    name: 'squeeze-excite block as EfficientNet writes it (Shape/StridedSlice/Pack/Reshape)',
    build: (b, x) => {
      const m = b.op('Mean', 'se/squeeze', [x, b.const('axes', [1, 2], [2], 'int32')], { keep_dims: attr.b(false) });
      const shape = b.op('Shape', 'se/shape', [m], { out_type: attr.type('DT_INT32') });
      const batch = b.op(
        'StridedSlice',
        'se/batch',
        [shape, b.const('s0', [0], [1], 'int32'), b.const('s1', [1], [1], 'int32'), b.const('s2', [1], [1], 'int32')],
        {
          begin_mask: attr.i(0),
          end_mask: attr.i(0),
          ellipsis_mask: attr.i(0),
          new_axis_mask: attr.i(0),
          shrink_axis_mask: attr.i(1),
          Index: attr.type('DT_INT32'),
        },
      );
      const one = b.const('one', [1], [], 'int32');
      const c = b.const('c', [5], [], 'int32');
      const target = b.op('Pack', 'se/target', [batch, one, one, c], { axis: attr.i(0), N: attr.i(4) });
      const r = b.op('Reshape', 'se/reshape', [m, target], { Tshape: attr.type('DT_INT32') });
      const red = b.op('_FusedConv2D', 'se/reduce', [r, b.random('w1', [1, 1, 5, 2], 51), b.random('b1', [2], 52)], {
        ...conv(1, 'SAME'),
        ...fused(['BiasAdd'], 1),
      });
      const sw = b.op('Mul', 'se/swish', [b.op('Sigmoid', 'se/sig', [red]), red]);
      const exp = b.op('_FusedConv2D', 'se/expand', [sw, b.random('w2', [1, 1, 2, 5], 53), b.random('b2', [5], 54)], {
        ...conv(1, 'SAME'),
        ...fused(['BiasAdd'], 1),
      });
      return b.op('Mul', 'y', [x, b.op('Sigmoid', 'se/gate', [exp])]);
    },
    expectOps: ['Reshape'],
  },
  {
    name: 'preprocessing as EfficientNet writes it (Mul, Sub/RealDiv of BroadcastTo(Shape))',
    build: (b, x) => {
      const m = b.op('Mul', 'mul', [b.const('k', [255], []), x]);
      const s = b.op('Shape', 'shape', [m], { out_type: attr.type('DT_INT32') });
      const mean = b.op('BroadcastTo', 'mean', [b.random('mu', [1, 1, 5], 61, 100), s], {
        Tidx: attr.type('DT_INT32'),
      });
      const sub = b.op('Sub', 'sub', [m, mean]);
      const s2 = b.op('Shape', 'shape2', [sub], { out_type: attr.type('DT_INT32') });
      const std = b.op('BroadcastTo', 'std', [b.const('sd', [50, 60, 70, 80, 90], [1, 1, 5]), s2], {
        Tidx: attr.type('DT_INT32'),
      });
      return b.op('RealDiv', 'y', [sub, std]);
    },
  },
  {
    name: 'binary ops against [C], [1,1,C] and scalar constants',
    build: (b, x) => [
      b.op('AddV2', 'add', [x, b.random('c1', [5], 71)]),
      b.op('Sub', 'sub', [b.random('c2', [1, 1, 5], 72), x]),
      b.op('Mul', 'mul', [x, b.const('c3', [1.5], [])]),
      b.op('RealDiv', 'div', [x, b.const('c4', [1, 2, 3, 4, 5], [5])]),
      b.op('Maximum', 'max', [x, b.const('c5', [0.1], [])]),
      b.op('Minimum', 'min', [x, b.random('c6', [1, 9, 5], 73)]),
      b.op('SquaredDifference', 'sqd', [x, b.random('c7', [5], 74)]),
      b.op('BiasAdd', 'bias', [x, b.random('c8', [5], 75)], { data_format: attr.s('NHWC') }),
      b.op('Add', 'add1', [x, x]),
    ],
  },
  {
    name: 'unary ops: Relu, Relu6, Elu, Selu, LeakyRelu, Tanh, Sigmoid, Softplus, Neg, Abs, Exp, Square, Rsqrt',
    build: (b, x) => {
      const pos = b.op('Add', 'pos', [b.op('Abs', 'abs0', [x]), b.const('one', [1], [])]);
      return [
        b.op('Relu', 'relu', [x]),
        b.op('Relu6', 'relu6', [b.op('Mul', 'x8', [x, b.const('eight', [8], [])])]),
        b.op('Elu', 'elu', [x]),
        b.op('Selu', 'selu', [x]),
        b.op('LeakyRelu', 'lrelu', [x], { alpha: attr.f(0.1) }),
        b.op('Tanh', 'tanh', [x]),
        b.op('Sigmoid', 'sigmoid', [x]),
        b.op('Softplus', 'softplus', [x]),
        b.op('Neg', 'neg', [x]),
        b.op('Exp', 'exp', [x]),
        b.op('Square', 'square', [x]),
        b.op('Rsqrt', 'rsqrt', [pos]),
        b.op('Sqrt', 'sqrt', [pos]),
        b.op('Log', 'log', [pos]),
      ];
    },
  },
  {
    name: 'FusedBatchNormV3 after Conv2D',
    build: (b, x) => {
      const c = b.op('Conv2D', 'conv', [x, b.random('w', [1, 1, 5, 4], 81)], conv(1, 'SAME'));
      const rng = (n: string, s: number, lo: number) =>
        b.const(
          n,
          randomData([4], s).map((v) => lo + Math.abs(v)),
          [4],
        );
      return b.op(
        'FusedBatchNormV3',
        'y',
        [c, rng('g', 82, 0.5), b.random('beta', [4], 83), b.random('mean', [4], 84), rng('var', 85, 0.2)],
        {
          epsilon: attr.f(0.001),
          data_format: attr.s('NHWC'),
          is_training: attr.b(false),
        },
      );
    },
    expectOps: ['BatchNormalization'],
  },
  {
    name: 'ConcatV2 of two convolutions along channels, Squeeze/ExpandDims',
    build: (b, x) => {
      const c1 = b.op('Conv2D', 'c1', [x, b.random('w1', [1, 1, 5, 3], 91)], conv(1, 'SAME'));
      const c2 = b.op('Conv2D', 'c2', [x, b.random('w2', [3, 3, 5, 2], 92)], conv(1, 'SAME'));
      const cat = b.op('ConcatV2', 'cat', [c1, c2, b.const('axis', [-1], [], 'int32')], { N: attr.i(2) });
      const m = b.op('Mean', 'm', [cat, b.const('axes', [1, 2], [2], 'int32')], { keep_dims: attr.b(true) });
      const sq = b.op('Squeeze', 'sq', [m], { squeeze_dims: attr.ints([1, 2]) });
      const ex = b.op('ExpandDims', 'ex', [sq, b.const('d', [1], [], 'int32')]);
      return [cat, ex];
    },
  },
  {
    name: 'Transpose to NCHW and back, Reshape (flatten) after a convolution',
    build: (b, x) => {
      const c = b.op('Conv2D', 'conv', [x, b.random('w', [3, 3, 5, 4], 101)], conv(2, 'SAME'));
      const t = b.op('Transpose', 't', [c, b.const('perm', [0, 3, 1, 2], [4], 'int32')]);
      const f = b.op('Reshape', 'flat', [c, b.const('shape', [2, -1], [2], 'int32')]);
      const f2 = b.op('Reshape', 'flat_nchw', [t, b.const('shape2', [-1, 4 * 4 * 5], [2], 'int32')]);
      return [t, f, f2];
    },
  },
  {
    name: 'StridedSlice of channels and rows, Slice, AddN, Identity',
    build: (b, x) => {
      const ss = b.op(
        'StridedSlice',
        'ss',
        [
          x,
          b.const('b', [0, 1, 0, 1], [4], 'int32'),
          b.const('e', [0, 6, 0, 4], [4], 'int32'),
          b.const('s', [1, 2, 1, 1], [4], 'int32'),
        ],
        {
          begin_mask: attr.i(5),
          end_mask: attr.i(5),
          shrink_axis_mask: attr.i(0),
          ellipsis_mask: attr.i(0),
          new_axis_mask: attr.i(0),
        },
      );
      const sh = b.op(
        'StridedSlice',
        'shrink',
        [
          x,
          b.const('b2', [0, 0, 0, 2], [4], 'int32'),
          b.const('e2', [0, 0, 0, 3], [4], 'int32'),
          b.const('s2', [1, 1, 1, 1], [4], 'int32'),
        ],
        {
          begin_mask: attr.i(7),
          end_mask: attr.i(7),
          shrink_axis_mask: attr.i(8),
          ellipsis_mask: attr.i(0),
          new_axis_mask: attr.i(0),
        },
      );
      const sl = b.op('Slice', 'slice', [
        x,
        b.const('sb', [0, 2, 3, 0], [4], 'int32'),
        b.const('sz', [-1, 3, -1, 2], [4], 'int32'),
      ]);
      const an = b.op('AddN', 'addn', [x, x, x], { N: attr.i(3) });
      return [ss, sh, sl, b.op('Identity', 'id', [an])];
    },
  },
];

for (const c of CASES) {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    test(`graph op parity (${layout} input): ${c.name}`, async () => {
      const b = new GraphModelBuilder();
      const inShape = c.input ?? [2, 8, 9, 5];
      const x = b.placeholder('x', inShape);
      const outs = [c.build(b, x)].flat();
      const { modelJson, readFile } = b.build();
      const feedShape = c.feedShape ?? inShape;
      const feeds = { x: { data: randomData(feedShape, 1234, 2), shape: feedShape } };
      const expected = await tfjsGraphPredict(modelJson, readFile, feeds, outs);
      const model = await importTfjsGraphModel(modelJson, readFile, { ...c.opts, inputLayout: layout, outputs: outs });
      for (const op of c.expectOps ?? []) {
        assert.ok(
          model.graph.nodes.some((n) => n.opType === op),
          `expected an ONNX ${op} node, got ${[...new Set(model.graph.nodes.map((n) => n.opType))].join(', ')}`,
        );
      }
      const actual = await onnxPredict(model, feeds);
      outs.forEach((o, i) => assertClose(actual[o], expected[i]!, TOL, o));
    });
  }
}

for (const opset of [15, 18, 21]) {
  test(`graph import: opset ${opset} output runs and matches (reductions take axes as ${opset >= 18 ? 'inputs' : 'attributes'})`, async () => {
    const b = new GraphModelBuilder();
    const x = b.placeholder('x', [2, 8, 9, 5]);
    const m = b.op('Mean', 'mean', [x, b.const('a1', [1, 2], [2], 'int32')], { keep_dims: attr.b(false) });
    const mx = b.op('Max', 'max', [x, b.const('a2', [3], [1], 'int32')], { keep_dims: attr.b(true) });
    const p = b.op('Pad', 'pad', [mx, b.const('pads', [0, 0, 1, 0, 0, 2, 0, 0], [4, 2], 'int32')]);
    const sq = b.op(
      'Squeeze',
      'sq',
      [b.op('Sum', 'sum', [p, b.const('a3', [1], [1], 'int32')], { keep_dims: attr.b(true) })],
      {
        squeeze_dims: attr.ints([1]),
      },
    );
    const { modelJson, readFile } = b.build();
    const feeds = { x: { data: randomData([2, 8, 9, 5], 77, 2), shape: [2, 8, 9, 5] } };
    const outs = [m, sq];
    const expected = await tfjsGraphPredict(modelJson, readFile, feeds, outs);
    const model = await importTfjsGraphModel(modelJson, readFile, { opset, outputs: outs });
    assert.equal(model.opset, opset);
    const actual = await onnxPredict(model, feeds);
    outs.forEach((o, i) => assertClose(actual[o], expected[i]!, TOL, o));
  });
}

test('graph import: NCHW input shape, TF node names kept as ONNX value and node names, metadata', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('image', [-1, -1, -1, 3]);
  const c = b.op('Conv2D', 'block/conv', [x, b.random('block/kernel', [3, 3, 3, 8], 1)], conv(2, 'SAME'));
  const m = b.op('Mean', 'block/pool/Mean', [c, b.const('axes', [1, 2], [2], 'int32')], { keep_dims: attr.b(false) });
  b.op('Softmax', 'probs', [m]);
  const { modelJson, readFile } = b.build();
  const model = await importTfjsGraphModel(modelJson, readFile, { inputSize: [32, 32] });
  assert.deepEqual(
    model.graph.inputs.map((i) => [i.name, i.shape]),
    [['image', ['N', 3, 32, 32]]],
  );
  assert.deepEqual(
    model.graph.outputs.map((o) => [o.name, o.shape]),
    [['probs', ['N', 8]]],
  );
  const conv2d = model.graph.nodes.find((n) => n.opType === 'Conv')!;
  assert.equal(conv2d.name, 'block/conv');
  assert.deepEqual(conv2d.outputs, ['block/conv']);
  assert.deepEqual(conv2d.intsAttr('pads'), [0, 0, 1, 1]);
  assert.deepEqual(model.graph.initializers.get('block/kernel')!.dims, [8, 3, 3, 3]);
  assert.deepEqual(model.graph.valueInfo.get('block/pool/Mean')?.shape, ['N', 8]);
  assert.equal(model.metadata.get('graft.import.format'), 'tfjs-graph-model');
  assert.equal(model.metadata.get('graft.import.sourceLayout'), 'NHWC');
  assert.equal(model.metadata.get('graft.import.inputLayout'), 'NCHW');

  const nhwc = await importTfjsGraphModel(modelJson, readFile, { inputSize: [32, 32], inputLayout: 'NHWC' });
  assert.deepEqual(nhwc.graph.inputs[0]!.shape, ['N', 32, 32, 3]);
  assert.equal(nhwc.graph.nodes[0]!.opType, 'Transpose');
  assert.deepEqual(nhwc.graph.nodes[0]!.inputs, ['image']);
});

test('graph import: rank-4 outputs come out NCHW (or NHWC with an NHWC input) under their TF names', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('x', [1, 6, 6, 2]);
  b.op('Conv2D', 'features', [x, b.random('w', [3, 3, 2, 4], 3)], conv(1, 'SAME'));
  const { modelJson, readFile } = b.build();
  const nchw = await importTfjsGraphModel(modelJson, readFile);
  assert.deepEqual(
    nchw.graph.outputs.map((o) => [o.name, o.shape]),
    [['features', [1, 4, 6, 6]]],
  );
  const nhwc = await importTfjsGraphModel(modelJson, readFile, { inputLayout: 'NHWC' });
  assert.deepEqual(
    nhwc.graph.outputs.map((o) => [o.name, o.shape]),
    [['features', [1, 6, 6, 4]]],
  );
  assert.equal(nhwc.graph.nodes.find((n) => n.opType === 'Conv')!.outputs[0], 'features/nchw');
});

test('graph import: unsupported ops fail up front, naming every op and node and listing what is supported', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('x', [1, 4, 4, 3]);
  const r = b.op('ResizeBilinear', 'up', [x, b.const('size', [8, 8], [2], 'int32')]);
  b.op('Cumsum', 'cs', [r, b.const('axis', [1], [], 'int32')]);
  const { modelJson, readFile } = b.build();
  await assert.rejects(importTfjsGraphModel(modelJson, readFile), (e: unknown) => {
    assert.ok(e instanceof GraftError);
    assert.equal(e.code, 'UNSUPPORTED_OP');
    assert.equal(e.fields.op, 'ResizeBilinear');
    assert.equal(e.fields.node, 'up');
    assert.match(e.message, /Cumsum \(1 node, e\.g\. 'cs'\)/);
    assert.ok(e.fields.choices?.includes('_FusedConv2D'));
    assert.ok(e.fields.choices?.includes('FusedDepthwiseConv2dNative'));
    return true;
  });
});

test('graph import: a missing weight shard is an IO error naming the file', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('x', [1, 4, 4, 3]);
  b.op('Conv2D', 'y', [x, b.random('w', [1, 1, 3, 2], 1)], conv(1, 'SAME'));
  const { modelJson } = b.build();
  await assert.rejects(
    importTfjsGraphModel(modelJson, async () => {
      throw new Error('ENOENT');
    }),
    (e: unknown) => e instanceof GraftError && e.code === 'IO' && e.fields.file === 'w.bin',
  );
});
