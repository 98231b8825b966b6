import { GraftError } from '../errors.js';
import type { Model, Node } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { Emitter, floatArray } from './emitter.js';
import { reduceMean, unsqueeze } from './ops.js';
import { isBatchNormTraining } from './rules/norm.js';
import { INT_MAX } from './rules/window.js';
import { TypeEnv } from './shapes.js';
import { formulationsFor, safeGroupWidth } from './target.js';

// The graph-level half of the provider-specific formulations (target.ts has the table of kernel bugs).

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/**
 * Rewrites, in place, the nodes of a training graph built for `target` that the provider's kernels get
 * wrong (the table at the top of this file), forward and backward nodes alike, so that every value keeps its
 * name and meaning. Does nothing for targets without known bugs. Returns what it rewrote, by kind.
 */
export function legalizeForTarget(model: Model, target?: string): Record<string, number> {
  const done: Record<string, number> = {};
  if (formulationsFor(target).target !== 'webgpu') return done;
  const g = model.graph;
  g.toposort();
  const env = TypeEnv.fromGraph(g, model.opset);
  const e = new Emitter(g, env, target);
  e.prefix = 'webgpu';
  const replaced = new Set<Node>();
  const count = (kind: string) => (done[kind] = (done[kind] ?? 0) + 1);
  for (const n of [...g.nodes]) {
    if (!isDefault(n)) continue;
    const result = REWRITES[n.opType]?.(e, n);
    if (result === 'replaced') replaced.add(n);
    if (result) count(n.opType);
  }
  if (replaced.size) g.removeNodes((n) => replaced.has(n));
  g.touch().toposort();
  const left = unsafeNodes(model, target);
  if (left.length) {
    throw new GraftError('UNSUPPORTED_OP', `The training graph has ops onnxruntime's WebGPU provider cannot run`, {
      node: left[0]!.node,
      op: left[0]!.op,
      found: left.map((l) => `${l.node}: ${l.why}`).join('; '),
      fix: 'train this model on --device cpu, or freeze the layers these nodes belong to',
    });
  }
  return done;
}

/**
 * A rewrite replaces node `n` by nodes that produce its outputs under the same names (it emits them, then
 * the caller removes `n`: 'replaced'), adjusts `n` in place ('adjusted'), or leaves it (undefined).
 */
type Rewrite = (e: Emitter, n: Node) => 'replaced' | 'adjusted' | undefined;

function staticDims(e: Emitter, v: string): number[] | undefined {
  const s = e.shape(v);
  return s && s.every((d): d is number => typeof d === 'number') ? s : undefined;
}

function zeros(e: Emitter, like: string, dims: number[]): string {
  const dtype = e.dtype(like) ?? 'float32';
  return e.tensor(floatArray(dtype, new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(0)), dims, dtype, 'zeros');
}

/** kernel_shape from the weights' static shape, when the node has none. */
function withKernelShape(e: Emitter, n: Node): boolean {
  if (n.attrs.kernel_shape) return false;
  const ws = staticDims(e, n.inputs[1]!);
  if (!ws) return false;
  n.attrs.kernel_shape = { type: 'ints', value: ws.slice(2) };
  return true;
}

const rewriteConv: Rewrite = (e, n) => {
  const changed = withKernelShape(e, n) ? 'adjusted' : undefined;
  const group = n.intAttr('group', 1);
  const ws = staticDims(e, n.inputs[1]!);
  if (group === 1 || !ws) return changed;
  const m = ws[0]!;
  const width = m / group;
  const safe = safeGroupWidth(width);
  if (safe === width) return changed;
  // kernels and bias gathered into groups of `safe`, the extra places reading an appended zero kernel
  const at = (j: number, p: number) => (p < width ? j * width + p : m);
  const order = Array.from({ length: group * safe }, (_, i) => at(Math.floor(i / safe), i % safe));
  const keep = order.flatMap((src, i) => (src < m ? [i] : []));
  const [x, w, b] = n.inputs;
  const wide = (v: string, dims: number[]) =>
    e.emit('Gather', [e.emit('Concat', [v, zeros(e, v, dims)], { axis: 0 }), e.ints(order)], { axis: 0 });
  const inputs = [x!, wide(w!, [1, ...ws.slice(1)])];
  if (b) inputs.push(wide(b, [1]));
  const y = e.emit('Conv', inputs, { ...plainAttrs(n) });
  e.emit('Gather', [y, e.ints(keep)], { axis: 1 }, { outputs: [n.outputs[0]!] });
  return 'replaced';
};

