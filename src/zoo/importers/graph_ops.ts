import { GraftError } from '../../errors.js';
import { konstNumbers, symOf, type Activation, type Emitter, type Padding, type TfValue } from './emitter.js';
import { tfDType, type NodeView } from './graphdef.js';
import * as math from './ops_math.js';
import * as index from './ops_index.js';
import * as nn from './ops_nn.js';
import * as shape from './ops_shape.js';

/** What an op converter sees: the node, its data inputs (already converted) and the emitter. */
export interface OpContext {
  node: NodeView;
  /** name of the op's first output (the TF node name) */
  name: string;
  em: Emitter;
  inputs: TfValue[];
}

type OpConverter = (c: OpContext) => TfValue | TfValue[];

function input(c: OpContext, i: number): TfValue {
  const v = c.inputs[i];
  if (!v) {
    throw new GraftError('BAD_MODEL', `Node is missing input #${i}`, {
      node: c.name,
      op: c.node.op,
      inputIndex: i,
      fix: 'the model graph is malformed; re-convert it',
    });
  }
  return v;
}

/** An input that must be known when importing (axes, paddings, shapes). */
function constInts(c: OpContext, i: number, what: string): number[] {
  const v = input(c, i);
  const nums = konstNumbers(v);
  if (!nums) {
    throw new GraftError('UNSUPPORTED_OP', `${c.node.op} needs constant ${what}`, {
      node: c.name,
      op: c.node.op,
      inputIndex: i,
      expected: `${what} known when importing (a Const node)`,
      found: `'${v.name}', computed at run time`,
      fix: 'export the model with static shapes, or pass inputSize to the importer',
    });
  }
  return nums;
}

function requireNhwc(c: OpContext): void {
  const f = c.node.str('data_format', 'NHWC');
  if (f !== 'NHWC') {
    throw new GraftError('UNSUPPORTED_OP', `${c.node.op} with data_format ${f} is not supported`, {
      node: c.name,
      op: c.node.op,
      expected: 'NHWC (what the TF.js converter writes)',
      found: f,
      fix: 'convert the model from a channels-last TensorFlow graph',
    });
  }
}

function padding(c: OpContext): Padding {
  const p = c.node.str('padding', 'VALID');
  if (p === 'SAME') return { kind: 'SAME' };
  if (p === 'VALID') return { kind: 'VALID' };
  if (p === 'EXPLICIT') {
    const e = c.node.ints('explicit_paddings', []);
    return { kind: 'EXPLICIT', pads: [e[2] ?? 0, e[3] ?? 0, e[4] ?? 0, e[5] ?? 0] };
  }
  throw new GraftError('UNSUPPORTED_OP', `Unknown padding '${p}'`, {
    node: c.name,
    op: c.node.op,
    choices: ['SAME', 'VALID', 'EXPLICIT'],
  });
}

function spatial(c: OpContext, key: string): [number, number] {
  const v = c.node.ints(key, [1, 1, 1, 1]);
  return [v[1] ?? 1, v[2] ?? 1];
}

/** The activation a TF.js fused op applies after its bias ('' when none). */
function fusedActivation(c: OpContext, name: string, extra: TfValue | undefined): Activation | undefined {
  switch (name.toLowerCase()) {
    case '':
    case 'linear':
      return undefined;
    case 'relu':
      return { kind: 'relu' };
    case 'relu6':
      return { kind: 'relu6' };
    case 'elu':
      return { kind: 'elu' };
    case 'sigmoid':
      return { kind: 'sigmoid' };
    case 'tanh':
      return { kind: 'tanh' };
    case 'leakyrelu':
      return { kind: 'leakyrelu', alpha: c.node.float('leakyrelu_alpha', 0.2) };
    case 'prelu':
      if (!extra)
        throw new GraftError('BAD_MODEL', 'Fused Prelu without its alpha input', { node: c.name, op: c.node.op });
      return { kind: 'prelu', alpha: extra };
    default:
      throw new GraftError('UNSUPPORTED_OP', `Fused activation '${name}' is not supported`, {
        node: c.name,
        op: c.node.op,
        found: name,
        choices: ['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Prelu'],
      });
  }
}

