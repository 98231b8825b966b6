// Issue 12 benchmark: one training step (loss + every gradient) of the same models on each execution
// provider, side by side in one process: the MLP head, EfficientNet-B0 with its last two blocks and
// classifier trained on cached activations (--unfreeze last:2), MobileNetV2 with every parameter trainable.
// Each provider runs the graph built for it (TrainingSpec.target); its gradients are compared with the CPU's.
//
//   npm run bench -- providers [--providers=cpu,webgpu] [--adapter=swiftshader|system] [--batch=N]
//                              [--size=PX] [--reps=N] [--models=mlp-head,efficientnet-last2,mobilenet-full]
//
// WebGPU runs on the machine's GPU with --adapter=system, on Chromium's SwiftShader otherwise (the default
// here, where there is no GPU). bench/gpu.sh runs this on a GPU machine and keeps the JSON.
import { buildTrainingGraph, type TrainingGraph } from '../src/autodiff/index.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import type { Model } from '../src/onnx/graph.js';
import { loadTorchvisionFixture, readFixtureJson } from '../src/onnx/test-utils/torchvision-fixture.js';
import { Session, f32, i64, type Device, type HostTensor } from '../src/runtime/session.js';
import { attachHead } from '../src/surgery/head.js';
import { detectBlocks } from '../src/transfer/finetune/blocks.js';
import { contractBatchedGradients } from '../src/transfer/finetune/optimize.js';
import { upperGraph } from '../src/transfer/finetune/split.js';
import { mulberry32 } from '../src/util/rng.js';
import { loadPulledModel, pullModel } from '../src/zoo/node/pull.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'training step per execution provider (CPU, WebGPU): MLP head, EfficientNet-B0 last:2, MobileNetV2 full; gradients vs CPU';

interface Subject {
  name: string;
  /** builds the training graph for a target provider */
  graph(target: string): TrainingGraph;
  feeds(tg: TrainingGraph): Record<string, HostTensor>;
  batch: number;
  note: string;
}

function arg(ctx: BenchContext, name: string): string | undefined {
  return ctx.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const random = (n: number, seed: number, scale = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

function paramFeeds(model: Model, tg: TrainingGraph): Record<string, HostTensor> {
  return Object.fromEntries(
    tg.params.map((p) => {
      const t = model.graph.initializers.get(p)!;
      return [p, f32(t.toArray() as Float32Array, t.dims)];
    }),
  );
}

const labels = (tg: TrainingGraph, batch: number, classes: number) => ({
  [tg.labels.name]: i64(
    Array.from({ length: batch }, (_, i) => (i * 37) % classes),
    [batch],
  ),
});

function mlpHead(batch: number): Subject {
  const b = new GraphBuilder('features');
  b.input('features', 'float32', [batch, 1280]);
  b.output(b.op('Identity', ['features'], undefined, { outputs: ['feat'] }), 'float32', [batch, 1280]);
  b.graph.valueInfo.set('feat', { name: 'feat', dtype: 'float32', shape: [batch, 1280] });
  const head = attachHead(b.build(), 'feat', { numClasses: 10, hidden: [256], dropout: 0, seed: 1 });
  return {
    name: 'mlp-head',
    batch,
    note: `1280 -> 256 -> 10, batch ${batch}`,
    graph: (target) =>
      buildTrainingGraph(head.model, {
        logits: head.logits,
        loss: { kind: 'softmax-cross-entropy' },
        trainable: head.headParams,
        target,
      }),
    feeds: (tg) => ({
      features: f32(random(batch * 1280, 3), [batch, 1280]),
      ...labels(tg, batch, 10),
      ...paramFeeds(head.model, tg),
    }),
  };
}

async function efficientNetLast2(batch: number): Promise<Subject> {
  const model = await loadPulledModel(await pullModel('efficientnet_b0.imagenet'));
  const blocks = detectBlocks(model);
  // the classifier, and the two blocks before it (what `--unfreeze last:2` trains with a grafted head)
  const trained = blocks.slice(-3);
  const trainable = trained.flatMap((b) => b.params);
  let logits = model.graph.outputs[0]!.name;
  for (let n = model.graph.producer(logits); n && ['Identity', 'Softmax'].includes(n.opType);) {
    logits = n.inputs[0]!;
    n = model.graph.producer(logits);
  }
  const at = trained[0]!.input;
  const upper = upperGraph(model, at);
  const input = upper.graph.inputs.find((i) => i.name === at)!;
  const dims = [batch, ...(input.shape ?? []).slice(1)] as number[];
  input.shape = dims;
  return {
    name: 'efficientnet-last2',
    batch,
    note: `${trained.map((b) => b.name).join(' + ')} on cached [${dims.slice(1).join('x')}] activations (224 px), batch ${batch}`,
    graph: (target) => {
      const tg = buildTrainingGraph(upper, { logits, loss: { kind: 'softmax-cross-entropy' }, trainable, target });
      contractBatchedGradients(tg.model);
      return tg;
    },
    feeds: (tg) => ({
      [at]: f32(
        random(
          dims.reduce((a, d) => a * d, 1),
          5,
        ),
        dims,
      ),
      ...labels(tg, batch, 1000),
      ...paramFeeds(model, tg),
    }),
  };
}

function mobileNetFull(batch: number, size: number): Subject {
  const model = loadTorchvisionFixture('mobilenet_v2');
  model.graph.inputs[0]!.shape = [batch, 3, size, size];
  const trainable = readFixtureJson('mobilenet_v2', 'grads').params.map((p) => p.name);
  return {
    name: 'mobilenet-full',
    batch,
    note: `torchvision MobileNetV2, all ${trainable.length} parameters, ${size} px, batch ${batch}`,
    graph: (target) =>
      buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable, target }),
    feeds: (tg) => ({
      input: f32(random(batch * 3 * size * size, 7), [batch, 3, size, size]),
      ...labels(tg, batch, 1000),
      ...paramFeeds(model, tg),
    }),
  };
}

