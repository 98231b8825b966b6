import type { Dim } from '../graph.js';
import { broadcastShapes, Conflict, countsDiffer, formatShape, isNum, product, quotient } from './dims.js';
import { agree, attrOrInput, axisOf, sameDtype, unknownDims } from './helpers.js';
import type { ShapeContext, ShapeRule } from './types.js';

/** Ops that only move elements around keep a known value's elements (in row-major order). */
const keepValue = (ctx: ShapeContext) => ctx.value(0);

const reshape: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const target = ctx.has(1) ? ctx.value(1) : ctx.node.intsAttr('shape'); // the attribute form is opset < 5
  if (!target) {
    const ts = ctx.shape(1);
    const rank = ts?.length === 1 && isNum(ts[0]) ? ts[0] : undefined;
    return ctx.set(0, { dtype, shape: rank === undefined ? undefined : unknownDims(rank) });
  }
  const allowZero = ctx.node.intAttr('allowzero', 0) !== 0;
  const out: Dim[] = target.map((d, i) => {
    if (d !== 0 || allowZero) return d;
    if (x && i >= x.length) {
      ctx.fail(`shape[${i}] is 0 (copy the input dim) but the input has only ${x.length} dims`, {
        inputIndex: 1,
        found: `shape ${formatShape(target)} for input ${formatShape(x)}`,
      });
    }
    return x?.[i];
  });
  const negative = out.flatMap((d, i) => (isNum(d) && d < 0 ? [i] : []));
  if (negative.length > 1 || negative.some((i) => out[i] !== -1)) {
    ctx.fail('shape may hold one -1 and no other negative size', { inputIndex: 1, found: formatShape(target) });
  }
  if (negative.length === 1) {
    const at = negative[0]!;
    const known = out.filter((_, i) => i !== at);
    const q = x ? quotient(x, known) : undefined;
    if (q instanceof Conflict) {
      ctx.fail('the element count does not divide by the given sizes', {
        inputIndex: 1,
        expected: `sizes whose product divides ${String(product(x!))}`,
        found: `input ${formatShape(x)} into ${formatShape(target)}`,
      });
    }
    out[at] = q as Dim;
  } else if (x && countsDiffer(x, out)) {
    ctx.fail('the element count changes', {
      inputIndex: 1,
      expected: `${String(product(x))} elements (input ${formatShape(x)})`,
      found: `${String(product(out))} elements (shape ${formatShape(target)})`,
    });
  }
  ctx.set(0, { dtype, shape: out, value: keepValue(ctx) });
};

const flatten: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  if (!x) return ctx.set(0, { dtype: ctx.dtype(0), shape: unknownDims(2) });
  let axis = ctx.node.intAttr('axis', 1);
  if (axis < 0) axis += x.length;
  if (axis < 0 || axis > x.length) {
    ctx.fail(`axis ${ctx.node.intAttr('axis', 1)} is out of range`, { expected: `in [${-x.length}, ${x.length}]` });
  }
  ctx.set(0, {
    dtype: ctx.dtype(0),
    shape: [product(x.slice(0, axis)), product(x.slice(axis))],
    value: keepValue(ctx),
  });
};

const transpose: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const perm = ctx.node.intsAttr('perm');
  if (!x) return ctx.set(0, { dtype: ctx.dtype(0), shape: perm ? unknownDims(perm.length) : undefined });
  const p = perm ?? x.map((_, i) => x.length - 1 - i);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== x.length || sorted.some((v, i) => v !== i)) {
    ctx.fail('perm is not a permutation of the input axes', {
      expected: `a permutation of 0..${x.length - 1}`,
      found: `[${p.join(', ')}]`,
    });
  }
  ctx.set(0, { dtype: ctx.dtype(0), shape: p.map((i) => x[i]) });
};

