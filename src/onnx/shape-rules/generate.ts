import { dtypeFromCode, type DType } from '../dtype.js';
import type { Dim, Graph } from '../graph.js';
import { formatShape, isNum, product } from './dims.js';
import { agree, axisOf, MAX_VALUE_ELEMENTS, tensorFacts, unknownDims } from './helpers.js';
import type { ShapeRule, ValueFacts } from './types.js';

const INT_TYPES = new Set<DType>(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64']);

const shapeOp: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (!x) return ctx.set(0, { dtype: 'int64', shape: [undefined] });
  // opset 15 start/end, clamped like Slice
  const r = x.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(ctx.node.intAttr('start', 0));
  const end = clamp(ctx.node.intAttr('end', r));
  const dims = x.slice(start, Math.max(start, end));
  ctx.set(0, { dtype: 'int64', shape: [dims.length], value: dims });
};

const constant: ShapeRule = (ctx) => {
  const a = ctx.node.attrs;
  const v = a.value;
  if (v?.type === 'tensor') return ctx.set(0, tensorFacts(v.value));
  if (a.value_float) return ctx.set(0, { dtype: 'float32', shape: [], value: [ctx.node.floatAttr('value_float', 0)] });
  if (a.value_int) return ctx.set(0, { dtype: 'int64', shape: [], value: [ctx.node.intAttr('value_int', 0)] });
  if (a.value_floats?.type === 'floats') {
    const f = a.value_floats.value;
    return ctx.set(0, { dtype: 'float32', shape: [f.length], value: f.length <= MAX_VALUE_ELEMENTS ? f : undefined });
  }
  if (a.value_ints) {
    const n = ctx.node.intsAttr('value_ints', []);
    return ctx.set(0, { dtype: 'int64', shape: [n.length], value: n.length <= MAX_VALUE_ELEMENTS ? n : undefined });
  }
  if (a.value_string) return ctx.set(0, { dtype: 'string', shape: [] });
  if (a.value_strings?.type === 'strings')
    return ctx.set(0, { dtype: 'string', shape: [a.value_strings.value.length] });
  // sparse_value: dense shape is inside the opaque proto; leave unknown
};

const constantOfShape: ShapeRule = (ctx) => {
  const v = ctx.node.attrs.value;
  const fill = v?.type === 'tensor' ? tensorFacts(v.value) : { dtype: 'float32' as DType, value: [0] };
  const dims = ctx.value(0);
  const s = ctx.shape(0);
  const shape = dims ?? (s?.length === 1 && isNum(s[0]) ? unknownDims(s[0]) : undefined);
  const n = shape ? product(shape) : undefined;
  const value =
    isNum(n) && n <= MAX_VALUE_ELEMENTS && fill.value?.length === 1 ? new Array<Dim>(n).fill(fill.value[0]) : undefined;
  ctx.set(0, { dtype: fill.dtype, shape, value });
};

const range: ShapeRule = (ctx) => {
  for (let i = 0; i < 3; i++) {
    const s = ctx.shape(i);
    if (s && product(s) !== 1)
      ctx.fail('start, limit and delta must be scalars', { inputIndex: i, found: formatShape(s) });
  }
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.numbers(i)?.[0]);
  const dtype = ctx.dtype(0);
  if (start === undefined || limit === undefined || delta === undefined)
    return ctx.set(0, { dtype, shape: [undefined] });
  if (delta === 0) ctx.fail('delta is 0', { inputIndex: 2 });
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const value =
    dtype && INT_TYPES.has(dtype) && n <= MAX_VALUE_ELEMENTS
      ? Array.from({ length: n }, (_, i) => start + i * delta)
      : undefined;
  ctx.set(0, { dtype, shape: [n], value });
};

const oneHot: ShapeRule = (ctx) => {
  const ind = ctx.shape(0);
  const vals = ctx.shape(2);
  if (vals && !(vals.length === 1 && (vals[0] === 2 || vals[0] === undefined))) {
    ctx.fail('values must be [off_value, on_value]', { inputIndex: 2, found: formatShape(vals) });
  }
  const d = ctx.numbers(1);
  const dtype = ctx.dtype(2);
  if (!ind) return ctx.set(0, { dtype });
  const axis = axisOf(ctx, ctx.node.intAttr('axis', -1), ind.length + 1);
  const out: Dim[] = [...ind];
  out.splice(axis, 0, d ? d[0] : undefined);
  ctx.set(0, { dtype, shape: out });
};

