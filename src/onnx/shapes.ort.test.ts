// Shape inference checked against what onnxruntime actually produces: every row is a one-node graph,
// inferred statically, then run; the output dims and element types must match exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, type HostTensor } from '../runtime/session.js';
import type { AttrInput } from './attrs.js';
import { GraphBuilder } from './builder.js';
import type { DType, TypedArray } from './dtype.js';
import { inferShapes } from './shapes.js';
import { Tensor } from './tensor.js';
import { hashUniform } from './test-utils/det-random.js';

interface In {
  shape: number[];
  dtype?: DType;
  /** a constant (initializer) rather than a fed input */
  value?: number[];
}
interface Case {
  name: string;
  op: string;
  inputs: (In | null)[];
  attrs?: Record<string, AttrInput>;
  outputs?: number;
  opset?: number;
}

const f = (...shape: number[]): In => ({ shape });
const b = (...shape: number[]): In => ({ shape, dtype: 'bool' });
const i64 = (value: number[], shape = [value.length]): In => ({ shape, value, dtype: 'int64' });
const cf = (value: number[], shape = [value.length]): In => ({ shape, value, dtype: 'float32' });

const CASES: Case[] = [
  // elementwise, numpy broadcasting
  { name: 'Add rank-extending broadcast', op: 'Add', inputs: [f(2, 3, 4), f(4)] },
  { name: 'Sub both sides broadcast', op: 'Sub', inputs: [f(2, 1, 4), f(3, 1)] },
  { name: 'Mul with [1]', op: 'Mul', inputs: [f(1), f(5, 1, 1)] },
  { name: 'Div same shapes', op: 'Div', inputs: [f(2, 3), f(2, 3)] },
  { name: 'Pow scalar exponent', op: 'Pow', inputs: [f(2, 3), cf([2], [])] },
  ...['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg', 'Erf', 'HardSigmoid', 'HardSwish'].map((op): Case => ({
    name: op,
    op,
    inputs: [f(2, 3, 5)],
  })),
  { name: 'LeakyRelu', op: 'LeakyRelu', inputs: [f(4, 1)], attrs: { alpha: 0.1 } },
  { name: 'Clip with scalar bounds', op: 'Clip', inputs: [f(2, 7), cf([0], []), cf([6], [])] },
  { name: 'Clip without max', op: 'Clip', inputs: [f(2, 7), cf([0], []), null] },
  { name: 'Cast to int64', op: 'Cast', inputs: [f(3, 2)], attrs: { to: 7 } },
  { name: 'Cast to bool', op: 'Cast', inputs: [f(3)], attrs: { to: 9 } },
  { name: 'Where three-way broadcast', op: 'Where', inputs: [b(3, 1), f(1, 4), f(2, 3, 1)] },
  { name: 'Equal', op: 'Equal', inputs: [f(2, 3), f(3)] },
  { name: 'Less', op: 'Less', inputs: [f(2, 1), f(1, 3)] },
  { name: 'Greater', op: 'Greater', inputs: [f(4), f(2, 1)] },
  { name: 'Not', op: 'Not', inputs: [b(2, 2)] },
  { name: 'Sum of three', op: 'Sum', inputs: [f(3, 1), f(1, 4), f(2, 1, 1)] },
  { name: 'Max of two', op: 'Max', inputs: [f(3, 1), f(4)] },
  { name: 'PRelu channel slope', op: 'PRelu', inputs: [f(2, 3, 4, 4), cf([0.1, 0.2, 0.3], [3, 1, 1])] },

  // Gemm and MatMul
  { name: 'Gemm transB with bias', op: 'Gemm', inputs: [f(3, 4), f(5, 4), f(5)], attrs: { transB: 1 } },
  { name: 'Gemm transA, column bias', op: 'Gemm', inputs: [f(4, 3), f(4, 6), f(3, 1)], attrs: { transA: 1 } },
  { name: 'Gemm no C', op: 'Gemm', inputs: [f(2, 3), f(3, 7)] },
  { name: 'MatMul batched @ matrix', op: 'MatMul', inputs: [f(2, 3, 4), f(4, 5)] },
  { name: 'MatMul vector @ batch', op: 'MatMul', inputs: [f(4), f(2, 4, 5)] },
  { name: 'MatMul batch broadcast', op: 'MatMul', inputs: [f(2, 1, 3, 4), f(5, 4, 6)] },
  { name: 'MatMul batch @ vector', op: 'MatMul', inputs: [f(2, 3, 4), f(4)] },
  { name: 'MatMul vector @ vector', op: 'MatMul', inputs: [f(3), f(3)] },

  // convolution and pooling
  {
    name: 'Conv pads strides bias',
    op: 'Conv',
    inputs: [f(1, 3, 9, 9), f(8, 3, 3, 3), f(8)],
    attrs: { pads: [1, 1, 1, 1], strides: [2, 2] },
  },
  { name: 'Conv dilations', op: 'Conv', inputs: [f(2, 3, 11, 10), f(4, 3, 3, 2)], attrs: { dilations: [2, 3] } },
  {
    name: 'Conv depthwise SAME_UPPER stride 2',
    op: 'Conv',
    inputs: [f(1, 4, 10, 11), f(4, 1, 3, 3)],
    attrs: { group: 4, auto_pad: 'SAME_UPPER', strides: [2, 2] },
  },
  {
    name: 'Conv grouped SAME_LOWER',
    op: 'Conv',
    inputs: [f(1, 4, 7, 7), f(6, 2, 2, 2)],
    attrs: { group: 2, auto_pad: 'SAME_LOWER' },
  },
  {
    name: 'Conv VALID stride 3',
    op: 'Conv',
    inputs: [f(1, 2, 10, 8), f(3, 2, 3, 3)],
    attrs: { auto_pad: 'VALID', strides: [3, 3] },
  },
  { name: 'Conv 1-D asymmetric pads', op: 'Conv', inputs: [f(2, 2, 10), f(3, 2, 4)], attrs: { pads: [0, 2] } },
  { name: 'Conv 3-D', op: 'Conv', inputs: [f(1, 1, 5, 6, 7), f(2, 1, 3, 3, 3)], attrs: { strides: [1, 2, 2] } },
  {
    name: 'ConvTranspose strides pads output_padding',
    op: 'ConvTranspose',
    inputs: [f(1, 4, 5, 5), f(4, 2, 3, 3)],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
  },
  {
    name: 'ConvTranspose groups dilations',
    op: 'ConvTranspose',
    inputs: [f(2, 4, 3, 4), f(4, 3, 2, 2), f(6)],
    attrs: { group: 2, dilations: [2, 1] },
  },
  {
    name: 'ConvTranspose output_shape',
    op: 'ConvTranspose',
    inputs: [f(1, 2, 4, 4), f(2, 1, 3, 3)],
    attrs: { strides: [2, 2], output_shape: [8, 9] },
  },
  {
    name: 'ConvTranspose SAME_UPPER',
    op: 'ConvTranspose',
    inputs: [f(1, 2, 5, 3), f(2, 3, 3, 3)],
    attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' },
  },
  { name: 'MaxPool k3 s2', op: 'MaxPool', inputs: [f(1, 2, 9, 9)], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
  {
    name: 'MaxPool ceil_mode pads',
    op: 'MaxPool',
    inputs: [f(1, 2, 10, 10)],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  },
  {
    name: 'MaxPool ceil_mode, a window starting in the end padding is dropped',
    op: 'MaxPool',
    inputs: [f(1, 1, 5, 6)],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
  },
  {
    name: 'MaxPool with indices',
    op: 'MaxPool',
    inputs: [f(2, 3, 8, 8)],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    outputs: 2,
  },
  {
    name: 'MaxPool dilations',
    op: 'MaxPool',
    inputs: [f(1, 1, 12, 12)],
    attrs: { kernel_shape: [3, 3], dilations: [2, 2] },
  },
  {
    name: 'AveragePool ceil_mode',
    op: 'AveragePool',
    inputs: [f(1, 1, 7, 7)],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 },
  },
  {
    name: 'AveragePool SAME_LOWER',
    op: 'AveragePool',
    inputs: [f(1, 3, 7, 5)],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_LOWER' },
  },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', inputs: [f(2, 3, 5, 7)] },

  // normalisation
  {
    name: 'BatchNormalization',
    op: 'BatchNormalization',
    inputs: [f(2, 3, 4, 4), cf([1, 1, 1]), cf([0, 0, 0]), cf([0, 0, 0]), cf([1, 1, 1])],
  },
  {
    name: 'LayerNormalization with statistics',
    op: 'LayerNormalization',
    inputs: [f(2, 3, 4), cf([1, 1, 1, 1]), cf([0, 0, 0, 0])],
    attrs: { axis: -1 },
    outputs: 3,
  },
  {
    name: 'LayerNormalization over two axes',
    op: 'LayerNormalization',
    inputs: [f(2, 3, 4), f(3, 4)],
    attrs: { axis: 1 },
    outputs: 3,
  },
  { name: 'Softmax', op: 'Softmax', inputs: [f(2, 5)], attrs: { axis: 1 } },
  { name: 'LogSoftmax', op: 'LogSoftmax', inputs: [f(2, 3, 5)] },

  // layout
  { name: 'Reshape 0 and -1', op: 'Reshape', inputs: [f(2, 3, 4), i64([0, -1])] },
  { name: 'Reshape 0 in the middle', op: 'Reshape', inputs: [f(2, 3, 4), i64([4, 0, -1])] },
  { name: 'Reshape full', op: 'Reshape', inputs: [f(6, 4), i64([2, 2, 3, 2])] },
  { name: 'Flatten axis 2', op: 'Flatten', inputs: [f(2, 3, 4, 5)], attrs: { axis: 2 } },
  { name: 'Flatten axis 0', op: 'Flatten', inputs: [f(2, 3, 4)], attrs: { axis: 0 } },
  { name: 'Flatten axis -1', op: 'Flatten', inputs: [f(2, 3, 4)], attrs: { axis: -1 } },
  { name: 'Transpose perm', op: 'Transpose', inputs: [f(2, 3, 4)], attrs: { perm: [2, 0, 1] } },
  { name: 'Transpose default', op: 'Transpose', inputs: [f(2, 3, 4)] },
  { name: 'Squeeze attr axes (opset 11)', op: 'Squeeze', inputs: [f(2, 1, 3, 1)], attrs: { axes: [1] }, opset: 11 },
  { name: 'Squeeze input axes (opset 13)', op: 'Squeeze', inputs: [f(2, 1, 3, 1), i64([-1, 1])] },
  { name: 'Squeeze all ones', op: 'Squeeze', inputs: [f(1, 3, 1)] },
  { name: 'Unsqueeze attr axes (opset 11)', op: 'Unsqueeze', inputs: [f(2, 3)], attrs: { axes: [0, 3] }, opset: 11 },
  { name: 'Unsqueeze input axes (opset 13)', op: 'Unsqueeze', inputs: [f(2, 3), i64([-1, 1])] },
  { name: 'Concat axis 1', op: 'Concat', inputs: [f(2, 3), f(2, 5), f(2, 1)], attrs: { axis: 1 } },
  { name: 'Concat axis -3', op: 'Concat', inputs: [f(1, 2, 3), f(4, 2, 3)], attrs: { axis: -3 } },
  { name: 'Slice steps', op: 'Slice', inputs: [f(4, 10), i64([1]), i64([1000]), i64([1]), i64([2])] },
  {
    name: 'Slice negative step',
    op: 'Slice',
    inputs: [f(4, 10), i64([-1, 8]), i64([-1000, 1]), i64([0, 1]), i64([-1, -3])],
  },
  { name: 'Slice no axes', op: 'Slice', inputs: [f(5, 6), i64([1, -4]), i64([-1, 100])] },
  { name: 'Slice empty', op: 'Slice', inputs: [f(5, 6), i64([3]), i64([2]), i64([0])] },
  {
    name: 'Slice attrs (opset 9)',
    op: 'Slice',
    inputs: [f(5, 6)],
    attrs: { starts: [1], ends: [3], axes: [1] },
    opset: 9,
  },
  { name: 'Gather matrix indices', op: 'Gather', inputs: [f(3, 4, 5), i64([0, 2, 1, -1], [2, 2])], attrs: { axis: 1 } },
  { name: 'Gather scalar index', op: 'Gather', inputs: [f(3, 4), i64([2], [])] },
  { name: 'Shape', op: 'Shape', inputs: [f(2, 3, 4)] },
  { name: 'Shape start/end (opset 15)', op: 'Shape', inputs: [f(2, 3, 4, 5)], attrs: { start: 1, end: -1 } },
  { name: 'Expand bidirectional', op: 'Expand', inputs: [f(3, 1), i64([2, 1, 4])] },
  { name: 'Pad input pads', op: 'Pad', inputs: [f(2, 3), i64([0, 1, 0, 2])] },
  { name: 'Pad negative pads', op: 'Pad', inputs: [f(4, 5), i64([-1, 0, 0, -2])] },
  { name: 'Pad axes (opset 18)', op: 'Pad', inputs: [f(2, 3, 4), i64([1, 2]), null, i64([-1])], opset: 18 },
  { name: 'Pad attr pads (opset 2)', op: 'Pad', inputs: [f(2, 3)], attrs: { pads: [1, 1, 1, 1] }, opset: 2 },
  { name: 'Tile', op: 'Tile', inputs: [f(2, 3), i64([2, 3])] },
  { name: 'Split sizes input', op: 'Split', inputs: [f(2, 5), i64([2, 3])], attrs: { axis: 1 }, outputs: 2 },
  { name: 'Split equal', op: 'Split', inputs: [f(4, 6)], outputs: 2 },
  { name: 'Split attr (opset 11)', op: 'Split', inputs: [f(6, 2)], attrs: { split: [1, 5] }, outputs: 2, opset: 11 },
  {
    name: 'Split num_outputs uneven (opset 18)',
    op: 'Split',
    inputs: [f(7, 2)],
    attrs: { num_outputs: 3 },
    outputs: 3,
    opset: 18,
  },
  { name: 'Resize scales', op: 'Resize', inputs: [f(1, 1, 3, 5), null, cf([1, 1, 2, 1.5])] },
  { name: 'Resize sizes', op: 'Resize', inputs: [f(1, 2, 3, 5), null, null, i64([1, 2, 7, 4])] },

  // reductions
  {
    name: 'ReduceMean attr axes keepdims 0',
    op: 'ReduceMean',
    inputs: [f(2, 3, 4)],
    attrs: { axes: [1], keepdims: 0 },
    opset: 13,
  },
  { name: 'ReduceSum input axes (opset 13)', op: 'ReduceSum', inputs: [f(2, 3, 4), i64([0, -1])], opset: 13 },
  { name: 'ReduceMax all, keepdims 0', op: 'ReduceMax', inputs: [f(2, 3, 4)], attrs: { keepdims: 0 } },
  { name: 'ReduceMean input axes (opset 18)', op: 'ReduceMean', inputs: [f(2, 3, 4), i64([1])], opset: 18 },
  {
    name: 'ReduceSum noop_with_empty_axes',
    op: 'ReduceSum',
    inputs: [f(2, 3)],
    attrs: { noop_with_empty_axes: 1 },
    opset: 13,
  },
  { name: 'ArgMax keepdims 0', op: 'ArgMax', inputs: [f(2, 3, 4)], attrs: { axis: 1, keepdims: 0 } },
  { name: 'ArgMax default', op: 'ArgMax', inputs: [f(2, 3, 4)] },

  // generators and misc
  { name: 'Dropout with mask', op: 'Dropout', inputs: [f(3, 4)], outputs: 2 },
  { name: 'Identity', op: 'Identity', inputs: [f(3, 1, 2)] },
  {
    name: 'OneHot axis -1',
    op: 'OneHot',
    inputs: [i64([0, 1, 2, 4, 3, 0], [2, 3]), i64([5], []), cf([0, 1])],
  },
  {
    name: 'OneHot axis 1',
    op: 'OneHot',
    inputs: [i64([0, 1, 2, 4, 3, 0], [2, 3]), i64([5], [1]), cf([0, 1])],
    attrs: { axis: 1 },
  },
  { name: 'Range int64', op: 'Range', inputs: [i64([1], []), i64([10], []), i64([3], [])] },
  { name: 'Range float descending', op: 'Range', inputs: [cf([2], []), cf([-1.5], []), cf([-0.5], [])] },
  { name: 'ConstantOfShape', op: 'ConstantOfShape', inputs: [i64([2, 3])] },
];

