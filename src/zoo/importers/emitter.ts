import { GraftError } from '../../errors.js';
import { toAttrs, type AttrInput } from '../../onnx/attrs.js';
import { checkGraph } from '../../onnx/check.js';
import type { DType } from '../../onnx/dtype.js';
import { Graph, Model, Node, type Dim } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import {
  NCHW,
  broadcastShapes,
  isIdentity,
  onnxAxis,
  permKey,
  permuteShape,
  range,
  reordersData,
  samePerm,
  transposeBetween,
  transposeHost,
  type Perm,
} from './layout.js';
import { sizeOf, type HostArray } from './types.js';

export type TfDType = 'float32' | 'int32' | 'int64' | 'bool';

/** A dimension known only at run time: dim `axis` (TF order) of value `of`. */
export interface SymDim {
  of: TfValue;
  axis: number;
}
export type SymInt = number | SymDim;

/**
 * A TF tensor as the importers see it: TF semantics (shape in TF order, channels last) plus where and how
 * it lives in the ONNX graph. Constants and shape arithmetic stay on the host until an op needs them as
 * data, so TF.js's Shape/StridedSlice/Pack chains fold into static Reshape targets.
 */
export interface TfValue {
  /** TF name, used for messages and to name what it becomes in ONNX */
  name: string;
  dtype: TfDType;
  /** static shape in TF order; -1 = unknown; undefined = rank unknown */
  shape?: number[];
  /** ONNX value holding it, once emitted */
  onnx?: string;
  /** layout of `onnx` (see layout.ts) */
  perm?: Perm;
  /** the value, when constant (TF layout) */
  konst?: HostArray;
  /** an integer vector (or scalar: one element, shape []) known element by element, e.g. a shape */
  sym?: SymInt[];
  /** BroadcastTo(base, target) kept unexpanded: binary ops broadcast anyway */
  broadcast?: { base: TfValue; target: SymInt[] };
}

export type Padding =
  { kind: 'SAME' } | { kind: 'VALID' } | { kind: 'EXPLICIT'; pads: [number, number, number, number] };

export type Activation =
  | { kind: 'relu' }
  | { kind: 'relu6' }
  | { kind: 'clip'; min: number; max: number }
  | { kind: 'elu'; alpha?: number }
  | { kind: 'selu' }
  | { kind: 'leakyrelu'; alpha: number }
  | { kind: 'prelu'; alpha: TfValue }
  | { kind: 'sigmoid' }
  | { kind: 'hard_sigmoid' }
  | { kind: 'tanh' }
  | { kind: 'swish' }
  | { kind: 'softplus' }
  | { kind: 'softsign' }
  | { kind: 'exp' }
  | { kind: 'softmax' };

const ONNX_DTYPE: Record<TfDType, DType> = { float32: 'float32', int32: 'int32', int64: 'int64', bool: 'bool' };

export function rankOf(v: TfValue): number | undefined {
  return v.shape?.length;
}

export function konstNumbers(v: TfValue): number[] | undefined {
  if (v.konst) return Array.from(v.konst.data as ArrayLike<number>);
  if (v.sym && v.sym.every((s) => typeof s === 'number')) return v.sym as number[];
  return undefined;
}

/** Writes ONNX nodes for TF-semantics ops, tracking each value's layout so the graph runs channels-first. */
export class Emitter {
  readonly graph: Graph;
  readonly opset: number;
  private valueNames = new Set<string>();
  private nodeNames = new Set<string>();
  private converted = new Map<TfValue, Map<string, string>>();

  constructor(graphName: string, opset: number) {
    this.graph = new Graph({ name: graphName });
    this.opset = opset;
  }

  // ---- naming and raw emission ----

  /** Reserves `want` as a value name, or a free name derived from it. */
  valueName(want: string): string {
    return reserve(this.valueNames, want);
  }

  emit(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrInput | undefined> | undefined,
    name: string,
    outputs: number | string[] = 1,
  ): string[] {
    const outs = Array.isArray(outputs)
      ? outputs.map((o) => this.valueName(o))
      : range(outputs).map((i) => this.valueName(i === 0 ? name : `${name}:${i}`));
    this.graph.nodes.push(
      new Node({
        name: reserve(this.nodeNames, name),
        opType: op,
        inputs: [...inputs],
        outputs: outs,
        attrs: toAttrs(attrs),
      }),
    );
    return outs;
  }

  emit1(op: string, inputs: readonly string[], attrs: Record<string, AttrInput | undefined> | undefined, name: string) {
    return this.emit(op, inputs, attrs, name)[0]!;
  }

  initializer(
    want: string,
    a: HostArray | { dtype: DType; shape: number[]; data: Float32Array | BigInt64Array },
  ): string {
    const name = this.valueName(want);
    const dtype = a.dtype === 'bool' ? 'bool' : (a.dtype as DType);
    this.graph.initializers.set(name, Tensor.from(name, a.data, a.shape, dtype));
    return name;
  }

  int64s(values: readonly number[], want: string): string {
    return this.initializer(want, {
      dtype: 'int64',
      shape: [values.length],
      data: BigInt64Array.from(values, (v) => BigInt(v)),
    });
  }

  scalarOf(value: number, dtype: TfDType, want: string): string {
    const data = dtype === 'int32' ? Int32Array.of(value) : Float32Array.of(value);
    return this.initializer(want, { dtype: dtype === 'int32' ? 'int32' : 'float32', shape: [], data });
  }

  /** Declares a produced value with its type and ONNX-order shape (useful to cut and graft later). */
  produced(v: TfValue): TfValue {
    if (v.onnx) {
      this.graph.valueInfo.set(v.onnx, {
        name: v.onnx,
        dtype: ONNX_DTYPE[v.dtype],
        shape: v.shape ? onnxDims(permuteShape(v.shape, v.perm)) : undefined,
      });
    }
    return v;
  }

  // ---- getting values in a layout ----