const squeeze: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const axes = attrOrInput(ctx, 'axes', 1);
  if (!x || axes === undefined) return ctx.set(0, { dtype });
  let drop: Set<number>;
  if (axes === 'absent') {
    // without axes every 1 goes; a dim that might be 1 makes the rank unknown
    if (x.some((d) => !isNum(d))) return ctx.set(0, { dtype });
    drop = new Set(x.flatMap((d, i) => (d === 1 ? [i] : [])));
  } else {
    drop = new Set(axes.map((a) => axisOf(ctx, a, x.length, 'axes')));
    for (const a of drop) {
      if (isNum(x[a]) && x[a] !== 1) {
        ctx.fail(`axis ${a} has size ${x[a]}, not 1`, { expected: 'only size-1 axes', found: formatShape(x) });
      }
    }
  }
  ctx.set(0, { dtype, shape: x.filter((_, i) => !drop.has(i)), value: keepValue(ctx) });
};

const unsqueeze: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const axes = attrOrInput(ctx, 'axes', 1);
  if (axes === 'absent') {
    return ctx.fail('axes are required', { fix: 'give axes (an attribute before opset 13, an input since)' });
  }
  if (!x || axes === undefined) return ctx.set(0, { dtype });
  const rank = x.length + axes.length;
  const at = new Set(axes.map((a) => axisOf(ctx, a, rank, 'axes')));
  if (at.size !== axes.length) ctx.fail('axes repeat an axis', { found: `[${axes.join(', ')}]` });
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x[k++]);
  ctx.set(0, { dtype, shape: out, value: keepValue(ctx) });
};

const concat: ShapeRule = (ctx) => {
  const idx = ctx.node.inputs.map((_, i) => i).filter((i) => ctx.has(i));
  const dtype = sameDtype(ctx, idx);
  const shapes = idx.map((i) => ctx.shape(i));
  const known = shapes.filter((s): s is Dim[] => s !== undefined);
  if (!ctx.node.attrs.axis) ctx.fail('axis is required', { fix: 'add an axis attribute' });
  if (known.length === 0) return ctx.set(0, { dtype });
  const rank = known[0]!.length;
  if (known.some((s) => s.length !== rank)) {
    ctx.fail('inputs have different ranks', { found: shapes.map(formatShape).join(', ') });
  }
  const axis = axisOf(ctx, ctx.node.intAttr('axis', 0), rank);
  const out: Dim[] = unknownDims(rank);
  for (let d = 0; d < rank; d++) {
    if (d === axis) continue;
    for (const [k, s] of shapes.entries()) {
      if (s) out[d] = agree(ctx, out[d], s[d], `inputs differ on axis ${d}, which is not the concat axis`, idx[k]);
    }
  }
  const parts = shapes.map((s) => s?.[axis]);
  out[axis] = parts.every(isNum) ? (parts as number[]).reduce((a, b) => a + b, 0) : undefined;
  const single = parts.filter((p) => p !== 0);
  if (single.length === 1 && !isNum(single[0])) out[axis] = single[0]; // concatenating empties
  const values = idx.map((i) => ctx.value(i));
  const value = rank === 1 && values.every((v) => v !== undefined) ? values.flatMap((v) => v!) : undefined;
  ctx.set(0, { dtype, shape: out, value });
};

/** Start, end and step of a slice of one axis after ONNX's clamping; a length. */
function sliceLength(size: number, start: number, end: number, step: number): { from: number; len: number } {
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), size);
    e = Math.min(Math.max(e, 0), size);
    return { from: s, len: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = Math.min(Math.max(s, 0), size - 1);
  e = Math.min(Math.max(e, -1), size - 1);
  return { from: s, len: Math.max(0, Math.ceil((s - e) / -step)) };
}

/** Bounds large enough to mean "to the end" whatever the size (exporters write INT64_MAX or INT32_MAX). */
const TO_END = 2 ** 31 - 1;