/** Bias and activation of a TF.js fused op (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul). */
function fusedParts(c: OpContext): { bias?: TfValue; act?: Activation } {
  const ops = c.node.strs('fused_ops');
  const args = c.inputs.slice(2);
  const first = (ops[0] ?? '').toLowerCase();
  if (first === 'fusedbatchnorm') {
    throw new GraftError('UNSUPPORTED_OP', `${c.node.op} with a fused FusedBatchNorm is not supported`, {
      node: c.name,
      op: c.node.op,
      found: `fused_ops [${ops.join(', ')}]`,
      fix: 'TF.js cannot run this form either; re-convert with the TF.js converter, which folds batch norms into BiasAdd',
    });
  }
  if (first === 'biasadd') return { bias: args[0], act: fusedActivation(c, ops[1] ?? '', args[1]) };
  if (first === '') return {};
  return { act: fusedActivation(c, ops[0]!, args[0]) };
}

function withActivation(c: OpContext, make: (name: string) => TfValue, act: Activation | undefined): TfValue {
  if (!act) return make(c.name);
  const pre = make(`${c.name}/BiasAdd`);
  return math.activation(c.em, pre, act, c.name);
}

function conv(depthwise: boolean, fused: boolean): OpConverter {
  return (c) => {
    requireNhwc(c);
    const { bias, act } = fused ? fusedParts(c) : {};
    return withActivation(
      c,
      (name) =>
        nn.conv2d(c.em, {
          x: input(c, 0),
          kernel: input(c, 1),
          bias,
          strides: spatial(c, 'strides'),
          dilations: spatial(c, 'dilations'),
          padding: padding(c),
          depthwise,
          name,
        }),
      act,
    );
  };
}

function matmul(fused: boolean): OpConverter {
  return (c) => {
    const { bias, act } = fused ? fusedParts(c) : {};
    const ta = c.node.bool('transpose_a', false) || c.node.bool('adj_x', false);
    const tb = c.node.bool('transpose_b', false) || c.node.bool('adj_y', false);
    return withActivation(c, (name) => nn.matmul(c.em, input(c, 0), input(c, 1), ta, tb, bias, name), act);
  };
}

function pool(kind: 'max' | 'avg'): OpConverter {
  return (c) => {
    requireNhwc(c);
    return nn.pool(c.em, kind, input(c, 0), spatial(c, 'ksize'), spatial(c, 'strides'), padding(c), c.name);
  };
}

function unary(op: string, attrs?: (c: OpContext) => Record<string, number>): OpConverter {
  return (c) => math.unary(c.em, op, input(c, 0), c.name, attrs?.(c));
}

function binary(op: string): OpConverter {
  return (c) => math.binary(c.em, op, input(c, 0), input(c, 1), c.name);
}

function reduce(kind: 'mean' | 'sum' | 'max' | 'min' | 'prod'): OpConverter {
  return (c) =>
    math.reduce(c.em, kind, input(c, 0), constInts(c, 1, 'reduction axes'), c.node.bool('keep_dims', false), c.name);
}

function batchNorm(c: OpContext): TfValue {
  requireNhwc(c);
  const [x, scale, offset, mean, variance] = [0, 1, 2, 3, 4].map((i) => input(c, i)) as TfValue[];
  return nn.batchNorm(c.em, x!, scale!, offset!, mean!, variance!, c.node.float('epsilon', 1e-3), c.name);
}

function passThrough(c: OpContext): TfValue {
  return math.identity(c.em, input(c, 0), c.name);
}

function concat(axisFirst: boolean): OpConverter {
  return (c) => {
    const n = c.inputs.length;
    const axisIndex = axisFirst ? 0 : n - 1;
    const values = axisFirst ? c.inputs.slice(1) : c.inputs.slice(0, n - 1);
    const axis = constInts(c, axisIndex, 'axis')[0]!;
    return shape.concat(c.em, values, axis, c.name);
  };
}