const rewriteConvTranspose: Rewrite = (e, n) => {
  const changed = withKernelShape(e, n) ? 'adjusted' : undefined;
  const group = n.intAttr('group', 1);
  const ws = staticDims(e, n.inputs[1]!);
  if (group === 1 || !ws || ws[1] !== 1) return changed;
  const c = ws[0]!;
  const width = c / group;
  if (width % 2 !== 0) return changed;
  // one zero input channel (and zero kernel) appended to every group: an odd width
  const order = Array.from({ length: group * (width + 1) }, (_, i) => {
    const [j, p] = [Math.floor(i / (width + 1)), i % (width + 1)];
    return p < width ? j * width + p : c;
  });
  const [x, w, b] = n.inputs;
  const shape = e.shapeOf(x!);
  const zeroShape = e.emit(
    'Concat',
    [
      e.emit('Slice', [shape, e.ints([0]), e.ints([1])]),
      e.ints([1]),
      e.emit('Slice', [shape, e.ints([2]), e.ints([INT_MAX])]),
    ],
    { axis: 0 },
  );
  const zeroChannel = e.emit('ConstantOfShape', [zeroShape], {
    value: Tensor.from('value', floatArray(e.dtype(x!) ?? 'float32', [0]), [1], e.dtype(x!) ?? 'float32'),
  });
  const xWide = e.emit('Gather', [e.emit('Concat', [x!, zeroChannel], { axis: 1 }), e.ints(order)], { axis: 1 });
  const wWide = e.emit(
    'Gather',
    [e.emit('Concat', [w!, zeros(e, w!, [1, ...ws.slice(1)])], { axis: 0 }), e.ints(order)],
    { axis: 0 },
  );
  e.emit('ConvTranspose', b ? [xWide, wWide, b] : [xWide, wWide], { ...plainAttrs(n) }, { outputs: [n.outputs[0]!] });
  return 'replaced';
};

/** A node's attributes in the form the emitter takes. */
function plainAttrs(n: Node): Record<string, number | number[] | string> {
  const out: Record<string, number | number[] | string> = {};
  for (const [k, a] of Object.entries(n.attrs)) {
    if (a.type === 'int') out[k] = Number(a.value);
    else if (a.type === 'ints') out[k] = a.value.map(Number);
    else if (a.type === 'float') out[k] = a.value;
    else if (a.type === 'string') out[k] = a.value;
  }
  return out;
}

/** Slice with negative steps: the reversed axes become Gathers of explicit indices (static sizes needed). */
const rewriteSlice: Rewrite = (e, n) => {
  const [data, startsV, endsV, axesV, stepsV] = n.inputs;
  if (!stepsV) return undefined;
  const steps = e.constant(stepsV);
  if (!steps || steps.every((s) => s > 0)) return undefined;
  const starts = e.constant(startsV!);
  const ends = e.constant(endsV!);
  const dims = e.shape(data!);
  const axes = axesV ? e.constant(axesV) : steps.map((_, i) => i);
  if (!starts || !ends || !axes || !dims) return undefined;
  const rank = dims.length;
  const forward: number[] = [];
  const reversed: { axis: number; indices: number[] }[] = [];
  for (let i = 0; i < steps.length; i++) {
    const axis = axes[i]! < 0 ? axes[i]! + rank : axes[i]!;
    if (steps[i]! > 0) {
      forward.push(i);
      continue;
    }
    const size = dims[axis];
    if (typeof size !== 'number') return undefined;
    // ONNX, negative steps: start clamped to [0, size - 1], end to [-1, size - 1], after adding size to negatives
    const clamp = (v: number, low: number) => Math.min(Math.max(v < 0 ? v + size : v, low), size - 1);
    const indices: number[] = [];
    for (let k = clamp(starts[i]!, 0); k > clamp(ends[i]!, -1); k += steps[i]!) indices.push(k);
    reversed.push({ axis, indices });
  }
  let v = data!;
  if (forward.length) {
    const pick = (a: number[]) => e.ints(forward.map((i) => a[i]!));
    v = e.emit('Slice', [v, pick(starts), pick(ends), pick(axes), pick(steps)]);
  }
  reversed.forEach((r, k) => {
    const last = k === reversed.length - 1;
    v = e.emit('Gather', [v, e.ints(r.indices)], { axis: r.axis }, last ? { outputs: [n.outputs[0]!] } : undefined);
  });
  return 'replaced';
};

/**
 * BatchNormalization in training mode written out: the batch mean and (biased) variance by ReduceMean, the
 * running statistics mixed with momentum as the ONNX spec says. The backward pass, already emitted against
 * the node's inputs and outputs, reads the same values.
 */