  /** The ONNX value of `v` in whatever layout it already has (emitting constants and folded shapes on demand). */
  value(v: TfValue): string {
    if (v.onnx) return v.onnx;
    if (v.broadcast) return this.expandBroadcast(v);
    if (v.konst) return this.get(v, undefined);
    if (v.sym) {
      v.onnx = this.symTensor(v);
      v.perm = undefined;
      return v.onnx;
    }
    throw new GraftError('BAD_MODEL', `Value '${v.name}' is used before anything produces it`, {
      value: v.name,
      fix: 'the model graph is malformed; re-convert it',
    });
  }

  /** The ONNX value of `v` held in layout `perm` (a Transpose is emitted once per value and layout). */
  get(v: TfValue, perm: Perm): string {
    if (v.konst) {
      const key = permKey(perm);
      const cache = this.cacheOf(v);
      const hit = cache.get(key);
      if (hit) return hit;
      const data = isIdentity(perm) ? v.konst : transposeHost(v.konst, perm!);
      const name = this.initializer(v.name, data);
      cache.set(key, name);
      return name;
    }
    const src = this.value(v);
    if (samePerm(v.perm, perm)) return src;
    const rank = rankOf(v);
    if (rank === undefined) {
      throw new GraftError('UNSUPPORTED_OP', `Cannot change the layout of '${v.name}', whose rank is unknown`, {
        value: v.name,
        fix: 'give the model input a static rank (its placeholder shape)',
      });
    }
    const key = permKey(perm);
    const cache = this.cacheOf(v);
    const hit = cache.get(key);
    if (hit) return hit;
    const suffix = isIdentity(perm) ? 'to_tf_layout' : samePerm(perm, NCHW) ? 'to_nchw' : `perm_${key}`;
    const out = this.emit1('Transpose', [src], { perm: transposeBetween(v.perm, perm, rank) }, `${src}/${suffix}`);
    this.graph.valueInfo.set(out, {
      name: out,
      dtype: ONNX_DTYPE[v.dtype],
      shape: v.shape ? onnxDims(permuteShape(v.shape, perm)) : undefined,
    });
    cache.set(key, out);
    return out;
  }

  /**
   * `v` with its elements in TF row-major order, and the layout it is held in (which differs from TF's
   * only by where size-1 axes sit).
   */
  rowMajor(v: TfValue): { name: string; perm: Perm } {
    if (v.konst || v.sym || v.broadcast) return { name: this.get(v, undefined), perm: undefined };
    const src = this.value(v);
    return reordersData(v.shape, v.perm)
      ? { name: this.get(v, undefined), perm: undefined }
      : { name: src, perm: v.perm };
  }

  /** Keras Flatten / TF reshape to [N, -1]. */
  flatten(x: TfValue, name: string): TfValue {
    const out = this.emit1('Flatten', [this.rowMajor(x).name], { axis: 1 }, name);
    const rest = x.shape?.slice(1);
    const shape = x.shape ? [x.shape[0]!, rest!.some((d) => d < 0) ? -1 : sizeOf(rest!)] : undefined;
    return this.produced({ name, dtype: x.dtype, shape, onnx: out });
  }

  /** `v` as an int64 ONNX tensor (shapes, axes, pads...). */
  int64Of(v: TfValue, want: string): string {
    const nums = konstNumbers(v);
    if (nums) return this.int64s(nums, want);
    if (v.sym) return this.symTensor({ ...v, dtype: 'int64' });
    const src = this.get(v, undefined);
    return v.dtype === 'int64' ? src : this.emit1('Cast', [src], { to: 7 }, `${src}/int64`);
  }

  private cacheOf(v: TfValue): Map<string, string> {
    let c = this.converted.get(v);
    if (!c) this.converted.set(v, (c = new Map()));
    return c;
  }

