import { mulberry32 } from '../util/rng.js';
import type { DType, TypedArray } from '../onnx/dtype.js';
import type { AttrInput } from '../onnx/attrs.js';
import { GraphBuilder } from '../onnx/builder.js';
import { checkGraph } from '../onnx/check.js';
import type { Model } from '../onnx/graph.js';
import { appendBackward } from './backward.js';
import { Emitter } from './emitter.js';
import { TypeEnv } from './shapes.js';
import type { TrainingGraph } from './build.js';
import type { GradTable } from './types.js';
import { legalizeForTarget } from './legalize.js';

/**
 * Finite-difference checks of gradient rules and training graphs (JAX's check_vjp, in a random direction).
 * Pure: the caller passes a Runner that executes models (onnxruntime in the tests), so this module stays
 * free of any runtime and can be reused by every rule family's tests.
 */

/** A host tensor; structurally the same as the runtime's HostTensor. */
export interface TensorData {
  dtype: DType;
  dims: readonly number[];
  data: TypedArray;
}

export interface RunnerSession {
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  dispose(): Promise<void>;
}

/** Opens a model for repeated runs. */
export type Runner = (model: Model) => Promise<RunnerSession>;

export interface GradCheckInput {
  shape: number[];
  /** element type; floats default to the case's dtype */
  dtype?: DType;
  /** fixed contents (shape/axes tensors, class indices, chosen points); random otherwise */
  values?: number[];
  /** 'input' (default): fed at run time; 'constant': an initializer, as shape/axes tensors usually are */
  as?: 'input' | 'constant';
  /** differentiate with respect to this input (default: float inputs fed at run time) */
  wrt?: boolean;
  /** random values: 'normal' (default), 'positive' (log, sqrt, pow bases), 'awayFromZero' (kinks at 0) */
  sample?: 'normal' | 'positive' | 'awayFromZero';
}

export interface GradCheckCase {
  op: string;
  /** null leaves an optional input empty */
  inputs: (GradCheckInput | null)[];
  attrs?: Record<string, AttrInput | undefined>;
  /** number of node outputs (default 1) */
  outputs?: number;
  /** default-domain opset (default 17) */
  opset?: number;
  /** element type of float inputs (default float64; float32 for ops onnxruntime has no float64 kernel for) */
  dtype?: 'float32' | 'float64';
  /** relative tolerance (default 1e-6 for float64, 2e-2 for float32) */
  tol?: number;
  /** finite-difference step (default 1e-5 for float64, 1e-2 for float32) */
  step?: number;
  seed?: number;
  /** random directions per input (default 2) */
  directions?: number;
  /** label for messages (default: op and shapes) */
  name?: string;
  /** a tiny graph instead of one node: receives the builder and input names, returns the checked outputs */
  graph?: (b: GraphBuilder, inputs: string[]) => string[];
  /** gradient entries to use instead of the registry's (check a rule before registering it) */
  overrides?: GradTable;
}

export interface DirectionCheck {
  input: number;
  analytic: number;
  numeric: number;
  error: number;
}

export interface GradCheckReport {
  name: string;
  seed: number;
  ok: boolean;
  maxError: number;
  checks: DirectionCheck[];
  /** problems other than numeric mismatch (a missing or mis-shaped gradient) */
  problems: string[];
  describe(): string;
}

/** Small deterministic PRNG (mulberry32, seed 0 taken as 1) so a failure is reproducible from the printed seed. */
export function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 1);
}

function normal(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function typedOf(dtype: DType, values: ArrayLike<number>): TypedArray {
  switch (dtype) {
    case 'float64':
      return Float64Array.from(values);
    case 'float32':
      return Float32Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values), (v) => BigInt(Math.round(v)));
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
    case 'uint8':
      return Uint8Array.from(values);
    default:
      throw new Error(`gradcheck: no sample data for ${dtype}`);
  }
}

