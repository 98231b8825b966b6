import { dtypeFromCode, type DType } from '../onnx/dtype.js';
import type { Dim, Graph, Node } from '../onnx/graph.js';
import type { Tensor } from '../onnx/tensor.js';

/** Element type and shape of a value; either may be unknown. */
export interface ValueType {
  dtype?: DType;
  shape?: Dim[];
}

/** What a shape rule may ask about the node's inputs. */
export interface TypeQuery {
  readonly opset: number;
  type(value: string): ValueType | undefined;
  /** contents of a small integer tensor known at build time; dims taken from a `Shape` may be symbolic */
  contents(value: string): Dim[] | undefined;
}

/** Returns one type per node output (undefined: unknown). */
export type ShapeRule = (node: Node, q: TypeQuery) => (ValueType | undefined)[];

/** Constants with more elements than this are not tracked: they are weights, not shapes or axes. */
const MAX_TRACKED = 64;

/**
 * Static types of the values of one graph, inferred op by op. The autodiff rules need shapes to undo
 * broadcasting and to pick cheap formulations; this covers the ops Graft differentiates (and the ops the
 * rules emit), leaving other values unknown rather than guessing. Declared value_info is used as a start.
 */
export class TypeEnv implements TypeQuery {
  private readonly types = new Map<string, ValueType>();
  private readonly values = new Map<string, Dim[]>();

  constructor(readonly opset: number) {}

  /** Seeds from inputs, initializers and value_info, then infers every node in order. */
  static fromGraph(graph: Graph, opset: number): TypeEnv {
    const env = new TypeEnv(opset);
    for (const v of graph.valueInfo.values()) env.declare(v.name, { dtype: v.dtype, shape: v.shape });
    for (const v of graph.outputs) env.declare(v.name, { dtype: v.dtype, shape: v.shape });
    for (const v of graph.inputs) env.declare(v.name, { dtype: v.dtype, shape: v.shape });
    for (const t of graph.initializers.values()) env.addTensor(t.name, t);
    for (const n of graph.nodes) env.infer(n);
    return env;
  }

  type(value: string): ValueType | undefined {
    return this.types.get(value);
  }

  shape(value: string): Dim[] | undefined {
    return this.types.get(value)?.shape;
  }

  dtype(value: string): DType | undefined {
    return this.types.get(value)?.dtype;
  }

  contents(value: string): Dim[] | undefined {
    return this.values.get(value);
  }

  /** Contents as plain numbers, when every element is a known number. */
  numbers(value: string): number[] | undefined {
    const c = this.values.get(value);
    return c && c.every((d): d is number => typeof d === 'number') ? c : undefined;
  }

  /** Merges a declared type with what is already known (the more specific dim wins). */
  declare(value: string, t: ValueType): void {
    const old = this.types.get(value);
    this.types.set(value, old ? mergeTypes(old, t) : { dtype: t.dtype, shape: t.shape ? [...t.shape] : undefined });
  }

  addTensor(name: string, t: Tensor): void {
    this.declare(name, { dtype: t.dtype, shape: [...t.dims] });
    const c = tensorContents(t);
    if (c) this.values.set(name, c);
  }

  /** Infers the node's output types (and constant contents for shape arithmetic). */
  infer(node: Node): void {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return;
    const rule = SHAPE_RULES[node.opType];
    if (rule) {
      const outs = rule(node, this);
      node.outputs.forEach((o, i) => {
        const t = outs[i];
        if (o && t) this.declare(o, t);
      });
    }
    const c = foldContents(node, this);
    if (c && node.outputs[0]) this.values.set(node.outputs[0], c);
  }
}

function mergeTypes(a: ValueType, b: ValueType): ValueType {
  const dtype = a.dtype ?? b.dtype;
  if (!a.shape) return { dtype, shape: b.shape ? [...b.shape] : undefined };
  if (!b.shape || b.shape.length !== a.shape.length) return { dtype, shape: a.shape };
  return { dtype, shape: a.shape.map((d, i) => specific(d, b.shape![i])) };
}