  /** Emits a known-by-element integer vector: constants for known elements, Shape slices for the rest. */
  private symTensor(v: TfValue): string {
    const sym = v.sym!;
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(this.int64s(run, `${v.name}/known`));
      run = [];
    };
    for (const s of sym) {
      if (typeof s === 'number') {
        run.push(s);
        continue;
      }
      flush();
      const src = this.value(s.of);
      const at = onnxAxis(s.axis, rankOf(s.of)!, s.of.perm);
      parts.push(this.emit1('Shape', [src], { start: at, end: at + 1 }, `${v.name}/dim${at}`));
    }
    flush();
    let out = parts.length === 1 ? parts[0]! : this.emit1('Concat', parts, { axis: 0 }, `${v.name}/concat`);
    if (v.shape && v.shape.length === 0) {
      out = this.emit1('Squeeze', [out, this.int64s([0], `${v.name}/axes`)], undefined, `${v.name}/scalar`);
    }
    if (v.dtype === 'int32') out = this.emit1('Cast', [out], { to: 6 }, v.name);
    return out;
  }

  private expandBroadcast(v: TfValue): string {
    const { base, target } = v.broadcast!;
    const shape = this.int64Of(
      { name: `${v.name}/shape`, dtype: 'int64', shape: [target.length], sym: target },
      `${v.name}/shape`,
    );
    v.onnx = this.emit1('Expand', [this.get(base, undefined), shape], undefined, v.name);
    v.perm = undefined;
    return v.onnx;
  }

  // ---- ops (TF semantics) ----

  input(name: string, dtype: TfDType, tfShape: number[], layout: 'NCHW' | 'NHWC', symbolic: string[]): TfValue {
    const channelsFirst = layout === 'NCHW' && tfShape.length === 4;
    const perm = channelsFirst ? NCHW : undefined;
    const dims = permuteShape(tfShape, perm).map((d, i) => (d >= 0 ? d : (symbolic[i] ?? undefined)));
    this.graph.inputs.push({ name: this.valueName(name), dtype: ONNX_DTYPE[dtype], shape: dims });
    const v: TfValue = { name, dtype, shape: tfShape, onnx: name, perm };
    if (tfShape.length === 4 && !channelsFirst) {
      // NHWC input: one leading Transpose, then the whole graph runs channels-first
      const t = this.get(v, NCHW);
      return { name, dtype, shape: tfShape, onnx: t, perm: NCHW };
    }
    return v;
  }

  identity(x: TfValue, name: string): TfValue {
    if (!x.onnx && (x.konst || x.sym)) return { ...x, name };
    const out = this.emit1('Identity', [this.value(x)], undefined, name);
    return this.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
  }

  unary(op: string, x: TfValue, name: string, attrs?: Record<string, AttrInput>): TfValue {
    const out = this.emit1(op, [this.value(x)], attrs, name);
    return this.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
  }

  clip(x: TfValue, min: number, max: number, name: string): TfValue {
    const lo = this.scalarOf(min, x.dtype, `${name}/min`);
    const hi = this.scalarOf(max, x.dtype, `${name}/max`);
    const out = this.emit1('Clip', [this.value(x), lo, hi], undefined, name);
    return this.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
  }

  cast(x: TfValue, to: TfDType, name: string): TfValue {
    if (x.sym && (to === 'int32' || to === 'int64')) return { ...x, name, dtype: to, onnx: undefined };
    const code = { float32: 1, int32: 6, int64: 7, bool: 9 }[to];
    const out = this.emit1('Cast', [this.value(x)], { to: code }, name);
    return this.produced({ name, dtype: to, shape: x.shape, onnx: out, perm: x.perm });
  }

  activation(x: TfValue, act: Activation, name: string): TfValue {
    switch (act.kind) {
      case 'relu':
        return this.unary('Relu', x, name);
      case 'relu6':
        return this.clip(x, 0, 6, name);
      case 'clip':
        return this.clip(x, act.min, act.max, name);
      case 'elu':
        return this.unary('Elu', x, name, { alpha: act.alpha ?? 1 });
      case 'selu':
        // Keras/TF constants, which are also ONNX's defaults
        return this.unary('Selu', x, name);
      case 'leakyrelu':
        return this.unary('LeakyRelu', x, name, { alpha: act.alpha });
      case 'prelu':
        return this.binary('PRelu', x, act.alpha, name);
      case 'sigmoid':
        return this.unary('Sigmoid', x, name);
      case 'hard_sigmoid':
        return this.unary('HardSigmoid', x, name, { alpha: 0.2, beta: 0.5 });
      case 'tanh':
        return this.unary('Tanh', x, name);
      case 'softplus':
        return this.unary('Softplus', x, name);
      case 'softsign':
        return this.unary('Softsign', x, name);
      case 'exp':
        return this.unary('Exp', x, name);
      case 'swish': {
        const s = this.unary('Sigmoid', x, `${name}/sigmoid`);
        return this.binary('Mul', x, s, name);
      }
      case 'softmax':
        return this.softmax(x, -1, name);
    }
  }

  /** Elementwise binary op with TF broadcasting, in the layout of the higher-rank permuted operand. */
  binary(op: string, a: TfValue, b: TfValue, name: string, outDtype?: TfDType): TfValue {
    if (b.broadcast && broadcastCovered(b.broadcast, a)) b = b.broadcast.base;
    if (a.broadcast && broadcastCovered(a.broadcast, b)) a = a.broadcast.base;
    const folded = foldIntBinary(op, a, b, name);
    if (folded) return folded;
    const ra = rankOf(a);
    const rb = rankOf(b);
    const shape = a.shape && b.shape ? broadcastShapes(a.shape, b.shape) : undefined;
    const rank = shape?.length;
    let perm: Perm;
    if (rank !== undefined) {
      if (ra === rank && !isIdentity(a.perm)) perm = a.perm;
      else if (rb === rank && !isIdentity(b.perm)) perm = b.perm;
    }
    const ia = this.broadcastable(a, perm, rank);
    const ib = this.broadcastable(b, perm, rank);
    const out = this.emit1(op, [ia, ib], undefined, name);
    return this.produced({ name, dtype: outDtype ?? a.dtype, shape, onnx: out, perm });
  }

  /** `v` ready to broadcast against a rank-`rank` tensor held in layout `perm`. */
  private broadcastable(v: TfValue, perm: Perm, rank: number | undefined): string {
    if (isIdentity(perm) || rank === undefined) return this.get(v, undefined);
    const r = rankOf(v)!;
    if (r === rank) return this.get(v, perm);
    // a single element broadcasts the same way in every layout
    if (v.shape && sizeOf(v.shape) === 1) return this.get(v, undefined);
    const lead = range(rank - r);
    if (v.konst) {
      const key = `b${rank}:${permKey(perm)}`;
      const cache = this.cacheOf(v);
      const hit = cache.get(key);
      if (hit) return hit;
      const padded = { ...v.konst, shape: [...lead.map(() => 1), ...v.konst.shape] };
      const name = this.initializer(v.name, transposeHost(padded, perm!));
      cache.set(key, name);
      return name;
    }
    const src = this.get(v, undefined);
    const up = this.emit1('Unsqueeze', [src, this.int64s(lead, `${src}/axes`)], undefined, `${src}/rank${rank}`);
    return this.emit1('Transpose', [up], { perm: [...perm!] }, `${up}/to_layout`);
  }

  /** Sum of any number of same-shaped tensors (TF AddN / Keras Add). */
  sum(xs: TfValue[], name: string): TfValue {
    if (xs.length === 1) return this.identity(xs[0]!, name);
    if (xs.length === 2) return this.binary('Add', xs[0]!, xs[1]!, name);
    const first = xs[0]!;
    const perm = first.perm;
    const out = this.emit1(
      'Sum',
      xs.map((x) => this.get(x, perm)),
      undefined,
      name,
    );
    return this.produced({ name, dtype: first.dtype, shape: first.shape, onnx: out, perm });
  }

  conv2d(o: {
    x: TfValue;
    /** HWIO, or HWCM when depthwise */
    kernel: TfValue;
    bias?: TfValue;
    strides: [number, number];
    dilations: [number, number];
    padding: Padding;
    depthwise: boolean;
    name: string;
  }): TfValue {
    const { x, kernel, name } = o;
    this.requireRank(x, 4, name, o.depthwise ? 'DepthwiseConv2d' : 'Conv2D');
    if (!kernel.shape || kernel.shape.length !== 4 || kernel.shape.some((d) => d < 0)) {
      throw new GraftError('UNSUPPORTED_OP', 'Convolution kernels must have a static 4-D shape', {
        node: name,
        found: `[${kernel.shape?.join(', ') ?? '?'}]`,
      });
    }
    const [kh, kw, cin, m] = kernel.shape as [number, number, number, number];
    const channels = x.shape![3]!;
    const group = o.depthwise ? cin : channels > 0 && channels !== cin ? channels / cin : 1;
    if (!Number.isInteger(group)) {
      throw new GraftError('SHAPE_MISMATCH', 'Convolution input channels do not match its kernel', {
        node: name,
        expected: `a multiple of ${cin} input channels`,
        found: `${channels}`,
      });
    }
    const outChannels = o.depthwise ? cin * m : m;
    const w = this.convKernel(kernel, o.depthwise);
    const inputs = [this.get(x, NCHW), w];
    if (o.bias) inputs.push(this.get(o.bias, undefined));
    const [h, wd] = [x.shape![1]!, x.shape![2]!];
    const sp = spatialPads(o.padding, [h, wd], [kh, kw], o.strides, o.dilations);
    const out = this.emit1(
      'Conv',
      inputs,
      {
        kernel_shape: [kh, kw],
        strides: [...o.strides],
        dilations: [...o.dilations],
        group,
        ...sp.attrs,
      },
      name,
    );
    return this.produced({
      name,
      dtype: 'float32',
      shape: [x.shape![0]!, sp.out[0], sp.out[1], outChannels],
      onnx: out,
      perm: NCHW,
    });
  }

  /** HWIO -> OIHW; depthwise HWCM -> [C*M, 1, kh, kw] (output channel c*M+m, as TF orders them). */
  private convKernel(k: TfValue, depthwise: boolean): string {
    const key = depthwise ? 'dw' : 'oihw';
    const cache = this.cacheOf(k);
    const hit = cache.get(key);
    if (hit) return hit;
    const [kh, kw, c, m] = k.shape as [number, number, number, number];
    let name: string;
    if (k.konst) {
      if (depthwise) {
        const t = transposeHost(k.konst, [2, 3, 0, 1]);
        name = this.initializer(k.name, { ...t, shape: [c * m, 1, kh, kw] });
      } else name = this.initializer(k.name, transposeHost(k.konst, [3, 2, 0, 1]));
    } else {
      const src = this.get(k, undefined);
      const t = this.emit1('Transpose', [src], { perm: depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1] }, `${src}/oihw`);
      name = depthwise
        ? this.emit1('Reshape', [t, this.int64s([c * m, 1, kh, kw], `${src}/dw_shape`)], undefined, `${src}/dw`)
        : t;
    }
    cache.set(key, name);
    return name;
  }

  pool(
    kind: 'max' | 'avg',
    x: TfValue,
    ksize: [number, number],
    strides: [number, number],
    padding: Padding,
    name: string,
  ): TfValue {
    this.requireRank(x, 4, name, kind === 'max' ? 'MaxPool' : 'AvgPool');
    const sp = spatialPads(padding, [x.shape![1]!, x.shape![2]!], ksize, strides, [1, 1]);
    const attrs: Record<string, AttrInput> = { kernel_shape: [...ksize], strides: [...strides], ...sp.attrs };
    // TF averages over the in-bounds elements only
    if (kind === 'avg') attrs.count_include_pad = 0;
    const out = this.emit1(kind === 'max' ? 'MaxPool' : 'AveragePool', [this.get(x, NCHW)], attrs, name);
    return this.produced({
      name,
      dtype: x.dtype,
      shape: [x.shape![0]!, sp.out[0], sp.out[1], x.shape![3]!],
      onnx: out,
      perm: NCHW,
    });
  }

  reduce(kind: 'mean' | 'sum' | 'max' | 'min' | 'prod', x: TfValue, axes: number[], keepDims: boolean, name: string) {
    const rank = rankOf(x);
    if (rank === undefined) {
      throw new GraftError('UNSUPPORTED_OP', `Reduction over a value of unknown rank`, { node: name, value: x.name });
    }
    const tfAxes = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
    const src = this.value(x);
    const onnxAxes = tfAxes.map((a) => onnxAxis(a, rank, x.perm));
    const op = { mean: 'ReduceMean', sum: 'ReduceSum', max: 'ReduceMax', min: 'ReduceMin', prod: 'ReduceProd' }[kind];
    const axesAsInput = kind === 'sum' || this.opset >= 18;
    const out = axesAsInput
      ? this.emit1(op, [src, this.int64s(onnxAxes, `${name}/axes`)], { keepdims: keepDims ? 1 : 0 }, name)
      : this.emit1(op, [src], { axes: onnxAxes, keepdims: keepDims ? 1 : 0 }, name);
    const shape = x
      .shape!.map((d, i) => (tfAxes.includes(i) ? 1 : d))
      .filter((_, i) => keepDims || !tfAxes.includes(i));
    const perm = keepDims ? x.perm : dropAxes(x.perm, tfAxes, rank);
    return this.produced({ name, dtype: x.dtype, shape, onnx: out, perm });
  }

  squeeze(x: TfValue, axes: number[], name: string): TfValue {
    const rank = rankOf(x);
    if (rank === undefined)
      throw new GraftError('UNSUPPORTED_OP', 'Squeeze of a value of unknown rank', { node: name });
    let tfAxes = axes.map((a) => (a < 0 ? a + rank : a));
    if (tfAxes.length === 0) {
      if (x.shape!.some((d) => d < 0)) {
        throw new GraftError('UNSUPPORTED_OP', 'Squeeze without squeeze_dims needs a static input shape', {
          node: name,
          found: `[${x.shape!.join(', ')}]`,
          fix: 'pass inputSize to the importer so shapes are static',
        });
      }
      tfAxes = x.shape!.flatMap((d, i) => (d === 1 ? [i] : []));
    }
    tfAxes.sort((p, q) => p - q);
    if (x.sym) {
      return { name, dtype: x.dtype, shape: [], sym: x.sym };
    }
    const src = this.value(x);
    const onnxAxes = tfAxes.map((a) => onnxAxis(a, rank, x.perm));
    const out = this.emit1('Squeeze', [src, this.int64s(onnxAxes, `${name}/axes`)], undefined, name);
    const shape = x.shape!.filter((_, i) => !tfAxes.includes(i));
    return this.produced({ name, dtype: x.dtype, shape, onnx: out, perm: dropAxes(x.perm, tfAxes, rank) });
  }

  expandDims(x: TfValue, axis: number, name: string): TfValue {
    const rank = rankOf(x);
    if (rank === undefined)
      throw new GraftError('UNSUPPORTED_OP', 'ExpandDims of a value of unknown rank', { node: name });
    const a = axis < 0 ? axis + rank + 1 : axis;
    if (x.sym && rank === 0) return { name, dtype: x.dtype, shape: [1], sym: x.sym };
    const src = this.get(x, undefined);
    const out = this.emit1('Unsqueeze', [src, this.int64s([a], `${name}/axes`)], undefined, name);
    const shape = [...x.shape!];
    shape.splice(a, 0, 1);
    return this.produced({ name, dtype: x.dtype, shape, onnx: out });
  }

  /** Reshape to a TF target shape (may contain -1 and run-time dims). */
  reshape(x: TfValue, target: SymInt[] | TfValue, name: string): TfValue {
    const input = this.rowMajor(x);
    if (!Array.isArray(target)) {
      // a shape computed from data at run time
      const shape = this.int64Of(target, `${name}/shape`);
      const out = this.emit1('Reshape', [input.name, shape], undefined, name);
      const rank = target.shape?.[0];
      const dims = rank !== undefined && rank >= 0 ? range(rank).map(() => -1) : undefined;
      return this.produced({ name, dtype: x.dtype, shape: dims, onnx: out });
    }
    // a run-time dim the input holds at the same position is copied (ONNX's 0), e.g. the batch
    const copies = (t: SymInt, i: number) =>
      typeof t !== 'number' && t.of === x && onnxAxis(t.axis, rankOf(x)!, input.perm) === i;
    const hasZero = target.some((t) => t === 0);
    const open = target.filter((t, i) => (typeof t !== 'number' && !(copies(t, i) && !hasZero)) || t === -1);
    let shapeInput: string;
    if (open.length <= 1) {
      const dims = target.map((t, i) => (typeof t === 'number' ? t : copies(t, i) && !hasZero ? 0 : -1));
      shapeInput = this.int64s(dims, `${name}/shape`);
    } else {
      const sym = { name: `${name}/shape`, dtype: 'int64' as const, shape: [target.length], sym: target };
      shapeInput = this.int64Of(sym, `${name}/shape`);
    }
    const attrs = hasZero ? { allowzero: 1 } : undefined;
    const out = this.emit1('Reshape', [input.name, shapeInput], attrs, name);
    return this.produced({ name, dtype: x.dtype, shape: resolveTarget(target, x.shape), onnx: out });
  }

  /** TF Transpose: free in this representation (the layout absorbs it); an Identity keeps the TF name. */
  transpose(x: TfValue, tfPerm: number[], name: string): TfValue {
    const rank = tfPerm.length;
    const p = x.perm ?? range(rank);
    const perm = p.map((axis) => tfPerm.indexOf(axis));
    const out = this.emit1('Identity', [this.value(x)], undefined, name);
    const shape = x.shape ? tfPerm.map((i) => x.shape![i]!) : undefined;
    return this.produced({ name, dtype: x.dtype, shape, onnx: out, perm: isIdentity(perm) ? undefined : perm });
  }

  concat(xs: TfValue[], axis: number, name: string): TfValue {
    if (xs.every((x) => rankOf(x) === 1 && konstOrSym(x))) {
      const sym = xs.flatMap((x) => symOf(x)!);
      return { name, dtype: xs[0]!.dtype, shape: [sym.length], sym };
    }
    const rank = rankOf(xs[0]!);
    if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Concat of values of unknown rank', { node: name });
    const a = axis < 0 ? axis + rank : axis;
    const perm = xs.find((x) => !isIdentity(x.perm) && !x.konst)?.perm;
    const out = this.emit1(
      'Concat',
      xs.map((x) => this.get(x, perm)),
      { axis: onnxAxis(a, rank, perm) },
      name,
    );
    const shape = xs[0]!.shape!.map((d, i) =>
      i === a ? (xs.some((x) => x.shape![i]! < 0) ? -1 : xs.reduce((s, x) => s + x.shape![i]!, 0)) : d,
    );
    return this.produced({ name, dtype: xs[0]!.dtype, shape, onnx: out, perm });
  }

  /** TF Pack/stack: integer scalars fold into a known vector; tensors are unsqueezed and concatenated. */
  pack(xs: TfValue[], axis: number, name: string): TfValue {
    if (xs.every((x) => rankOf(x) === 0 && konstOrSym(x))) {
      const sym = xs.map((x) => symOf(x)![0]!);
      return { name, dtype: xs[0]!.dtype, shape: [sym.length], sym };
    }
    const rank = rankOf(xs[0]!);
    if (rank === undefined) throw new GraftError('UNSUPPORTED_OP', 'Pack of values of unknown rank', { node: name });
    const a = axis < 0 ? axis + rank + 1 : axis;
    const parts = xs.map((x, i) => this.expandDims(x, a, `${name}/in${i}`));
    return this.concat(parts, a, name);
  }

  pad(x: TfValue, paddings: [number, number][], mode: 'constant' | 'reflect' | 'edge', value: number, name: string) {
    const rank = rankOf(x) ?? paddings.length;
    const perm = x.perm;
    const order = perm ?? range(rank);
    const pads = [...order.map((i) => paddings[i]![0]), ...order.map((i) => paddings[i]![1])];
    const inputs = [this.value(x), this.int64s(pads, `${name}/pads`)];
    if (mode === 'constant' && value !== 0) inputs.push(this.scalarOf(value, x.dtype, `${name}/value`));
    const out = this.emit1('Pad', inputs, { mode }, name);
    const shape = x.shape?.map((d, i) => (d < 0 ? -1 : d + paddings[i]![0] + paddings[i]![1]));
    return this.produced({ name, dtype: x.dtype, shape, onnx: out, perm });
  }

  softmax(x: TfValue, axis: number, name: string, log = false): TfValue {
    const rank = rankOf(x) ?? 2;
    const out = this.emit1(
      log ? 'LogSoftmax' : 'Softmax',
      [this.value(x)],
      { axis: onnxAxis(axis, rank, x.perm) },
      name,
    );
    return this.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm: x.perm });
  }

  /** Rank-2 matrix product (+ optional bias): a Gemm, the form heads and surgery expect. */
  matmul(a: TfValue, b: TfValue, transA: boolean, transB: boolean, bias: TfValue | undefined, name: string): TfValue {
    const ra = rankOf(a);
    const rb = rankOf(b);
    const m = a.shape ? a.shape[transA ? 1 : 0]! : -1;
    const n = b.shape ? b.shape[transB ? 0 : 1]! : -1;
    if (ra === 2 && rb === 2) {
      const inputs = [this.get(a, undefined), this.get(b, undefined)];
      if (bias) inputs.push(this.get(bias, undefined));
      const out = this.emit1('Gemm', inputs, { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, name);
      return this.produced({ name, dtype: a.dtype, shape: [m, n], onnx: out });
    }
    // batched: transpose the last two axes where asked, then MatMul (+ Add)
    const swapLast = (v: TfValue, tag: string): string => {
      const r = rankOf(v)!;
      const src = this.get(v, undefined);
      const perm = [...range(r - 2), r - 1, r - 2];
      return this.emit1('Transpose', [src], { perm }, `${name}/${tag}_T`);
    };
    const ia = transA ? swapLast(a, 'a') : this.get(a, undefined);
    const ib = transB ? swapLast(b, 'b') : this.get(b, undefined);
    const mm = this.emit1('MatMul', [ia, ib], undefined, bias ? `${name}/MatMul` : name);
    const shape =
      a.shape && b.shape ? [...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n] : undefined;
    const v = this.produced({ name: bias ? `${name}/MatMul` : name, dtype: a.dtype, shape, onnx: mm });
    return bias ? this.binary('Add', v, bias, name) : v;
  }

  /** Inference batch norm over the last (channel) axis. */
  batchNorm(
    x: TfValue,
    scale: TfValue,
    offset: TfValue,
    mean: TfValue,
    variance: TfValue,
    epsilon: number,
    name: string,
  ) {
    const rank = rankOf(x);
    if (rank === undefined || rank < 2) {
      throw new GraftError('UNSUPPORTED_OP', 'Batch normalization needs an input of known rank >= 2', {
        node: name,
        found: rank === undefined ? 'unknown rank' : `rank ${rank}`,
      });
    }
    // ONNX normalizes axis 1: hold the channel (TF's last axis) there
    const perm = rank === 2 ? undefined : [0, rank - 1, ...range(rank - 2).map((i) => i + 1)];
    const inputs = [this.get(x, perm), ...[scale, offset, mean, variance].map((p) => this.get(p, undefined))];
    const out = this.emit1('BatchNormalization', inputs, { epsilon }, name);
    return this.produced({ name, dtype: x.dtype, shape: x.shape, onnx: out, perm });
  }

  /** StridedSlice without ellipsis/new-axis masks; folds on known integer vectors. */
  stridedSlice(
    x: TfValue,
    begin: number[],
    end: number[],
    strides: number[],
    masks: { begin: number; end: number; shrink: number },
    name: string,
  ): TfValue {
    const rank = rankOf(x);
    if (rank === undefined)
      throw new GraftError('UNSUPPORTED_OP', 'StridedSlice of a value of unknown rank', { node: name });
    const dims = range(begin.length);
    const bit = (mask: number, i: number) => (mask >> i) & 1;
    const sym = symOf(x);
    if (sym && rank === 1) {
      const n = sym.length;
      const i = 0;
      const s = strides[i] ?? 1;
      if (bit(masks.shrink, i)) {
        const b = begin[i]! < 0 ? begin[i]! + n : begin[i]!;
        return { name, dtype: x.dtype, shape: [], sym: [sym[b]!] };
      }
      const [lo, hi] = sliceBounds(n, begin[i]!, end[i]!, s, bit(masks.begin, i) === 1, bit(masks.end, i) === 1);
      const picked: SymInt[] = [];
      for (let k = lo; s > 0 ? k < hi : k > hi; k += s) picked.push(sym[k]!);
      return { name, dtype: x.dtype, shape: [picked.length], sym: picked };
    }
    const src = this.get(x, undefined);
    const starts: number[] = [];
    const ends: number[] = [];
    const steps: number[] = [];
    const shrink: number[] = [];
    const BIG = 2 ** 31 - 1;
    for (const i of dims) {
      const s = strides[i] ?? 1;
      if (bit(masks.shrink, i)) {
        const b = begin[i]!;
        starts.push(b);
        ends.push(b === -1 ? BIG : b + 1);
        steps.push(1);
        shrink.push(i);
        continue;
      }
      starts.push(bit(masks.begin, i) ? (s > 0 ? 0 : BIG) : begin[i]!);
      ends.push(bit(masks.end, i) ? (s > 0 ? BIG : -BIG) : end[i]!);
      steps.push(s);
    }
    const sliced = this.emit1(
      'Slice',
      [
        src,
        this.int64s(starts, `${name}/starts`),
        this.int64s(ends, `${name}/ends`),
        this.int64s(dims, `${name}/axes`),
        this.int64s(steps, `${name}/steps`),
      ],
      undefined,
      shrink.length ? `${name}/slice` : name,
    );
    const shape = x.shape!.map((d, i) => {
      if (i >= dims.length) return d;
      if (bit(masks.shrink, i)) return 1;
      if (d < 0) return -1;
      const [lo, hi] = sliceBounds(
        d,
        begin[i]!,
        end[i]!,
        steps[i]!,
        bit(masks.begin, i) === 1,
        bit(masks.end, i) === 1,
      );
      return Math.max(0, Math.ceil((hi - lo) / steps[i]!));
    });
    const v = this.produced({ name: shrink.length ? `${name}/slice` : name, dtype: x.dtype, shape, onnx: sliced });
    return shrink.length ? this.squeeze(v, shrink, name) : v;
  }

  /** The shape of `x` as a known-by-element vector. */
  shapeOf(x: TfValue, dtype: TfDType, name: string): TfValue {
    if (!x.shape) {
      const out = this.emit1('Shape', [this.get(x, undefined)], undefined, dtype === 'int64' ? name : `${name}/int64`);
      const v = this.produced({ name, dtype: 'int64', shape: [-1], onnx: out });
      return dtype === 'int64' ? v : this.cast(v, dtype, name);
    }
    const sym: SymInt[] = x.shape.map((d, i) => (d >= 0 ? d : { of: x, axis: i }));
    return { name, dtype, shape: [sym.length], sym };
  }

  /** TF BroadcastTo: kept lazy, since the binary ops that follow broadcast on their own. */
  broadcastTo(x: TfValue, target: TfValue, name: string): TfValue {
    const sym = symOf(target);
    if (!sym) {
      const out = this.emit1(
        'Expand',
        [this.get(x, undefined), this.int64Of(target, `${name}/shape`)],
        undefined,
        name,
      );
      return this.produced({ name, dtype: x.dtype, shape: undefined, onnx: out });
    }
    const shape = sym.map((s) => (typeof s === 'number' ? s : (s.of.shape?.[s.axis] ?? -1)));
    return {
      name,
      dtype: x.dtype,
      shape: x.shape ? broadcastShapes(x.shape, shape) : shape,
      broadcast: { base: x, target: sym },
    };
  }

  requireRank(x: TfValue, rank: number, node: string, op: string): void {
    if (rankOf(x) !== rank) {
      throw new GraftError('UNSUPPORTED_OP', `${op} needs a rank-${rank} input`, {
        node,
        op,
        value: x.name,
        expected: `rank ${rank} (NHWC)`,
        found: x.shape ? `shape [${x.shape.join(', ')}]` : 'unknown rank',
        fix: 'give the model input a static rank (its placeholder shape)',
      });
    }
  }

  // ---- finishing ----

  /**
   * Declares graph outputs under exactly the requested names, in the requested layouts, then cleans,
   * sorts and checks the graph.
   */
  finish(outputs: { v: TfValue; name: string; perm: Perm }[], opset: number, metadata: Map<string, string>): Model {
    for (const { v, name, perm } of outputs) {
      let onnx = this.get(v, perm);
      if (onnx !== name) {
        if (this.valueNames.has(name) && this.producerOf(name)) {
          // the TF name belongs to the value in its other layout: hand the name to the output
          this.renameValue(name, this.valueName(`${name}/${permKey(v.perm) === 'id' ? 'tf_layout' : 'nchw'}`));
        }
        this.valueNames.add(name);
        if (this.graph.isGraphInput(onnx) || this.graph.initializers.has(onnx) || this.graph.isGraphOutput(onnx)) {
          this.graph.nodes.push(
            new Node({ name: reserve(this.nodeNames, name), opType: 'Identity', inputs: [onnx], outputs: [name] }),
          );
        } else this.renameValue(onnx, name);
        onnx = name;
      }
      this.graph.outputs.push({
        name: onnx,
        dtype: ONNX_DTYPE[v.dtype],
        shape: v.shape ? onnxDims(permuteShape(v.shape, perm)) : undefined,
      });
      this.graph.valueInfo.delete(onnx);
    }
    this.graph.touch();
    this.graph.cleanup().toposort();
    checkGraph(this.graph);
    return new Model(this.graph, {
      opsetImports: [{ domain: '', version: opset }],
      producerName: 'graft',
      metadata,
    });
  }

  private producerOf(value: string): Node | undefined {
    return this.graph.nodes.find((n) => n.outputs.includes(value));
  }

  private renameValue(from: string, to: string): void {
    for (const n of this.graph.nodes) {
      n.inputs = n.inputs.map((v) => (v === from ? to : v));
      n.outputs = n.outputs.map((v) => (v === from ? to : v));
    }
    for (const o of this.graph.outputs) if (o.name === from) o.name = to;
    const info = this.graph.valueInfo.get(from);
    if (info) {
      this.graph.valueInfo.delete(from);
      this.graph.valueInfo.set(to, { ...info, name: to });
    }
    for (const c of this.converted.values()) for (const [k, v] of c) if (v === from) c.set(k, to);
  }
}