const slice: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const legacy = ctx.node.attrs.starts !== undefined; // opset < 10 takes attributes
  const starts = legacy ? ctx.node.intsAttr('starts') : ctx.numbers(1);
  const ends = legacy ? ctx.node.intsAttr('ends') : ctx.numbers(2);
  const axesIn = legacy ? (ctx.node.intsAttr('axes') ?? 'absent') : ctx.has(3) ? ctx.numbers(3) : 'absent';
  const stepsIn = !legacy && ctx.has(4) ? ctx.numbers(4) : 'absent';
  if (!x) return ctx.set(0, { dtype });
  if (!starts || !ends || axesIn === undefined || stepsIn === undefined) {
    return ctx.set(0, { dtype, shape: unknownDims(x.length) });
  }
  const axes = axesIn === 'absent' ? starts.map((_, i) => i) : axesIn;
  const steps = stepsIn === 'absent' ? starts.map(() => 1) : stepsIn;
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    ctx.fail('starts, ends, axes and steps have different lengths', {
      found: `${starts.length}, ${ends.length}, ${axes.length}, ${steps.length}`,
    });
  }
  const out = [...x];
  const picks: ({ from: number; len: number; step: number } | undefined)[] = [];
  axes.forEach((a, k) => {
    const axis = axisOf(ctx, a, x.length, 'axes');
    const [s, e, st] = [starts[k]!, ends[k]!, steps[k]!];
    if (st === 0) ctx.fail('a slice step is 0', { inputIndex: 4 });
    const size = x[axis];
    if (isNum(size)) {
      const r = sliceLength(size, s, e, st);
      out[axis] = r.len;
      picks[axis] = { ...r, step: st };
    } else {
      // a whole symbolic axis, forwards or backwards, keeps its symbol
      const whole = (st === 1 && s === 0 && e >= TO_END) || (st === -1 && s >= TO_END && e <= -TO_END);
      out[axis] = whole ? size : undefined;
    }
  });
  let value: Dim[] | undefined;
  const v = ctx.value(0);
  if (v && x.length === 1) {
    const p = picks[0];
    if (p) value = Array.from({ length: p.len }, (_, i) => v[p.from + i * p.step]);
    else if (!axes.length) value = v;
  }
  ctx.set(0, { dtype, shape: out, value });
};

/** GatherND (batch_dims b): indices [...I, q] pick slices of data: I + data[b + q:] (batch dims lead). */
const gatherNd: ShapeRule = (ctx) => {
  const data = ctx.shape(0);
  const ind = ctx.shape(1);
  const dtype = ctx.dtype(0);
  const q = ind?.[ind.length - 1];
  if (!data || !ind || !isNum(q)) return ctx.set(0, { dtype });
  const b = ctx.node.intAttr('batch_dims', 0);
  if (b + q > data.length) {
    ctx.fail('index tuples are longer than data has axes', {
      inputIndex: 1,
      expected: `at most ${data.length - b} coordinates`,
      found: String(q),
    });
  }
  ctx.set(0, { dtype, shape: [...ind.slice(0, -1), ...data.slice(b + q)] });
};

const gather: ShapeRule = (ctx) => {
  const data = ctx.shape(0);
  const ind = ctx.shape(1);
  const dtype = ctx.dtype(0);
  if (ctx.dtype(1) && !['int64', 'int32'].includes(ctx.dtype(1)!)) {
    ctx.fail('indices must be int32 or int64', { inputIndex: 1, found: ctx.dtype(1) });
  }
  if (!data || !ind) return ctx.set(0, { dtype });
  if (data.length === 0) ctx.fail('data must have rank >= 1', { found: 'a scalar' });
  const axis = axisOf(ctx, ctx.node.intAttr('axis', 0), data.length);
  const size = data[axis];
  const idx = ctx.numbers(1);
  if (idx && isNum(size)) {
    const bad = idx.find((i) => i < -size || i >= size);
    if (bad !== undefined) {
      ctx.fail(`index ${bad} is out of range for axis ${axis} of size ${size}`, {
        inputIndex: 1,
        expected: `indices in [${-size}, ${size - 1}]`,
        found: String(bad),
      });
    }
  }
  const shape = [...data.slice(0, axis), ...ind, ...data.slice(axis + 1)];
  const v = ctx.value(0);
  const value = v && idx && data.length === 1 && isNum(size) ? idx.map((i) => v[i < 0 ? i + size : i]) : undefined;
  ctx.set(0, { dtype, shape, value });
};