function specific(a: Dim, b: Dim): Dim {
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a ?? b;
}

function tensorContents(t: Tensor): Dim[] | undefined {
  if (t.size > MAX_TRACKED || t.dtype === 'string' || t.dtype === 'float16' || t.dtype === 'bfloat16') return undefined;
  if (!t.isLoaded && t.external) return undefined;
  return t.toNumbers();
}

// ---------------------------------------------------------------------------------------------
// helpers

const rankOf = (t: ValueType | undefined): number | undefined => t?.shape?.length;

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Numpy-style broadcast of several shapes; a symbolic dim meeting a number > 1 takes the number. */
export function broadcastShapes(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s!.length - rank + i;
      if (k < 0) continue;
      d = broadcastDim(d, s![k]);
    }
    out.push(d);
  }
  return out;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return a === b ? a : undefined;
}

function product(dims: Dim[]): Dim {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return dims.length === 1 ? d : undefined;
    p *= d;
  }
  return p;
}

/** Resolves a Reshape target (0 = copy, -1 = infer) against the input shape, keeping symbolic dims. */
export function reshapeTarget(input: Dim[] | undefined, target: Dim[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? input?.[i] : d));
  const hole = out.indexOf(-1);
  if (hole < 0) return out;
  out[hole] = undefined;
  if (!input || input.some((d) => d === undefined)) return out;
  const others = out.filter((_, i) => i !== hole);
  if (others.some((d) => d === undefined)) return out;
  let num = 1;
  const syms = new Map<string, number>();
  for (const d of input) {
    if (typeof d === 'number') num *= d;
    else syms.set(d as string, (syms.get(d as string) ?? 0) + 1);
  }
  let den = 1;
  for (const d of others) {
    if (typeof d === 'number') den *= d;
    else {
      const k = syms.get(d as string) ?? 0;
      if (k === 0) return out;
      syms.set(d as string, k - 1);
    }
  }
  const left = [...syms].filter(([, k]) => k > 0);
  if (den === 0 || num % den !== 0) return out;
  const q = num / den;
  if (left.length === 0) out[hole] = q;
  else if (left.length === 1 && left[0]![1] === 1 && q === 1) out[hole] = left[0]![0];
  return out;
}

/** Reduced-axis list of a Reduce* node, or null for "all axes"; undefined when it is not known statically. */
export function reduceAxes(node: Node, q: TypeQuery): number[] | null | undefined {
  const axesAsInput = node.opType === 'ReduceSum' ? q.opset >= 13 : q.opset >= 18;
  if (!axesAsInput) {
    const a = node.intsAttr('axes');
    return a && a.length ? a : null;
  }
  const name = node.inputs[1];
  if (!name) return null;
  const c = q.contents(name);
  if (!c || c.some((d) => typeof d !== 'number')) return undefined;
  return c.length ? (c as number[]) : null;
}