function toNumbers(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function sample(spec: GradCheckInput, dtype: DType, r: () => number): number[] {
  if (spec.values) return spec.values;
  const n = size(spec.shape);
  return Array.from({ length: n }, () => {
    const z = normal(r);
    if (spec.sample === 'positive') return 0.5 + Math.abs(z);
    if (spec.sample === 'awayFromZero') return (z < 0 ? -1 : 1) * (0.2 + Math.abs(z));
    return dtype === 'int64' || dtype === 'int32' ? Math.floor(r() * 3) : z;
  });
}

/** A case's forward model, its backward (vector-Jacobian product) model and what to feed them. */
export interface VjpProblem {
  name: string;
  seed: number;
  /** the case's node (or tiny graph), every output a graph output */
  forward: Model;
  /** the forward model, the cotangents as inputs ct_<output>, and one gradient output per differentiated input */
  vjp: Model;
  /** the forward model's inputs and the cotangents */
  feeds: Record<string, TensorData>;
  /** gradient output -> the input it is the gradient of (inputs without a gradient output get zero) */
  gradOutputs: Map<string, { index: number; name: string }>;
  /** the inputs differentiated */
  wrt: { index: number; name: string }[];
  /** float outputs of the forward model and their cotangents */
  cotangents: Map<string, number[]>;
  /** the case's random stream, past everything drawn so far (the finite differences continue it) */
  random: () => number;
}

/**
 * Builds the case's forward model, runs it once on `runner` for the output shapes, draws cotangents and
 * appends the backward pass for `target` (see BackwardSpec.target). Deterministic in the case's seed: the
 * same case gives the same feeds for every target.
 */
export async function vjpProblem(c: GradCheckCase, runner: Runner, target?: string): Promise<VjpProblem> {
  const seed = c.seed ?? 1234;
  const r = rng(seed);
  const floatType: DType = c.dtype ?? 'float64';
  const opset = c.opset ?? 17;
  const shapes = c.inputs.map((i) => (i ? `[${i.shape.join(',')}]` : '-')).join(' ');
  const name = c.name ?? `${c.op} ${shapes}${c.attrs ? ' ' + JSON.stringify(c.attrs) : ''} opset ${opset}`;

  // Forward model: one node (or the case's tiny graph), every output a graph output.
  const b = new GraphBuilder('gradcheck');
  const feeds: Record<string, TensorData> = {};
  const wrt: { index: number; name: string }[] = [];
  const inputNames = c.inputs.map((spec, i) => {
    if (!spec) return '';
    const dtype = spec.dtype ?? floatType;
    const values = sample(spec, dtype, r);
    const isFloat = dtype === 'float32' || dtype === 'float64';
    const name = `x${i}`;
    if (spec.as === 'constant') {
      b.initializer(name, typedOf(dtype, values), spec.shape, dtype);
    } else {
      b.input(name, dtype, spec.shape);
      feeds[name] = { dtype, dims: spec.shape, data: typedOf(dtype, values) };
      if (spec.wrt ?? isFloat) wrt.push({ index: i, name });
    }
    return name;
  });
  const outs = c.graph
    ? c.graph(b, inputNames)
    : b.opN(c.op, inputNames, c.attrs, { outputs: Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`) });
  const env = TypeEnv.fromGraph(b.graph, opset);
  for (const o of outs) b.output(o, env.dtype(o) ?? floatType, env.shape(o));
  const forward = b.build({ opset });

  const fwd = await runner(forward);
  let base: Record<string, TensorData>;
  try {
    base = await fwd.run(feeds);
  } finally {
    await fwd.dispose();
  }
  const floatOuts = outs.filter((o) => base[o]!.dtype === 'float32' || base[o]!.dtype === 'float64');
  const cotangents = new Map(floatOuts.map((o) => [o, Array.from({ length: size(base[o]!.dims) }, () => normal(r))]));

  // Backward model: cotangents enter as inputs ct_<output>.
  const vjp = forward.clone();
  const g = vjp.graph;
  const venv = TypeEnv.fromGraph(g, opset);
  const e = new Emitter(g, venv, target);
  const seeds = new Map<string, string>();
  const allFeeds = { ...feeds };
  for (const o of floatOuts) {
    const ct = e.freshName(`ct_${o}`);
    const t = base[o]!;
    g.inputs.push({ name: ct, dtype: t.dtype, shape: [...t.dims] });
    venv.declare(ct, { dtype: t.dtype, shape: [...t.dims] });
    allFeeds[ct] = { dtype: t.dtype, dims: t.dims, data: typedOf(t.dtype, cotangents.get(o)!) };
    seeds.set(o, ct);
  }
  const { grads } = appendBackward(e, { seeds, wrt: wrt.map((w) => w.name), overrides: c.overrides });
  g.outputs = [];
  const gradOutputs = new Map<string, { index: number; name: string }>();
  for (const w of wrt) {
    const gv = grads.get(w.name);
    // No gradient means zero (e.g. Gemm with beta 0): the finite differences decide whether that is right.
    if (!gv) continue;
    const out = e.freshName(`grad_${w.name}`);
    e.emit('Identity', [gv], undefined, { outputs: [out] });
    gradOutputs.set(out, w);
    g.outputs.push({ name: out, dtype: venv.dtype(w.name) });
  }
  g.touch().cleanup();
  legalizeForTarget(vjp, target);
  checkGraph(g);
  return { name, seed, forward, vjp, feeds: allFeeds, gradOutputs, wrt, cotangents, random: r };
}

/**
 * Checks the backward pass of one op (or tiny graph) against central differences of
 * f(x) = sum_i <y_i(x), ct_i> with fixed random cotangents ct_i, along random directions per input.
 */
export async function gradCheck(c: GradCheckCase, runner: Runner): Promise<GradCheckReport> {
  const floatType: DType = c.dtype ?? 'float64';
  const tol = c.tol ?? (floatType === 'float64' ? 1e-6 : 2e-2);
  const h = c.step ?? (floatType === 'float64' ? 1e-5 : 1e-2);
  const p = await vjpProblem(c, runner);
  const { name, seed, feeds, cotangents, wrt, vjp } = p;
  const r = p.random;
  const g = vjp.graph;

  const problems: string[] = [];
  const checks: DirectionCheck[] = [];
  const fwd = await runner(p.forward);
  try {
    const objective = async (f: Record<string, TensorData>) => {
      const res = await fwd.run(f);
      let s = 0;
      for (const [o, ct] of cotangents) s += dot(toNumbers(res[o]!), ct);
      return s;
    };
    const analyticByInput = new Map<string, number[]>();
    if (g.outputs.length) {
      const bwd = await runner(vjp);
      try {
        const res = await bwd.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => g.isGraphInput(k))));
        for (const o of g.outputs) {
          const w = p.gradOutputs.get(o.name)!;
          const got = res[o.name]!;
          const want = feeds[w.name]!.dims;
          if (got.dims.length !== want.length || got.dims.some((d, i) => d !== want[i])) {
            problems.push(`input #${w.index}: gradient shape [${got.dims.join(',')}], expected [${want.join(',')}]`);
          }
          analyticByInput.set(w.name, toNumbers(got));
        }
      } finally {
        await bwd.dispose();
      }
    }

    const forwardFeeds = Object.fromEntries(Object.entries(feeds).filter(([k]) => p.forward.graph.isGraphInput(k)));
    const directions = c.directions ?? 2;
    for (const w of wrt) {
      const x = feeds[w.name]!;
      const xs = toNumbers(x);
      const analyticGrad = analyticByInput.get(w.name) ?? new Array<number>(xs.length).fill(0);
      for (let k = 0; k < directions; k++) {
        const v = xs.map(() => normal(r));
        const shifted = (sign: number) => ({
          ...forwardFeeds,
          [w.name]: {
            ...x,
            data: typedOf(
              x.dtype,
              xs.map((xi, i) => xi + sign * h * v[i]!),
            ),
          },
        });
        const numeric = ((await objective(shifted(1))) - (await objective(shifted(-1)))) / (2 * h);
        const analytic = dot(analyticGrad, v);
        const error = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
        checks.push({ input: w.index, analytic, numeric, error });
      }
    }
  } finally {
    await fwd.dispose();
  }
  const maxError = Math.max(0, ...checks.map((k) => k.error));
  const ok = problems.length === 0 && checks.every((k) => k.error <= tol);
  return {
    name,
    seed,
    ok,
    maxError,
    checks,
    problems,
    describe: () =>
      [
        `gradcheck ${ok ? 'passed' : 'FAILED'}: ${name} (seed ${seed}, ${floatType}, tol ${tol}, step ${h})`,
        ...problems.map((p) => `  ${p}`),
        ...checks.map(
          (k) =>
            `  input #${k.input}: analytic ${k.analytic.toPrecision(10)} numeric ${k.numeric.toPrecision(10)} rel.err ${k.error.toExponential(2)}${k.error > tol ? '  <-- over tolerance' : ''}`,
        ),
      ].join('\n'),
  };
}