function reserve(set: Set<string>, want: string): string {
  if (!set.has(want)) {
    set.add(want);
    return want;
  }
  for (let i = 1; ; i++) {
    const c = `${want}_${i}`;
    if (!set.has(c)) {
      set.add(c);
      return c;
    }
  }
}

function onnxDims(shape: readonly number[]): Dim[] {
  return shape.map((d, i) => (d >= 0 ? d : i === 0 ? 'N' : undefined));
}

function konstOrSym(v: TfValue): boolean {
  return !!(v.sym || (v.konst && v.konst.dtype === 'int32'));
}

export function symOf(v: TfValue): SymInt[] | undefined {
  if (v.sym) return v.sym;
  if (v.konst && v.konst.dtype === 'int32') return Array.from(v.konst.data as Int32Array);
  return undefined;
}

/** Layout after dropping TF axes `dropped` from a value held in layout `perm`. */
function dropAxes(perm: Perm, dropped: number[], rank: number): Perm {
  if (isIdentity(perm)) return undefined;
  const kept = range(rank).filter((a) => !dropped.includes(a));
  const renumber = new Map(kept.map((a, i) => [a, i]));
  const out = perm!.filter((a) => !dropped.includes(a)).map((a) => renumber.get(a)!);
  return isIdentity(out) ? undefined : out;
}