function reduceShape(node: Node, q: TypeQuery): Dim[] | undefined {
  const s = q.type(node.inputs[0]!)?.shape;
  if (!s) return undefined;
  const keep = node.intAttr('keepdims', 1) === 1;
  const axes = reduceAxes(node, q);
  if (axes === undefined) return keep ? s.map(() => undefined) : undefined;
  if (axes === null) {
    const axesAsInput = node.opType === 'ReduceSum' ? q.opset >= 13 : q.opset >= 18;
    if (axesAsInput && !node.inputs[1] && node.intAttr('noop_with_empty_axes', 0) === 1) return [...s];
    return keep ? s.map(() => 1) : [];
  }
  const set = new Set(axes.map((a) => normAxis(a, s.length)));
  const out: Dim[] = [];
  s.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

const same: ShapeRule = (n, q) => [q.type(n.inputs[0]!)];
const withDtype =
  (dtype: DType): ShapeRule =>
  (n, q) => [{ dtype, shape: q.type(n.inputs[0]!)?.shape }];
const broadcast =
  (dtype?: DType, dtypeFrom = 0): ShapeRule =>
  (n, q) => [
    {
      dtype: dtype ?? q.type(n.inputs[dtypeFrom]!)?.dtype,
      shape: broadcastShapes(n.inputs.filter((v) => v).map((v) => q.type(v)?.shape)),
    },
  ];

function poolLike(n: Node, q: TypeQuery, kernel: Dim[] | undefined, channels: Dim): ValueType | undefined {
  const x = q.type(n.inputs[0]!);
  const s = x?.shape;
  if (!s || !kernel) return { dtype: x?.dtype };
  const sp = s.length - 2;
  const strides = n.intsAttr('strides', Array(sp).fill(1));
  const dil = n.intsAttr('dilations', Array(sp).fill(1));
  const pads = n.intsAttr('pads', Array(sp * 2).fill(0));
  const autoPad = n.stringAttr('auto_pad', 'NOTSET');
  const ceil = n.intAttr('ceil_mode', 0) === 1;
  const out: Dim[] = [s[0], channels];
  for (let i = 0; i < sp; i++) {
    const d = s[i + 2];
    const k = kernel[i];
    if (typeof d !== 'number' || typeof k !== 'number') {
      out.push(undefined);
      continue;
    }
    const ek = (k - 1) * dil[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(d / strides[i]!));
    else if (autoPad === 'VALID') out.push(Math.floor((d - ek) / strides[i]!) + 1);
    else {
      const span = d + pads[i]! + pads[i + sp]! - ek;
      out.push((ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1);
    }
  }
  return { dtype: x.dtype, shape: out };
}

/** Shape rules for the ops Graft differentiates or emits. Other engineers' rule families add theirs here. */
export const SHAPE_RULES: Record<string, ShapeRule> = {
  Identity: same,
  Neg: same,
  Abs: same,
  Relu: same,
  LeakyRelu: same,
  Sigmoid: same,
  HardSigmoid: same,
  HardSwish: same,
  Tanh: same,
  Exp: same,
  Log: same,
  Sqrt: same,
  Reciprocal: same,
  Sign: same,
  Floor: same,
  Ceil: same,
  Round: same,
  Erf: same,
  Softplus: same,
  Elu: same,
  Selu: same,
  Sin: same,
  Cos: same,
  Softmax: same,
  LogSoftmax: same,
  Clip: same,
  PRelu: same,
  CumSum: same,
  BatchNormalization: same,
  InstanceNormalization: same,
  LayerNormalization: same,
  LRN: same,
  IsNaN: withDtype('bool'),
  Not: withDtype('bool'),
  Dropout: (n, q) => {
    const x = q.type(n.inputs[0]!);
    return [x, { dtype: 'bool', shape: x?.shape }];
  },
  Cast: (n, q) => [{ dtype: dtypeFromCode(n.intAttr('to', 1)), shape: q.type(n.inputs[0]!)?.shape }],
  CastLike: (n, q) => [{ dtype: q.type(n.inputs[1]!)?.dtype, shape: q.type(n.inputs[0]!)?.shape }],
  Add: broadcast(),
  Sub: broadcast(),
  Mul: broadcast(),
  Div: broadcast(),
  Pow: broadcast(),
  Max: broadcast(),
  Min: broadcast(),
  Sum: broadcast(),
  Mean: broadcast(),
  Mod: broadcast(),
  Equal: broadcast('bool'),
  Greater: broadcast('bool'),
  GreaterOrEqual: broadcast('bool'),
  Less: broadcast('bool'),
  LessOrEqual: broadcast('bool'),
  And: broadcast('bool'),
  Or: broadcast('bool'),
  Xor: broadcast('bool'),
  Where: broadcast(undefined, 1),
  MatMul: (n, q) => {
    const a = q.type(n.inputs[0]!);
    const b = q.type(n.inputs[1]!)?.shape;
    const as = a?.shape;
    if (!as || !b || as.length === 0 || b.length === 0) return [{ dtype: a?.dtype }];
    const a2 = as.length === 1 ? [1, as[0]] : as;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
    const out: Dim[] = [...(batch ?? []), a2[a2.length - 2], b2[b2.length - 1]];
    if (b.length === 1) out.pop();
    if (as.length === 1) out.splice(out.length - (b.length === 1 ? 1 : 2), 1);
    return [{ dtype: a?.dtype, shape: batch ? out : undefined }];
  },
  Gemm: (n, q) => {
    const a = q.type(n.inputs[0]!);
    const as = a?.shape;
    const bs = q.type(n.inputs[1]!)?.shape;
    if (!as || !bs || as.length !== 2 || bs.length !== 2) return [{ dtype: a?.dtype }];
    const m = n.intAttr('transA', 0) ? as[1] : as[0];
    const k = n.intAttr('transB', 0) ? bs[0] : bs[1];
    return [{ dtype: a!.dtype, shape: [m, k] }];
  },
  Transpose: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    if (!s) return [{ dtype: x?.dtype }];
    const perm = n.intsAttr('perm') ?? s.map((_, i) => s.length - 1 - i);
    return [{ dtype: x.dtype, shape: perm.map((p) => s[p]) }];
  },
  Reshape: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const target = q.contents(n.inputs[1]!);
    if (!target) {
      const r = q.type(n.inputs[1]!)?.shape?.[0];
      return [{ dtype: x?.dtype, shape: typeof r === 'number' ? Array(r).fill(undefined) : undefined }];
    }
    return [{ dtype: x?.dtype, shape: reshapeTarget(x?.shape, target, n.intAttr('allowzero', 0) === 1) }];
  },
  Flatten: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    if (!s) return [{ dtype: x?.dtype, shape: [undefined, undefined] }];
    const axis = normAxis(n.intAttr('axis', 1), s.length);
    return [{ dtype: x.dtype, shape: [product(s.slice(0, axis)), product(s.slice(axis))] }];
  },
  Concat: (n, q) => {
    const ts = n.inputs.map((v) => q.type(v));
    const dtype = ts.find((t) => t?.dtype)?.dtype;
    const shapes = ts.map((t) => t?.shape);
    const first = shapes.find((s) => s);
    if (!first) return [{ dtype }];
    const axis = normAxis(n.intAttr('axis', 0), first.length);
    const out = first.map((_, i) =>
      i === axis ? undefined : (shapes.map((s) => s?.[i]).find((d) => typeof d === 'number') ?? first[i]),
    );
    if (shapes.every((s) => s)) {
      const along = shapes.map((s) => s![axis]);
      out[axis] = along.every((d) => typeof d === 'number')
        ? (along as number[]).reduce((a, b) => a + b, 0)
        : along.length === 1
          ? along[0]
          : undefined;
    }
    return [{ dtype, shape: out }];
  },
  Split: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    const count = n.outputs.length;
    if (!s) return n.outputs.map(() => ({ dtype: x?.dtype }));
    const axis = normAxis(n.intAttr('axis', 0), s.length);
    let sizes: Dim[] | undefined =
      q.opset >= 13 ? (n.inputs[1] ? q.contents(n.inputs[1]) : undefined) : n.intsAttr('split');
    const d = s[axis];
    if (!sizes && typeof d === 'number') {
      const k = Math.ceil(d / count);
      sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(k, d - i * k)));
    }
    return n.outputs.map((_, i) => ({ dtype: x.dtype, shape: s.map((dd, j) => (j === axis ? sizes?.[i] : dd)) }));
  },
  Squeeze: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    const axes = q.opset >= 13 ? (n.inputs[1] ? q.contents(n.inputs[1]) : null) : (n.intsAttr('axes') ?? null);
    if (!s || axes === undefined) return [{ dtype: x?.dtype }];
    if (axes === null)
      return [{ dtype: x.dtype, shape: s.some((d) => typeof d !== 'number') ? undefined : s.filter((d) => d !== 1) }];
    const set = new Set((axes as number[]).map((a) => normAxis(a, s.length)));
    return [{ dtype: x.dtype, shape: s.filter((_, i) => !set.has(i)) }];
  },
  Unsqueeze: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    const axes = q.opset >= 13 ? q.contents(n.inputs[1] ?? '') : n.intsAttr('axes');
    if (!s || !axes || axes.some((a) => typeof a !== 'number')) return [{ dtype: x?.dtype }];
    const rank = s.length + axes.length;
    const set = new Set((axes as number[]).map((a) => normAxis(a, rank)));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : s[k++]);
    return [{ dtype: x.dtype, shape: out }];
  },
  Expand: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const target = q.contents(n.inputs[1]!);
    return [{ dtype: x?.dtype, shape: target ? broadcastShapes([x?.shape, target]) : undefined }];
  },
  Shape: (n, q) => {
    const r = rankOf(q.type(n.inputs[0]!));
    if (r === undefined) return [{ dtype: 'int64', shape: [undefined] }];
    const start = normAxis(n.intAttr('start', 0), r);
    const end = n.attrs['end'] ? normAxis(n.intAttr('end', r), r) : r;
    return [{ dtype: 'int64', shape: [Math.max(0, Math.min(r, end) - Math.max(0, start))] }];
  },
  Size: () => [{ dtype: 'int64', shape: [] }],
  ConstantOfShape: (n, q) => {
    const v = n.attrs['value'];
    const dtype: DType = v?.type === 'tensor' ? v.value.dtype : 'float32';
    const c = q.contents(n.inputs[0]!);
    const len = q.type(n.inputs[0]!)?.shape?.[0];
    return [{ dtype, shape: c ?? (typeof len === 'number' ? Array(len).fill(undefined) : undefined) }];
  },
  Constant: (n) => {
    const t = constantTensor(n);
    if (t) return [{ dtype: t.dtype, shape: t.shape }];
    return [undefined];
  },
  Gather: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    const idx = q.type(n.inputs[1]!)?.shape;
    if (!s || !idx) return [{ dtype: x?.dtype }];
    const axis = normAxis(n.intAttr('axis', 0), s.length);
    return [{ dtype: x.dtype, shape: [...s.slice(0, axis), ...idx, ...s.slice(axis + 1)] }];
  },
  ReduceSum: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceMean: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceMax: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceMin: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceSumSquare: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceL2: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  ReduceLogSumExp: (n, q) => [{ dtype: q.type(n.inputs[0]!)?.dtype, shape: reduceShape(n, q) }],
  OneHot: (n, q) => {
    const idx = q.type(n.inputs[0]!)?.shape;
    const depth = q.contents(n.inputs[1]!)?.[0];
    const dtype = q.type(n.inputs[2]!)?.dtype;
    if (!idx) return [{ dtype }];
    const rank = idx.length + 1;
    const axis = normAxis(n.intAttr('axis', -1), rank);
    const out = [...idx];
    out.splice(axis, 0, typeof depth === 'number' ? depth : undefined);
    return [{ dtype, shape: out }];
  },
  GlobalAveragePool: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    return [{ dtype: x?.dtype, shape: s ? s.map((d, i) => (i < 2 ? d : 1)) : undefined }];
  },
  GlobalMaxPool: (n, q) => {
    const x = q.type(n.inputs[0]!);
    const s = x?.shape;
    return [{ dtype: x?.dtype, shape: s ? s.map((d, i) => (i < 2 ? d : 1)) : undefined }];
  },
  Conv: (n, q) => {
    const w = q.type(n.inputs[1]!)?.shape;
    const kernel = n.intsAttr('kernel_shape') ?? w?.slice(2);
    return [poolLike(n, q, kernel, w?.[0])];
  },
  MaxPool: (n, q) => {
    const t = poolLike(n, q, n.intsAttr('kernel_shape'), q.type(n.inputs[0]!)?.shape?.[1]);
    return [t, { dtype: 'int64', shape: t?.shape }];
  },
  AveragePool: (n, q) => [poolLike(n, q, n.intsAttr('kernel_shape'), q.type(n.inputs[0]!)?.shape?.[1])],
};