const rewriteBatchNorm: Rewrite = (e, n) => {
  if (!isBatchNormTraining(n, e.opset)) return undefined;
  const [x, scale, bias, mean, variance] = n.inputs as [string, string, string, string, string];
  const rank = e.shape(x)?.length;
  if (rank === undefined) return undefined;
  const g = e.graph;
  const used = (o: string | undefined) => !!o && (g.consumers(o).length > 0 || g.isGraphOutput(o));
  if (n.outputs.slice(3).some(used)) {
    throw new GraftError('UNSUPPORTED_OP', 'A BatchNormalization in training mode returns its saved statistics', {
      node: n.label,
      op: n.opType,
      fix: "onnxruntime's WebGPU provider has no training-mode BatchNormalization: use --device cpu",
    });
  }
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const channelAxes = Array.from({ length: rank - 2 }, (_, i) => i + 1);
  const perChannel = (v: string) => (rank > 2 ? unsqueeze(e, v, channelAxes) : v);
  const eps = n.floatAttr('epsilon', 1e-5);
  const momentum = n.floatAttr('momentum', 0.9);
  const mu = reduceMean(e, x, axes, true);
  const centred = e.emit('Sub', [x, mu]);
  const batchVar = reduceMean(e, e.emit('Mul', [centred, centred]), axes, true);
  const invStd = e.emit('Pow', [e.emit('Add', [batchVar, e.scalar(eps, x)]), e.scalar(-0.5, x)]);
  const scaled = e.emit('Mul', [e.emit('Mul', [centred, invStd]), perChannel(scale)]);
  e.emit('Add', [scaled, perChannel(bias)], undefined, { outputs: [n.outputs[0]!] });
  const mix = (running: string, batch: string, out: string | undefined) => {
    if (!used(out)) return;
    const current = e.emit('Reshape', [batch, e.ints([-1])]);
    const kept = e.emit('Mul', [running, e.scalar(momentum, running)]);
    e.emit('Add', [kept, e.emit('Mul', [current, e.scalar(1 - momentum, running)])], undefined, { outputs: [out!] });
  };
  mix(mean, mu, n.outputs[1]);
  mix(variance, batchVar, n.outputs[2]);
  return 'replaced';
};

/** LayerNormalization's scale and bias expanded to the normalised shape when they broadcast. */
const rewriteLayerNorm: Rewrite = (e, n) => {
  const x = n.inputs[0]!;
  const dims = staticDims(e, x);
  if (!dims) return undefined;
  const axis = n.intAttr('axis', -1);
  const normalised = dims.slice(axis < 0 ? axis + dims.length : axis);
  let changed: 'adjusted' | undefined;
  n.inputs = n.inputs.map((v, i) => {
    if (i === 0 || !v) return v;
    const s = e.shape(v);
    if (s && s.length === normalised.length && s.every((d, k) => d === normalised[k])) return v;
    changed = 'adjusted';
    return e.emit('Expand', [v, e.ints(normalised)]);
  });
  return changed;
};

const REWRITES: Record<string, Rewrite> = {
  Conv: rewriteConv,
  ConvTranspose: rewriteConvTranspose,
  Slice: rewriteSlice,
  BatchNormalization: rewriteBatchNorm,
  LayerNormalization: rewriteLayerNorm,
};

export interface UnsafeNode {
  node: string;
  op: string;
  why: string;
}

/**
 * Nodes of a graph that `target`'s kernels are known to get wrong or fail on (the table at the top). Empty
 * for a graph legalizeForTarget has finished, and for every graph when the target has no known bugs.
 */
export function unsafeNodes(model: Model, target?: string): UnsafeNode[] {
  if (formulationsFor(target).target !== 'webgpu') return [];
  const g = model.graph;
  const env = TypeEnv.fromGraph(g, model.opset);
  const out: UnsafeNode[] = [];
  const flag = (n: Node, why: string) => out.push({ node: n.label, op: n.opType, why });
  for (const n of g.nodes) {
    if (!isDefault(n)) continue;
    const ws = n.inputs[1] ? env.shape(n.inputs[1]) : undefined;
    const group = n.intAttr('group', 1);
    if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
      if (!n.attrs.kernel_shape) flag(n, 'no kernel_shape');
      if (group > 1 && env.shape(n.inputs[0]!)?.length === 5) flag(n, '3-D convolution with groups');
    }
    if (n.opType === 'Conv' && group > 1 && typeof ws?.[0] === 'number') {
      const width = ws[0] / group;
      if (safeGroupWidth(width) !== width) flag(n, `${width} output channels per group`);
    }
    if (n.opType === 'ConvTranspose' && group > 1 && ws?.[1] === 1 && typeof ws[0] === 'number') {
      if ((ws[0] / group) % 2 === 0) flag(n, `${ws[0] / group} input channels and 1 output channel per group`);
    }
    if (n.opType === 'Slice' && n.inputs[4]) {
      const steps = env.numbers(n.inputs[4]);
      if (!steps || steps.some((s) => s < 0)) flag(n, 'a negative (or unknown) step');
    }
    if (n.opType === 'MaxPool' && n.outputs[1]) flag(n, 'its Indices output');
    if (n.opType === 'BatchNormalization' && isBatchNormTraining(n, model.opset)) flag(n, 'training mode');
  }
  return out;
}