/** Whether `BroadcastTo(base, target)` used against `other` can be replaced by `base` alone. */
function broadcastCovered(b: { base: TfValue; target: SymInt[] }, other: TfValue): boolean {
  const s = other.shape;
  if (!s || s.length !== b.target.length) return false;
  const baseShape = b.base.shape;
  if (!baseShape || baseShape.length > s.length) return false;
  return b.target.every((t, i) => (typeof t === 'number' ? t === s[i] && t >= 0 : t.of === other && t.axis === i));
}

function foldIntBinary(op: string, a: TfValue, b: TfValue, name: string): TfValue | undefined {
  if (a.dtype !== 'int32' && a.dtype !== 'int64') return undefined;
  const x = konstNumbers(a);
  const y = konstNumbers(b);
  if (!x || !y || (x.length !== y.length && x.length !== 1 && y.length !== 1)) return undefined;
  const f: Record<string, (p: number, q: number) => number> = {
    Add: (p, q) => p + q,
    Sub: (p, q) => p - q,
    Mul: (p, q) => p * q,
    Div: (p, q) => Math.trunc(p / q),
    FloorDiv: (p, q) => Math.floor(p / q),
  };
  const fn = f[op];
  if (!fn) return undefined;
  const n = Math.max(x.length, y.length);
  const out = range(n).map((i) => fn(x[x.length === 1 ? 0 : i]!, y[y.length === 1 ? 0 : i]!));
  const shape = (a.shape?.length ?? 0) >= (b.shape?.length ?? 0) ? a.shape : b.shape;
  return { name, dtype: a.dtype, shape: shape ? [...shape] : [n], sym: out };
}