function pad(kind: 'Pad' | 'PadV2' | 'MirrorPad'): OpConverter {
  return (c) => {
    const flat = constInts(c, 1, 'paddings');
    const pairs: [number, number][] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    if (kind === 'MirrorPad') {
      const mode = c.node.str('mode', 'REFLECT');
      if (mode !== 'REFLECT') {
        throw new GraftError('UNSUPPORTED_OP', `MirrorPad mode ${mode} has no ONNX equivalent`, {
          node: c.name,
          op: c.node.op,
          expected: 'REFLECT',
          found: mode,
        });
      }
      return shape.pad(c.em, input(c, 0), pairs, 'reflect', 0, c.name);
    }
    const value = kind === 'PadV2' ? (konstNumbers(input(c, 2))?.[0] ?? 0) : 0;
    return shape.pad(c.em, input(c, 0), pairs, 'constant', value, c.name);
  };
}

function stridedSlice(c: OpContext): TfValue {
  if (c.node.int('ellipsis_mask', 0) || c.node.int('new_axis_mask', 0)) {
    throw new GraftError('UNSUPPORTED_OP', 'StridedSlice with ellipsis or new-axis masks is not supported', {
      node: c.name,
      op: c.node.op,
      fix: 'use Reshape/ExpandDims in the source model',
    });
  }
  return shape.stridedSlice(
    c.em,
    input(c, 0),
    constInts(c, 1, 'begin'),
    constInts(c, 2, 'end'),
    constInts(c, 3, 'strides'),
    { begin: c.node.int('begin_mask', 0), end: c.node.int('end_mask', 0), shrink: c.node.int('shrink_axis_mask', 0) },
    c.name,
  );
}

function slice(c: OpContext): TfValue {
  const begin = constInts(c, 1, 'begin');
  const size = constInts(c, 2, 'size');
  let endMask = 0;
  const end = begin.map((b, i) => {
    if (size[i] === -1) endMask |= 1 << i;
    return b + (size[i] ?? 0);
  });
  return shape.stridedSlice(
    c.em,
    input(c, 0),
    begin,
    end,
    begin.map(() => 1),
    { begin: 0, end: endMask, shrink: 0 },
    c.name,
  );
}

function reshape(c: OpContext): TfValue {
  const target = input(c, 1);
  return shape.reshape(c.em, input(c, 0), symOf(target) ?? target, c.name);
}

