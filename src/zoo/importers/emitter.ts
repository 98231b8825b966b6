import { GraftError } from '../../errors.js';
import { toAttrs, type AttrInput } from '../../onnx/attrs.js';
import { checkGraph } from '../../onnx/check.js';
import type { DType } from '../../onnx/dtype.js';
import { Graph, Model, Node, type Dim } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import {
  NCHW,
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
import type { HostArray } from './types.js';

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

/**
 * Writes ONNX nodes for TF-semantics values, tracking each value's layout so the graph runs channels-first.
 * The ops themselves are free functions over an Emitter (ops_math.ts, ops_nn.ts, ops_shape.ts).
 */
export class Emitter {
  readonly graph: Graph;
  readonly opset: number;
  private valueNames = new Set<string>();
  private nodeNames = new Set<string>();
  private converted = new Map<TfValue, Map<string, string>>();
  /**
   * Whether an open leading dim of an intermediate value is declared as the batch 'N'. True for image
   * models; a text model's values lead with token counts (a sparse batch, the tokens kept), which must not
   * share the batch's symbol: onnxruntime plans buffers by it.
   */
  labelBatch = true;

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
        attrs: toAttrs(attrs, op),
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
        shape: v.shape ? onnxDims(permuteShape(v.shape, v.perm), this.labelBatch) : undefined,
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
      const name = this.initializer(v.name, v.dtype === 'int64' && data.dtype === 'int32' ? asInt64(data) : data);
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
      shape: v.shape ? onnxDims(permuteShape(v.shape, perm), this.labelBatch) : undefined,
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

  /** `v` as an int64 ONNX tensor (shapes, axes, pads...). */
  int64Of(v: TfValue, want: string): string {
    const nums = konstNumbers(v);
    if (nums) return this.int64s(nums, want);
    if (v.sym) return this.symTensor({ ...v, dtype: 'int64' });
    const src = this.get(v, undefined);
    return v.dtype === 'int64' ? src : this.emit1('Cast', [src], { to: 7 }, `${src}/int64`);
  }

  cacheOf(v: TfValue): Map<string, string> {
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

/** An int32 host array widened to int64 (TF.js stores int64 constants as int32). */
function asInt64(a: HostArray): { dtype: DType; shape: number[]; data: BigInt64Array } {
  return { dtype: 'int64', shape: a.shape, data: BigInt64Array.from(a.data as Int32Array, (v) => BigInt(v)) };
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

export function onnxDims(shape: readonly number[], labelBatch = true): Dim[] {
  return shape.map((d, i) => (d >= 0 ? d : i === 0 && labelBatch ? 'N' : undefined));
}

export function symOf(v: TfValue): SymInt[] | undefined {
  if (v.sym) return v.sym;
  if (v.konst && v.konst.dtype === 'int32') return Array.from(v.konst.data as Int32Array);
  return undefined;
}