/** Python-style slice bounds [lo, hi) for a dim of size n. */
function sliceBounds(n: number, b: number, e: number, s: number, beginMasked: boolean, endMasked: boolean) {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let lo: number;
  let hi: number;
  if (s > 0) {
    lo = beginMasked ? 0 : clamp(b < 0 ? b + n : b, 0, n);
    hi = endMasked ? n : clamp(e < 0 ? e + n : e, 0, n);
  } else {
    lo = beginMasked ? n - 1 : clamp(b < 0 ? b + n : b, -1, n - 1);
    hi = endMasked ? -1 : clamp(e < 0 ? e + n : e, -1, n - 1);
  }
  return [lo, hi] as const;
}

/** Static shape a Reshape produces, resolving -1 when the rest is known. */
function resolveTarget(target: SymInt[], inShape: number[] | undefined): number[] {
  const dims = target.map((t) => (typeof t === 'number' ? t : (t.of.shape?.[t.axis] ?? -1)));
  const unknown = dims.filter((d) => d < 0).length;
  if (unknown === 1 && inShape && inShape.every((d) => d >= 0)) {
    const known = dims.filter((d) => d >= 0).reduce((p, q) => p * q, 1);
    return dims.map((d) => (d < 0 ? sizeOf(inShape) / known : d));
  }
  return dims;
}