/** Throws with the report (seed, shapes, per-direction numbers) when the check failed. */
export function assertGradCheck(report: GradCheckReport): void {
  if (!report.ok) throw new Error(report.describe());
}

export interface TrainingCheckOptions {
  seed?: number;
  /** relative tolerance (default 1e-6, meant for float64 models) */
  tol?: number;
  step?: number;
  directions?: number;
}

export interface TrainingCheckReport {
  ok: boolean;
  loss: number;
  checks: (DirectionCheck & { param: string })[];
  describe(): string;
}

/**
 * Checks a whole training graph: the gradient outputs against central differences of the loss output,
 * moving one parameter at a time along random directions.
 */
export async function gradCheckTraining(
  tg: TrainingGraph,
  feeds: Record<string, TensorData>,
  params: Record<string, TensorData>,
  runner: Runner,
  opts: TrainingCheckOptions = {},
): Promise<TrainingCheckReport> {
  const seed = opts.seed ?? 99;
  const r = rng(seed);
  const tol = opts.tol ?? 1e-6;
  const h = opts.step ?? 1e-5;
  const s = await runner(tg.model);
  const checks: (DirectionCheck & { param: string })[] = [];
  let loss = NaN;
  try {
    const all = { ...feeds, ...params };
    const base = await s.run(all);
    loss = toNumbers(base[tg.loss]!)[0]!;
    const lossAt = async (f: Record<string, TensorData>) => toNumbers((await s.run(f))[tg.loss]!)[0]!;
    for (const p of tg.params) {
      const x = params[p]!;
      const xs = toNumbers(x);
      const grad = toNumbers(base[tg.gradOf[p]!]!);
      for (let k = 0; k < (opts.directions ?? 2); k++) {
        const v = xs.map(() => normal(r));
        const at = (sign: number) => ({
          ...all,
          [p]: {
            ...x,
            data: typedOf(
              x.dtype,
              xs.map((xi, i) => xi + sign * h * v[i]!),
            ),
          },
        });
        const numeric = ((await lossAt(at(1))) - (await lossAt(at(-1)))) / (2 * h);
        const analytic = dot(grad, v);
        const error = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
        checks.push({ param: p, input: -1, analytic, numeric, error });
      }
    }
  } finally {
    await s.dispose();
  }
  const ok = checks.every((k) => k.error <= tol);
  return {
    ok,
    loss,
    checks,
    describe: () =>
      [
        `training gradcheck ${ok ? 'passed' : 'FAILED'} (seed ${seed}, tol ${tol}, step ${h}, loss ${loss})`,
        ...checks.map(
          (k) =>
            `  ${k.param}: analytic ${k.analytic.toPrecision(10)} numeric ${k.numeric.toPrecision(10)} rel.err ${k.error.toExponential(2)}${k.error > tol ? '  <-- over tolerance' : ''}`,
        ),
      ].join('\n'),
  };
}