function feed(shape: number[], dtype: DType, seed: string): HostTensor {
  const n = shape.reduce((a, c) => a * c, 1);
  const u = hashUniform(seed, n, 1, 0.9); // positive, so Log/Sqrt stay finite
  let data: TypedArray = u;
  if (dtype === 'bool') data = Uint8Array.from(u, (v) => (v > 1 ? 1 : 0));
  else if (dtype !== 'float32') throw new Error(`no feed for ${dtype}`);
  return { dtype, dims: shape, data };
}

async function runCase(c: Case): Promise<void> {
  const gb = new GraphBuilder(c.name.replace(/\W+/g, '_'));
  const feeds: Record<string, HostTensor> = {};
  const names = c.inputs.map((inp, i) => {
    if (!inp) return '';
    const dtype = inp.dtype ?? 'float32';
    const name = `in${i}`;
    if (inp.value) {
      const data = dtype === 'int64' ? BigInt64Array.from(inp.value, (v) => BigInt(v)) : Float32Array.from(inp.value);
      return gb.initializer(name, data, inp.shape, dtype);
    }
    feeds[name] = feed(inp.shape, dtype, `${c.name}/${i}`);
    return gb.input(name, dtype, inp.shape);
  });
  const outs = gb.opN(c.op, names, c.attrs, { outputs: c.outputs ?? 1 });
  for (const o of outs) gb.output(o);
  const model = gb.build({ opset: c.opset ?? 17 });
  inferShapes(model);
  const inferred = model.graph.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape }));
  // onnxruntime needs output types; shapes are left out so it reports what it really computes
  for (const o of model.graph.outputs) o.shape = undefined;
  const s = await Session.create(model);
  try {
    const got = await s.run(feeds);
    outs.forEach((o, k) => {
      assert.deepEqual(inferred[k]!.shape, [...got[o]!.dims], `${c.name}: output #${k} dims`);
      assert.equal(inferred[k]!.dtype, got[o]!.dtype, `${c.name}: output #${k} dtype`);
    });
  } finally {
    await s.dispose();
  }
}

for (const c of CASES) {
  test(`shape of ${c.op}: ${c.name} matches onnxruntime`, () => runCase(c));
}

test('Constant outputs (tensor, value_ints, value_float) match onnxruntime', async () => {
  const cases: Record<string, AttrInput>[] = [
    { value: Tensor.from('v', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) },
    { value_ints: [1, 2, 3] },
    { value_float: 0.5 },
  ];
  for (const attrs of cases) {
    const gb = new GraphBuilder('const');
    gb.output(gb.op('Identity', [gb.op('Constant', [], attrs)], undefined, { outputs: ['y'] }));
    const model = inferShapes(gb.build({ opset: 17 }));
    const out = model.graph.outputs[0]!;
    const inferred = { dtype: out.dtype, shape: out.shape };
    out.shape = undefined;
    const s = await Session.create(model);
    const got = (await s.run({})).y!;
    await s.dispose();
    assert.deepEqual(inferred.shape, [...got.dims], Object.keys(attrs)[0]);
    assert.equal(inferred.dtype, got.dtype, Object.keys(attrs)[0]);
  }
});