function scaledDifference(a: HostTensor, b: HostTensor): number {
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  let [worst, scale] = [0, 0];
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}

export interface ProviderRun {
  model: string;
  provider: string;
  batch: number;
  firstRunMs: number;
  stepMs: number;
  imgPerS: number;
  /** step time over the CPU's */
  xCpu?: number;
  /** largest gradient difference from the CPU's, relative to that gradient's largest value */
  maxGradDiff?: number;
  worstParam?: string;
  lossDiff?: number;
  error?: string;
}

async function measure(
  s: Subject,
  device: Device,
  reps: number,
): Promise<{ run: ProviderRun; out?: Record<string, HostTensor>; tg: TrainingGraph }> {
  const tg = s.graph(device);
  const feeds = s.feeds(tg);
  const outputs = [tg.loss, ...tg.params.map((p) => tg.gradOf[p]!)];
  const base = { model: s.name, provider: device, batch: s.batch, firstRunMs: NaN, stepMs: NaN, imgPerS: NaN };
  let session: Session | undefined;
  try {
    session = await Session.create(tg.model, { device, memoryPattern: false });
    let t0 = performance.now();
    const out = await session.run(feeds, outputs);
    const firstRunMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      t0 = performance.now();
      await session.run(feeds, outputs);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const stepMs = times[Math.floor(times.length / 2)]!;
    return { run: { ...base, firstRunMs, stepMs, imgPerS: (s.batch / stepMs) * 1000 }, out, tg };
  } catch (e) {
    return { run: { ...base, error: (e as Error).message.split('\n')[0] }, tg };
  } finally {
    await session?.dispose();
  }
}

export async function run(ctx: BenchContext): Promise<BenchResult & { runs: ProviderRun[] }> {
  const providers = (arg(ctx, 'providers') ?? 'cpu,webgpu').split(',') as Device[];
  const adapter = arg(ctx, 'adapter') ?? process.env.GRAFT_WEBGPU_ADAPTER ?? 'swiftshader';
  // before the first WebGPU session of the process (the adapter is chosen once)
  process.env.GRAFT_WEBGPU_ADAPTER = adapter;
  const batch = Number(arg(ctx, 'batch') ?? 8);
  const size = Number(arg(ctx, 'size') ?? 96);
  const reps = Number(arg(ctx, 'reps') ?? 3);
  const models = (arg(ctx, 'models') ?? 'mlp-head,efficientnet-last2,mobilenet-full').split(',');
  const subjects: Subject[] = [];
  if (models.includes('mlp-head')) subjects.push(mlpHead(batch));
  if (models.includes('efficientnet-last2')) subjects.push(await efficientNetLast2(batch));
  if (models.includes('mobilenet-full')) subjects.push(mobileNetFull(batch, size));
  const runs: ProviderRun[] = [];
  for (const s of subjects) {
    const cpu = await measure(s, 'cpu', reps);
    runs.push(cpu.run);
    ctx.log(`${s.name} cpu: first ${Math.round(cpu.run.firstRunMs)} ms, step ${cpu.run.stepMs.toFixed(1)} ms`);
    for (const p of providers.filter((q) => q !== 'cpu')) {
      const r = await measure(s, p, reps);
      if (r.out && cpu.out) {
        r.run.xCpu = r.run.stepMs / cpu.run.stepMs;
        let worst = { param: '-', diff: 0 };
        for (const q of cpu.tg.params) {
          const d = scaledDifference(r.out[r.tg.gradOf[q]!]!, cpu.out[cpu.tg.gradOf[q]!]!);
          if (!(d <= worst.diff)) worst = { param: q, diff: d };
        }
        r.run.maxGradDiff = worst.diff;
        r.run.worstParam = worst.param;
        const [a, b] = [r.out[r.tg.loss]!.data[0] as number, cpu.out[cpu.tg.loss]!.data[0] as number];
        r.run.lossDiff = Math.abs(a - b) / Math.abs(b);
      }
      runs.push(r.run);
      ctx.log(
        `${s.name} ${p}: ${r.run.error ?? `first ${Math.round(r.run.firstRunMs)} ms, step ${r.run.stepMs.toFixed(1)} ms, grads vs CPU ${r.run.maxGradDiff?.toExponential(2)}`}`,
      );
    }
  }
  const label = (p: string) => (p === 'webgpu' ? `webgpu (${adapter === 'system' ? 'GPU' : 'SwiftShader'})` : p);
  return {
    name: 'providers',
    runs,
    rows: runs.map((r) => ({
      model: r.model,
      provider: label(r.provider),
      'first run ms': Number.isNaN(r.firstRunMs) ? '-' : Math.round(r.firstRunMs),
      'step ms': Number.isNaN(r.stepMs) ? (r.error ?? '-') : +r.stepMs.toFixed(1),
      'img/s': Number.isNaN(r.imgPerS) ? '-' : +r.imgPerS.toFixed(1),
      'x cpu': r.xCpu === undefined ? '-' : +r.xCpu.toFixed(1),
      'grad diff vs cpu': r.maxGradDiff === undefined ? '-' : r.maxGradDiff.toExponential(1),
    })),
    notes: [
      ...subjects.map((s) => `${s.name}: ${s.note}`),
      `step: median of ${reps} runs after the first (which compiles WebGPU's kernels); weights fed as inputs, as the Trainer does`,
      'grad diff: largest |g - g_cpu| over max |g_cpu|, worst parameter of the model; each provider runs the graph built for it',
      `onnxruntime default threads on the CPU; WebGPU adapter: ${adapter}`,
    ],
  };
}