/**
 * Pads for TF 'SAME'/'VALID'/explicit padding. With static spatial sizes 'SAME' becomes explicit
 * (possibly asymmetric) pads, the extra pixel at the end as TF puts it; otherwise auto_pad SAME_UPPER,
 * which pads the same way at run time.
 */
export function spatialPads(
  padding: Padding,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): { attrs: Record<string, AttrInput>; out: [number, number] } {
  const eff = [0, 1].map((i) => (kernel[i]! - 1) * dilations[i]! + 1);
  if (padding.kind === 'VALID') {
    const out = [0, 1].map((i) => (size[i]! < 0 ? -1 : Math.floor((size[i]! - eff[i]!) / strides[i]!) + 1));
    return { attrs: { pads: [0, 0, 0, 0] }, out: out as [number, number] };
  }
  if (padding.kind === 'EXPLICIT') {
    const [t, b, l, r] = padding.pads;
    const padded = [size[0] < 0 ? -1 : size[0] + t + b, size[1] < 0 ? -1 : size[1] + l + r];
    const out = [0, 1].map((i) => (padded[i]! < 0 ? -1 : Math.floor((padded[i]! - eff[i]!) / strides[i]!) + 1));
    return { attrs: { pads: [t, l, b, r] }, out: out as [number, number] };
  }
  if (size[0] < 0 || size[1] < 0) {
    const out = [0, 1].map((i) => (size[i]! < 0 ? -1 : Math.ceil(size[i]! / strides[i]!)));
    return { attrs: { auto_pad: 'SAME_UPPER' }, out: out as [number, number] };
  }
  const out = [0, 1].map((i) => Math.ceil(size[i]! / strides[i]!));
  const total = [0, 1].map((i) => Math.max((out[i]! - 1) * strides[i]! + eff[i]! - size[i]!, 0));
  const begin = total.map((t) => Math.floor(t / 2));
  const end = total.map((t, i) => t - begin[i]!);
  return { attrs: { pads: [begin[0]!, begin[1]!, end[0]!, end[1]!] }, out: out as [number, number] };
}
