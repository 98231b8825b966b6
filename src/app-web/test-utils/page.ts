// The page side of the browser tests and benchmarks: bundled on its own and loaded by the harness page,
// it drives the package's browser entry, which the page imports from '/graft.js' (the esbuild bundle of
// src/browser.ts, as a user's bundler makes it). Everything crosses to Node as JSON; arrays as base64.
import type * as Graft from '../../browser.js';

type G = typeof Graft;
const load = (): Promise<G> => import(/* the library bundle, served beside this script */ '/graft.js' as string);

export function toB64(a: ArrayBufferView): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function f32FromB64(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

export interface PageSet {
  pixels: string;
  labels: number[];
}

export interface FineTuneArgs {
  modelUrl: string;
  name?: string;
  classes: string[];
  train: PageSet;
  val?: PageSet;
  /** options of the recipe besides the backbone, classes and images */
  options: Omit<Graft.WebFineTuneOptions, 'backbone' | 'classes' | 'train' | 'val' | 'onEvent'>;
  /** rows of the first training batch the gradient check runs */
  checkBatch: number;
  /** run the whole recipe after the check (default true) */
  fit?: boolean;
}

export interface StepOutput {
  loss: number;
  logits: string;
  grads: Record<string, string>;
}

export interface FineTuneReport {
  backends: string[];
  device: string;
  wasmThreads?: number;
  crossOriginIsolated: boolean;
  phases: string[];
  /** the checked phase's training graph, encoded (the test compares it with Node's, byte for byte) */
  graph: string;
  /** the rows the check ran on: activations at the phase's start, and their labels */
  batch: { data: string; dims: number[]; labels: number[] };
  /** the trainable parameters' starting values */
  params: Record<string, string>;
  step: StepOutput;
  model?: string;
  valLogits?: string;
  valAccuracy?: number;
  history?: { phase: string; trainLoss: number; valLoss?: number; valAcc?: number }[];
  seconds: Record<string, number>;
  events: string[];
}

/** Prepares the fine-tune, runs one training step of its block phase, then (unless told not to) trains. */
export async function fineTune(a: FineTuneArgs): Promise<FineTuneReport> {
  const g = await load();
  const t: Record<string, number> = {};
  const clock = (name: string, since: number) => (t[name] = (performance.now() - since) / 1000);
  const events: string[] = [];
  let t0 = performance.now();
  const backends = (await g.detectBackends()).map((b) => b.name);
  const backbone = await g.fetchBackbone(a.modelUrl, { name: a.name });
  clock('load', t0);
  t0 = performance.now();
  const set = (s: PageSet) => ({ pixels: f32FromB64(s.pixels), labels: s.labels });
  const prep = await g.prepareFineTune({
    ...a.options,
    backbone,
    classes: a.classes,
    train: set(a.train),
    val: a.val ? set(a.val) : undefined,
    onEvent: (e) => events.push(e.type === 'epoch' ? `epoch ${e.phase} ${e.record.epoch}` : JSON.stringify(e)),
  });
  clock('prepare', t0);
  const index = prep.phases.findIndex((p) => p.kind === 'train');
  const phase = await prep.phaseGraph(index);
  const params = g.paramsFromModel(prep.classifier.model, phase.graph.params);
  const n = Math.min(a.checkBatch, phase.train.labels.length);
  const shape = phase.train.featureShape as readonly number[];
  const per = shape.reduce((x, d) => x * d, 1);
  const rows = (phase.train.features as Float32Array).slice(0, n * per);
  const labels = Array.from(phase.train.labels as Int32Array).slice(0, n);
  const feeds: Record<string, Graft.HostTensor> = {
    [phase.graph.dataInputs[0]!]: g.f32(rows, [n, ...shape]),
    [phase.graph.labels.name]: g.i64(labels, [n]),
  };
  for (const p of phase.graph.params) {
    feeds[p] = g.f32(params[p]!, prep.classifier.model.graph.initializers.get(p)!.dims);
  }
  t0 = performance.now();
  const session = await g.Session.create(phase.graph.model, { ...prep.session, memoryPattern: false });
  let out: Record<string, Graft.HostTensor>;
  try {
    out = await session.run(feeds);
    clock('firstStep', t0);
  } finally {
    await session.dispose();
  }
  const report: FineTuneReport = {
    backends,
    device: prep.device,
    wasmThreads: g.wasmThreads(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    phases: prep.phases.map((p) => `${p.name}:${p.kind}`),
    graph: toB64(g.encodeModel(phase.graph.model)),
    batch: { data: toB64(rows), dims: [n, ...shape], labels },
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, toB64(v)])),
    step: {
      loss: Number(out[phase.graph.loss]!.data[0]),
      logits: toB64(out[phase.graph.logits]!.data),
      grads: Object.fromEntries(phase.graph.params.map((p) => [p, toB64(out[phase.graph.gradOf[p]!]!.data)])),
    },
    seconds: t,
    events,
  };
  if (a.fit === false) return report;
  t0 = performance.now();
  const result = await g.runFineTune(prep);
  clock('train', t0);
  report.model = toB64(result.bytes);
  report.valAccuracy = result.valAccuracy;
  report.history = result.history.map((h) => ({
    phase: h.phase,
    trainLoss: h.trainLoss,
    valLoss: h.valLoss,
    valAcc: h.valAcc,
  }));
  if (a.val) {
    // the exported model, as a user of model.onnx runs it in the page
    const exported = await g.Session.create(result.bytes, { device: prep.device });
    try {
      const pixels = f32FromB64(a.val.pixels);
      const r = await exported.run({ pixel_values: g.f32(pixels, [a.val.labels.length, ...backbone.itemDims]) });
      report.valLogits = toB64(r.logits!.data);
    } finally {
      await exported.dispose();
    }
  }
  return report;
}