const cast: ShapeRule = (ctx) => {
  const to = dtypeFromCode(ctx.node.intAttr('to', 0));
  const v = ctx.value(0);
  let value: Dim[] | undefined;
  if (v && INT_TYPES.has(to)) value = v.map((x) => (isNum(x) ? Math.trunc(x) : x));
  else if (v && (to === 'float32' || to === 'float64')) value = v;
  ctx.set(0, { dtype: to, shape: ctx.shape(0), value });
};

const dropout: ShapeRule = (ctx) => {
  ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(0) });
  if (ctx.node.outputs.length > 1) ctx.set(1, { dtype: 'bool', shape: ctx.shape(0) });
};

/** SoftmaxCrossEntropyLoss / NegativeLogLikelihoodLoss: scores [N, C, d...], labels [N, d...]. */
const classLoss: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const labels = ctx.shape(1);
  if (x && x.length < 2) ctx.fail('scores must be [N, C, ...]', { found: formatShape(x) });
  if (x && labels) {
    if (labels.length !== x.length - 1) {
      ctx.fail('labels must be scores without the class axis', {
        inputIndex: 1,
        expected: formatShape([x[0], ...x.slice(2)]),
        found: formatShape(labels),
      });
    }
    labels.forEach((d, i) => agree(ctx, d, x[i === 0 ? 0 : i + 1], 'labels and scores disagree', 1));
  }
  const reduction = ctx.node.stringAttr('reduction', 'mean');
  ctx.set(0, { dtype: ctx.dtype(0), shape: reduction === 'none' ? (labels ?? (x && [x[0], ...x.slice(2)])) : [] });
  if (ctx.node.outputs.length > 1) ctx.set(1, { dtype: ctx.dtype(0), shape: x });
};

/** If: an output is known as far as both branches agree. */
const ifOp: ShapeRule = (ctx) => {
  const g = (name: string) => {
    const a = ctx.node.attrs[name];
    return a?.type === 'graph' ? a.value : undefined;
  };
  const [t, e] = [g('then_branch'), g('else_branch')] as (Graph | undefined)[];
  if (!t || !e) return;
  const tf = ctx.subgraph(t);
  const ef = ctx.subgraph(e);
  ctx.node.outputs.forEach((_, o) => {
    const a: ValueFacts = tf[o] ?? {};
    const b: ValueFacts = ef[o] ?? {};
    if (a.dtype && b.dtype && a.dtype !== b.dtype) {
      ctx.fail(`the branches give output #${o} different element types`, { expected: a.dtype, found: b.dtype });
    }
    const shape =
      a.shape && b.shape && a.shape.length === b.shape.length
        ? a.shape.map((d, i) => (d === b.shape![i] ? d : undefined))
        : undefined;
    ctx.set(o, { dtype: a.dtype ?? b.dtype, shape });
  });
};

export const generateRules: Record<string, ShapeRule> = {
  Shape: shapeOp,
  Size: (ctx) => {
    const x = ctx.shape(0);
    ctx.set(0, { dtype: 'int64', shape: [], value: x ? [product(x)] : undefined });
  },
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
  OneHot: oneHot,
  Cast: cast,
  CastLike: (ctx) => ctx.set(0, { dtype: ctx.dtype(1), shape: ctx.shape(0), value: ctx.value(0) }),
  Identity: (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(0), value: ctx.value(0) }),
  Dropout: dropout,
  EyeLike: (ctx) => {
    const code = ctx.node.attrs.dtype ? ctx.node.intAttr('dtype', 1) : undefined;
    ctx.set(0, { dtype: code === undefined ? ctx.dtype(0) : dtypeFromCode(code), shape: ctx.shape(0) });
  },
  NonZero: (ctx) => ctx.set(0, { dtype: 'int64', shape: [ctx.shape(0)?.length, undefined] }),
  SoftmaxCrossEntropyLoss: classLoss,
  NegativeLogLikelihoodLoss: classLoss,
  If: ifOp,
};