/** dtype/shape of a Constant node's value attribute. */
function constantTensor(n: Node): { dtype: DType; shape: number[]; values?: number[] } | undefined {
  const a = n.attrs;
  if (a['value']?.type === 'tensor') {
    const t = a['value'].value;
    return { dtype: t.dtype, shape: [...t.dims], values: tensorContents(t) as number[] | undefined };
  }
  if (a['value_float']?.type === 'float') return { dtype: 'float32', shape: [], values: [a['value_float'].value] };
  if (a['value_floats']?.type === 'floats')
    return { dtype: 'float32', shape: [a['value_floats'].value.length], values: [...a['value_floats'].value] };
  if (a['value_int']?.type === 'int') return { dtype: 'int64', shape: [], values: [Number(a['value_int'].value)] };
  if (a['value_ints']?.type === 'ints')
    return { dtype: 'int64', shape: [a['value_ints'].value.length], values: a['value_ints'].value.map(Number) };
  return undefined;
}

/** Build-time evaluation of the small integer computations models do on shapes (Shape -> Gather -> Concat ...). */
function foldContents(n: Node, q: TypeQuery): Dim[] | undefined {
  const c = (i: number) => (n.inputs[i] ? q.contents(n.inputs[i]!) : undefined);
  switch (n.opType) {
    case 'Constant': {
      const t = constantTensor(n);
      return t?.values && t.values.length <= MAX_TRACKED ? t.values : undefined;
    }
    case 'Shape': {
      const s = q.type(n.inputs[0]!)?.shape;
      if (!s) return undefined;
      const r = s.length;
      const start = Math.max(0, normAxis(n.intAttr('start', 0), r));
      const end = n.attrs['end'] ? Math.min(r, normAxis(n.intAttr('end', r), r)) : r;
      return s.slice(start, end);
    }
    case 'Size': {
      const s = q.type(n.inputs[0]!)?.shape;
      const p = s ? product(s.length ? s : [1]) : undefined;
      return typeof p === 'number' ? [p] : undefined;
    }
    case 'Identity':
    case 'Cast':
      return c(0);
    case 'Gather': {
      const data = c(0);
      const idx = c(1);
      if (!data || !idx || n.intAttr('axis', 0) !== 0) return undefined;
      if (idx.some((i) => typeof i !== 'number')) return undefined;
      return (idx as number[]).map((i) => data[normAxis(i, data.length)]);
    }
    case 'Unsqueeze':
    case 'Squeeze':
      return c(0);
    case 'Concat': {
      const parts = n.inputs.map((_, i) => c(i));
      return parts.every((p) => p) ? parts.flatMap((p) => p!) : undefined;
    }
    case 'Slice': {
      const data = c(0);
      const starts = c(1);
      const ends = c(2);
      if (!data || !starts || !ends || starts.length !== 1 || n.inputs[4]) return undefined;
      const [s0, e0] = [starts[0], ends[0]];
      if (typeof s0 !== 'number' || typeof e0 !== 'number') return undefined;
      const clamp = (v: number) => Math.max(0, Math.min(data.length, normAxis(v, data.length)));
      return data.slice(clamp(s0), clamp(e0));
    }
    case 'Mul':
    case 'Add':
    case 'Sub':
    case 'Div': {
      const dt = q.type(n.inputs[0]!)?.dtype;
      if (dt !== 'int64' && dt !== 'int32') return undefined;
      const a = c(0);
      const b = c(1);
      if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) return undefined;
      const len = Math.max(a.length, b.length);
      const out: Dim[] = [];
      for (let i = 0; i < len; i++) {
        const x = a[a.length === 1 ? 0 : i];
        const y = b[b.length === 1 ? 0 : i];
        if (typeof x !== 'number' || typeof y !== 'number') return undefined;
        out.push(
          n.opType === 'Mul' ? x * y : n.opType === 'Add' ? x + y : n.opType === 'Sub' ? x - y : Math.trunc(x / y),
        );
      }
      return out;
    }
    default:
      return undefined;
  }
}