const split: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const n = ctx.node.outputs.length;
  if (!x) {
    for (let o = 0; o < n; o++) ctx.set(o, { dtype });
    return;
  }
  const axis = axisOf(ctx, ctx.node.intAttr('axis', 0), x.length);
  const size = x[axis];
  const given = attrOrInput(ctx, 'split', 1);
  let sizes: Dim[];
  if (given === undefined) sizes = unknownDims(n);
  else if (given !== 'absent') {
    if (given.length !== n) {
      ctx.fail('split has one size per output', { expected: `${n} sizes`, found: `[${given.join(', ')}]` });
    }
    const total = given.reduce((a, b) => a + b, 0);
    agree(ctx, size, total, `split sizes [${given.join(', ')}] do not add up to axis ${axis}`, 1);
    sizes = given;
  } else if (!isNum(size)) sizes = unknownDims(n);
  else if (ctx.node.attrs.num_outputs) {
    // opset 18: equal chunks, the last one smaller when the axis does not divide
    const chunk = Math.ceil(size / n);
    sizes = Array.from({ length: n }, (_, i) => (i < n - 1 ? chunk : size - chunk * (n - 1)));
  } else {
    if (size % n !== 0) {
      ctx.fail(`axis ${axis} of size ${size} does not split into ${n} equal parts`, {
        fix: 'give the split sizes explicitly',
      });
    }
    sizes = new Array<Dim>(n).fill(size / n);
  }
  sizes.forEach((s, o) => ctx.set(o, { dtype, shape: x.map((d, i) => (i === axis ? s : d)) }));
};

const expand: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const target = ctx.value(1);
  const ts = ctx.shape(1);
  const to = target ?? (ts?.length === 1 && isNum(ts[0]) ? unknownDims(ts[0]) : undefined);
  const r = broadcastShapes([x, to]);
  if (r && !Array.isArray(r)) {
    ctx.fail('the input cannot be broadcast to the requested shape', {
      inputIndex: 1,
      expected: `sizes equal to the input's, or 1, on every right-aligned axis`,
      found: `input ${formatShape(x)} to ${formatShape(to)}`,
    });
  }
  ctx.set(0, { dtype: ctx.dtype(0), shape: r as Dim[] | undefined });
};

const pad: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  const pads = attrOrInput(ctx, 'pads', 1);
  if (!x) return ctx.set(0, { dtype });
  if (pads === undefined || pads === 'absent') return ctx.set(0, { dtype, shape: unknownDims(x.length) });
  const axesIn = ctx.has(3) ? ctx.numbers(3) : x.map((_, i) => i);
  if (!axesIn) return ctx.set(0, { dtype, shape: unknownDims(x.length) });
  const axes = axesIn.map((a) => axisOf(ctx, a, x.length, 'axes'));
  if (pads.length !== 2 * axes.length) {
    ctx.fail('pads has the wrong length', {
      expected: `${2 * axes.length} values (begins then ends)`,
      found: `${pads.length}`,
    });
  }
  const out = [...x];
  axes.forEach((a, k) => {
    const add = pads[k]! + pads[k + axes.length]!;
    const d = x[a];
    if (isNum(d)) {
      if (d + add < 0) ctx.fail(`negative pads remove more than axis ${a} holds`, { found: `${d} + ${add}` });
      out[a] = d + add;
    } else out[a] = add === 0 ? d : undefined;
  });
  ctx.set(0, { dtype, shape: out });
};