/** The TF ops the graph-model importer converts, by TF op name. */
export const GRAPH_OPS: Record<string, OpConverter> = {
  Identity: passThrough,
  StopGradient: passThrough,
  Snapshot: passThrough,
  PlaceholderWithDefault: passThrough,
  IdentityN: (c) => c.inputs.map((x, i) => math.identity(c.em, x, i === 0 ? c.name : `${c.name}:${i}`)),

  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  DepthwiseConv2d: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MatMul: matmul(false),
  _FusedMatMul: matmul(true),
  BatchMatMul: matmul(false),
  BatchMatMulV2: matmul(false),
  BiasAdd: (c) => {
    requireNhwc(c);
    return math.binary(c.em, 'Add', input(c, 0), input(c, 1), c.name);
  },
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  MaxPool: pool('max'),
  AvgPool: pool('avg'),

  Relu: unary('Relu'),
  Relu6: (c) => math.clip(c.em, input(c, 0), 0, 6, c.name),
  Elu: unary('Elu', () => ({ alpha: 1 })),
  Selu: unary('Selu'),
  LeakyRelu: unary('LeakyRelu', (c) => ({ alpha: c.node.float('alpha', 0.2) })),
  Prelu: (c) => math.binary(c.em, 'PRelu', input(c, 0), input(c, 1), c.name),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Softsign: unary('Softsign'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Rsqrt: (c) => math.unary(c.em, 'Reciprocal', math.unary(c.em, 'Sqrt', input(c, 0), `${c.name}/Sqrt`), c.name),
  Reciprocal: unary('Reciprocal'),
  Square: (c) => math.binary(c.em, 'Mul', input(c, 0), input(c, 0), c.name),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Round: unary('Round'),
  Erf: unary('Erf'),

  Add: binary('Add'),
  AddV2: binary('Add'),
  AddN: (c) => math.sum(c.em, c.inputs, c.name),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  FloorDiv: (c) =>
    math.unary(c.em, 'Floor', math.binary(c.em, 'Div', input(c, 0), input(c, 1), `${c.name}/Div`), c.name),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  SquaredDifference: (c) => {
    const d = math.binary(c.em, 'Sub', input(c, 0), input(c, 1), `${c.name}/Sub`);
    return math.binary(c.em, 'Mul', d, d, c.name);
  },

  Softmax: (c) => math.softmax(c.em, input(c, 0), -1, c.name),
  LogSoftmax: (c) => math.softmax(c.em, input(c, 0), -1, c.name, true),
  Mean: reduce('mean'),
  Sum: reduce('sum'),
  Max: reduce('max'),
  Min: reduce('min'),
  Prod: reduce('prod'),

  Reshape: reshape,
  Squeeze: (c) => shape.squeeze(c.em, input(c, 0), c.node.ints('squeeze_dims', c.node.ints('axis', [])), c.name),
  ExpandDims: (c) => shape.expandDims(c.em, input(c, 0), constInts(c, 1, 'axis')[0]!, c.name),
  Shape: (c) => shape.shapeOf(c.em, input(c, 0), tfDType(c.node.type('out_type') ?? 'DT_INT32', c.name), c.name),
  StridedSlice: stridedSlice,
  Slice: slice,
  Pack: (c) => shape.pack(c.em, c.inputs, c.node.int('axis', 0), c.name),
  ConcatV2: concat(false),
  Concat: concat(true),
  Pad: pad('Pad'),
  PadV2: pad('PadV2'),
  MirrorPad: pad('MirrorPad'),
  Transpose: (c) => shape.transpose(c.em, input(c, 0), constInts(c, 1, 'perm'), c.name),
  BroadcastTo: (c) => shape.broadcastTo(c.em, input(c, 0), input(c, 1), c.name),
  Cast: (c) => math.cast(c.em, input(c, 0), tfDType(c.node.type('DstT'), c.name), c.name),

  Sin: unary('Sin'),
  Cos: unary('Cos'),
  Less: compare('Less'),
  LessEqual: compare('LessOrEqual'),
  Greater: compare('Greater'),
  GreaterEqual: compare('GreaterOrEqual'),
  Equal: compare('Equal'),
  LogicalNot: (c) => math.unary(c.em, 'Not', input(c, 0), c.name),
  LogicalAnd: (c) => math.binary(c.em, 'And', input(c, 0), input(c, 1), c.name, 'bool'),
  LogicalOr: (c) => math.binary(c.em, 'Or', input(c, 0), input(c, 1), c.name, 'bool'),
  Where: (c) => {
    if (c.inputs.length !== 1) {
      throw new GraftError('UNSUPPORTED_OP', 'Where with three inputs (select) is not supported', {
        node: c.name,
        op: c.node.op,
        fix: 'use SelectV2, or Where with one input (the coordinates of true elements)',
      });
    }
    return index.where(c.em, input(c, 0), c.name);
  },
  GatherV2: (c) => {
    if (c.node.int('batch_dims', 0) !== 0) {
      throw new GraftError('UNSUPPORTED_OP', 'GatherV2 with batch_dims is not supported', {
        node: c.name,
        op: c.node.op,
        found: `batch_dims ${c.node.int('batch_dims', 0)}`,
      });
    }
    return index.gather(c.em, input(c, 0), input(c, 1), constInts(c, 2, 'axis')[0]!, c.name);
  },
  GatherNd: (c) => index.gatherNd(c.em, input(c, 0), input(c, 1), c.name),
  ScatterNd: (c) => index.scatterNd(c.em, input(c, 0), input(c, 1), input(c, 2), c.name),
  SparseToDense: (c) => index.sparseToDense(c.em, input(c, 0), input(c, 1), input(c, 2), input(c, 3), c.name),
  SplitV: (c) => index.splitV(c.em, input(c, 0), constInts(c, 1, 'split sizes'), constInts(c, 2, 'axis')[0]!, c.name),
  Range: (c) => index.rangeOf(c.em, input(c, 0), input(c, 1), input(c, 2), c.name),
};

/** A comparison: a bool tensor. */
function compare(op: string): OpConverter {
  return (c) => math.binary(c.em, op, input(c, 0), input(c, 1), c.name, 'bool');
}

/** Ops handled by the importer itself rather than the table. */
export const SOURCE_OPS = ['Const', 'Placeholder', 'NoOp'];

export function supportedGraphOps(): string[] {
  return [...SOURCE_OPS, ...Object.keys(GRAPH_OPS)].sort();
}