/** What device detection says in this page. */
export async function devices(): Promise<{ backends: string[]; auto: string; webgpuRefused?: string }> {
  const g = await load();
  const backends = (await g.detectBackends()).map((b) => b.name);
  const auto = (await g.chooseDevice('auto')).device;
  let webgpuRefused: string | undefined;
  try {
    await g.chooseDevice('webgpu');
  } catch (e) {
    webgpuRefused = (e as Error).message;
  }
  return { backends, auto, webgpuRefused };
}

export interface InferenceArgs {
  modelUrl: string;
  /** preprocessed rows */
  pixels: string;
  dims: number[];
  device: 'wasm' | 'webgpu';
  /** through readBackbone (cut, pooled, kernel shapes written), or the fetched bytes as they are */
  via: 'backbone' | 'bytes';
  output: string;
}

/** Runs a served model on rows in this page: its `output` (or the backbone's features), or the error. */
export async function inference(a: InferenceArgs): Promise<{ output?: string; error?: string }> {
  const g = await load();
  let model: Graft.Model | Uint8Array;
  let output = a.output;
  if (a.via === 'backbone') {
    const b = await g.fetchBackbone(a.modelUrl);
    model = b.model;
    output = b.featureValue;
  } else model = await g.fetchBytes(a.modelUrl, 2 ** 30);
  try {
    const s = await g.Session.create(model, { device: a.device });
    try {
      const input = s.inputNames[0]!;
      const r = await s.run({ [input]: g.f32(f32FromB64(a.pixels), a.dims) }, [output]);
      return { output: toB64(r[output]!.data) };
    } finally {
      await s.dispose();
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** One tensor of a feeds blob: its bytes are at `offset` in the blob. */
export interface FeedEntry {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
  offset: number;
  bytes: number;
}

export interface OpenStepArgs {
  graphUrl: string;
  feedsUrl: string;
  feeds: FeedEntry[];
  device: 'wasm' | 'webgpu';
  threads?: number;
  warmup: number;
}

let open: { session: Graft.Session; feeds: Record<string, Graft.HostTensor> } | undefined;

/**
 * Starts a session on a served training graph and its feeds and runs it `warmup` times; `runStep` then
 * times one run, so a benchmark can alternate runs here with runs in Node.
 */
export async function openStep(
  a: OpenStepArgs,
): Promise<{ createMs: number; firstMs: number; threads?: number; error?: string }> {
  const g = await load();
  const model = await g.fetchBytes(a.graphUrl, 2 ** 31);
  const blob = await g.fetchBytes(a.feedsUrl, 2 ** 31);
  const feeds: Record<string, Graft.HostTensor> = {};
  for (const f of a.feeds) {
    const bytes = blob.slice(f.offset, f.offset + f.bytes);
    feeds[f.name] =
      f.dtype === 'float32'
        ? g.f32(new Float32Array(bytes.buffer), f.dims)
        : { dtype: 'int64', dims: f.dims, data: new BigInt64Array(bytes.buffer) };
  }
  const t0 = performance.now();
  let session: Graft.Session;
  try {
    session = await g.Session.create(model, {
      device: a.device,
      memoryPattern: false,
      ...(a.threads ? { intraOpThreads: a.threads } : {}),
    });
  } catch (e) {
    return { createMs: 0, firstMs: 0, error: (e as Error).message };
  }
  const createMs = performance.now() - t0;
  try {
    const t = performance.now();
    await session.run(feeds);
    const firstMs = performance.now() - t;
    for (let i = 1; i < a.warmup; i++) await session.run(feeds);
    open = { session, feeds };
    return { createMs, firstMs, threads: g.wasmThreads() };
  } catch (e) {
    await session.dispose();
    return { createMs, firstMs: 0, threads: g.wasmThreads(), error: (e as Error).message };
  }
}

/** Milliseconds per run of `count` runs of the open step. */
export async function runStep(count = 1): Promise<number> {
  if (!open) throw new Error('no step is open');
  const t = performance.now();
  for (let i = 0; i < count; i++) await open.session.run(open.feeds);
  return (performance.now() - t) / count;
}

export async function closeStep(): Promise<void> {
  await open?.session.dispose();
  open = undefined;
}

declare global {
  interface Window {
    harness: {
      fineTune: typeof fineTune;
      devices: typeof devices;
      inference: typeof inference;
      openStep: typeof openStep;
      runStep: typeof runStep;
      closeStep: typeof closeStep;
    };
  }
}

window.harness = { fineTune, devices, inference, openStep, runStep, closeStep };