const tile: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const reps = ctx.value(1);
  if (!x) return ctx.set(0, { dtype: ctx.dtype(0) });
  if (!reps) return ctx.set(0, { dtype: ctx.dtype(0), shape: unknownDims(x.length) });
  if (reps.length !== x.length) {
    ctx.fail('repeats needs one value per input axis', {
      inputIndex: 1,
      expected: `${x.length}`,
      found: `${reps.length}`,
    });
  }
  ctx.set(0, { dtype: ctx.dtype(0), shape: x.map((d, i) => product([d, reps[i]])) });
};

const resize: ShapeRule = (ctx) => {
  const x = ctx.shape(0);
  const dtype = ctx.dtype(0);
  if (!x) return ctx.set(0, { dtype });
  // before opset 11 the inputs were (X, scales); since then (X, roi, scales, sizes)
  const opsetTen = ctx.node.opType === 'Upsample' || ctx.opset < 11 || ctx.node.inputs.length === 2;
  const scales = opsetTen ? ctx.numbers(1) : ctx.has(2) ? ctx.numbers(2) : undefined;
  const sizes = !opsetTen && ctx.has(3) ? ctx.value(3) : undefined;
  const axesAttr = ctx.node.intsAttr('axes');
  const policy = ctx.node.stringAttr('keep_aspect_ratio_policy', 'stretch');
  const axes = axesAttr ? axesAttr.map((a) => axisOf(ctx, a, x.length, 'axes')) : x.map((_, i) => i);
  const out = [...x];
  if (sizes && sizes.length && policy === 'stretch') {
    if (sizes.length !== axes.length) ctx.fail('sizes needs one value per axis', { inputIndex: 3 });
    axes.forEach((a, k) => (out[a] = sizes[k]));
  } else if (scales && scales.length) {
    if (scales.length !== axes.length) ctx.fail('scales needs one value per axis', { inputIndex: 2 });
    axes.forEach((a, k) => {
      const d = x[a];
      out[a] = isNum(d) ? Math.floor(d * scales[k]!) : scales[k] === 1 ? d : undefined;
    });
  } else return ctx.set(0, { dtype, shape: unknownDims(x.length) });
  ctx.set(0, { dtype, shape: out });
};

function depthSpace(toSpace: boolean): ShapeRule {
  return (ctx) => {
    const x = ctx.shape(0);
    const b = ctx.node.intAttr('blocksize', 0);
    if (!x) return ctx.set(0, { dtype: ctx.dtype(0) });
    if (x.length !== 4) ctx.fail('input must be [N, C, H, W]', { found: formatShape(x) });
    const [n, c, h, w] = x;
    const div = (d: Dim, k: number, what: string) => {
      if (!isNum(d)) return undefined;
      if (d % k !== 0) ctx.fail(`${what} ${d} is not divisible by ${k}`);
      return d / k;
    };
    const mul = (d: Dim) => product([d, b]);
    const shape = toSpace
      ? [n, div(c, b * b, 'channels'), mul(h), mul(w)]
      : [n, product([c, b * b]), div(h, b, 'height'), div(w, b, 'width')];
    ctx.set(0, { dtype: ctx.dtype(0), shape });
  };
}

export const layoutRules: Record<string, ShapeRule> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Slice: slice,
  Gather: gather,
  GatherND: gatherNd,
  ScatterND: (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(0) }),
  ScatterElements: (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(0) }),
  GatherElements: (ctx) => ctx.set(0, { dtype: ctx.dtype(0), shape: ctx.shape(1) }),
  Split: split,
  Expand: expand,
  Pad: pad,
  Tile: tile,
  Resize: resize,
  Upsample: resize,
  DepthToSpace: depthSpace(true),
  SpaceToDepth: depthSpace(false),
};
