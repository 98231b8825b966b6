// Issue 5 benchmark: one full fine-tuning step (every parameter trainable, BatchNorm with its running
// statistics, softmax cross-entropy) of MobileNetV2 (torchvision fixture) and EfficientNet-B0 (zoo), batch
// 32 at 224x224, measured side by side with onnxruntime's forward-only run of the same model; peak RSS of
// a training process; and PyTorch 1.13 doing the same step (scripts/bench/pytorch_step.py) when it is
// installed. `--quick`: batch 8, fewer repetitions.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildTrainingGraph, type TrainingGraph } from '../src/autodiff/index.js';
import type { Model } from '../src/onnx/graph.js';
import { loadTorchvisionFixture, readFixtureJson } from '../src/onnx/test-utils/torchvision-fixture.js';
import { Session, f32, i64, type HostTensor } from '../src/runtime/session.js';
import { parameterNames } from '../src/surgery/params.js';
import { loadPulledModel, pullModel } from '../src/zoo/node/pull.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'full fine-tuning step of MobileNetV2 and EfficientNet-B0 (batch 32, 224x224): img/s, ratio to forward, peak RSS, PyTorch reference';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SIZE = 224;

interface Subject {
  model: Model;
  logits: string;
  trainable: string[];
  input: string;
}

type SubjectName = 'mobilenet_v2' | 'efficientnet_b0';

/** The models, fixed to [batch, 3, 224, 224] so every rule picks its static-shape formulation. */
async function subject(name: SubjectName, batch: number): Promise<Subject> {
  let model: Model;
  let logits: string;
  let trainable: string[];
  if (name === 'mobilenet_v2') {
    model = loadTorchvisionFixture('mobilenet_v2');
    logits = 'logits';
    trainable = readFixtureJson('mobilenet_v2', 'grads').params.map((p) => p.name);
  } else {
    model = await loadPulledModel(await pullModel('efficientnet_b0.imagenet'));
    // the graph ends in Softmax (-> Identity): train on the values it normalises
    let v = model.graph.outputs[0]!.name;
    for (
      let n = model.graph.producer(v);
      n && ['Identity', 'Softmax'].includes(n.opType);
      n = model.graph.producer(v)
    ) {
      v = n.inputs[0]!;
    }
    logits = v;
    trainable = parameterNames(model.graph);
  }
  const input = model.graph.dataInputs[0]!;
  input.shape = [batch, 3, SIZE, SIZE];
  return { model, logits, trainable, input: input.name };
}

function training(s: Subject): TrainingGraph {
  return buildTrainingGraph(s.model, {
    logits: s.logits,
    loss: { kind: 'softmax-cross-entropy' },
    trainable: s.trainable,
  });
}

function feeds(
  s: Subject,
  tg: TrainingGraph,
  batch: number,
): { forward: Record<string, HostTensor>; step: Record<string, HostTensor> } {
  const pixels = Float32Array.from({ length: batch * 3 * SIZE * SIZE }, (_, i) => ((i * 7919) % 1000) / 1000);
  const x = f32(pixels, [batch, 3, SIZE, SIZE]);
  const step: Record<string, HostTensor> = {
    [s.input]: x,
    [tg.labels.name]: i64(
      Array.from({ length: batch }, (_, i) => (i * 37) % 1000),
      [batch],
    ),
  };
  for (const p of tg.params) {
    const t = s.model.graph.initializers.get(p)!;
    step[p] = f32(t.toArray() as Float32Array, t.dims);
  }
  return { forward: { [s.input]: x }, step };
}

/** Training sessions run without onnxruntime's memory pattern (see SessionOptions.memoryPattern). */
const TRAINING_SESSION = { memoryPattern: false } as const;

/**
 * Child-process entry: builds one session (training or forward-only), runs it `runs` times and prints
 * {"maxRssMB": ...}; RSS is per process, so each figure gets a fresh one.
 */
export async function rssChild(
  name: SubjectName,
  batch: number,
  mode: 'train' | 'forward',
  runs: number,
): Promise<void> {
  const s = await subject(name, batch);
  const tg = mode === 'train' ? training(s) : undefined;
  const session = await Session.create(tg ? tg.model : s.model, tg ? TRAINING_SESSION : {});
  const f = tg ? feeds(s, tg, batch).step : feeds(s, training(s), batch).forward;
  for (let i = 0; i < runs; i++) await session.run(f);
  await session.dispose();
  console.log(JSON.stringify({ maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

function peakRss(name: SubjectName, batch: number, mode: 'train' | 'forward', runs: number): string {
  const code = `import(${JSON.stringify(new URL(import.meta.url).href)}).then((m) => m.rssChild(${JSON.stringify(name)}, ${batch}, '${mode}', ${runs}))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return `${(JSON.parse(line) as { maxRssMB: number }).maxRssMB} MB`;
  } catch {
    return `failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`;
  }
}

interface PyTorchRow {
  forward_ms: number;
  step_ms: number;
  step_img_per_s: number;
  step_over_forward: number;
  torch: string;
}

function pytorch(model: SubjectName, batch: number, threads: number, reps: number): PyTorchRow | string {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'not installed';
  const r = spawnSync(
    '/usr/bin/python3',
    [
      'scripts/bench/pytorch_step.py',
      '--model',
      model,
      '--batch',
      String(batch),
      '--threads',
      String(threads),
      '--reps',
      String(reps),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) return `failed: ${r.stderr.trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PyTorchRow;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/**
 * Times forward-only runs of the inference model and training steps, alternating so both see the same
 * machine load, after warm-up runs (the first ones allocate). `clock` is wall or CPU time in ms.
 */
async function alternate(
  model: Model,
  tg: TrainingGraph,
  f: ReturnType<typeof feeds>,
  reps: number,
  threads: { intraOpThreads?: number },
  clock: () => number,
): Promise<{ forward: number[]; step: number[]; forwardPart: number[] }> {
  const fwd = await Session.create(model, threads);
  const step = await Session.create(tg.model, { ...TRAINING_SESSION, ...threads });
  const part = await Session.create(forwardPart(tg), threads);
  const partFeeds = { ...f.step };
  delete partFeeds[tg.labels.name];
  const out = { forward: [] as number[], step: [] as number[], forwardPart: [] as number[] };
  const time = async (list: number[], run: () => Promise<unknown>) => {
    const t = clock();
    await run();
    list.push(clock() - t);
  };
  try {
    await fwd.run(f.forward);
    await part.run(partFeeds);
    await step.run(f.step);
    await step.run(f.step);
    for (let i = 0; i < reps; i++) {
      await time(out.forward, () => fwd.run(f.forward));
      await time(out.step, () => step.run(f.step));
      await time(out.forwardPart, () => part.run(partFeeds));
    }
  } finally {
    await fwd.dispose();
    await step.dispose();
    await part.dispose();
  }
  return out;
}

/**
 * The training graph cut at the logits: its forward part as it runs inside a step (weights are inputs, so
 * onnxruntime cannot pre-pack them or fold BatchNormalization at load time, and runs the convolutions
 * without its NCHWc kernels).
 */
function forwardPart(tg: TrainingGraph): Model {
  const m = tg.model.clone();
  m.graph.outputs = m.graph.outputs.filter((o) => o.name === tg.logits);
  m.graph.inputs = m.graph.inputs.filter((i) => i.name !== tg.labels.name);
  m.graph.cleanup();
  return m;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.args.includes('--quick');
  const batch = quick ? 8 : 32;
  const reps = quick ? 2 : 5;
  const threads = cpus().length;
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const name of ['mobilenet_v2', 'efficientnet_b0'] as const) {
    let s: Subject;
    try {
      s = await subject(name, batch);
    } catch (e) {
      rows.push({ model: name, measure: 'not available', note: (e as Error).message.split('\n')[0]! });
      continue;
    }
    const t0 = performance.now();
    const tg = training(s);
    const buildMs = performance.now() - t0;
    const f = feeds(s, tg, batch);
    const wall = await alternate(s.model, tg, f, reps, {}, () => performance.now());
    ctx.log(
      `${name}: forward ${wall.forward.map(Math.round).join(', ')} ms; step ${wall.step.map(Math.round).join(', ')} ms`,
    );
    // the same pair on one thread, in process CPU time: a ratio other processes' load does not move
    const cpu = await alternate(s.model, tg, f, quick ? 1 : 3, { intraOpThreads: 1 }, () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    });
    ctx.log(
      `${name}: 1 thread CPU: forward ${cpu.forward.map(Math.round).join(', ')} ms; step ${cpu.step.map(Math.round).join(', ')} ms`,
    );
    const [mf, ms] = [median(wall.forward), median(wall.step)];
    const cpuRatio = median(cpu.step) / median(cpu.forward);
    const partRatio = median(cpu.step) / median(cpu.forwardPart);
    const trainRss = peakRss(name, batch, 'train', 2);
    const forwardRss = peakRss(name, batch, 'forward', 2);
    rows.push({
      model: name,
      measure: 'onnxruntime forward (inference model)',
      'ms/batch': Math.round(mf),
      'img/s': +((batch / mf) * 1000).toFixed(1),
      'x forward': 1,
      'x forward (1 thread, CPU)': 1,
      'peak RSS': forwardRss,
    });
    rows.push({
      model: name,
      measure: `Graft training step (${tg.params.length} params trainable)`,
      'ms/batch': Math.round(ms),
      'img/s': +((batch / ms) * 1000).toFixed(1),
      'x forward': +(ms / mf).toFixed(2),
      'x forward (1 thread, CPU)': +cpuRatio.toFixed(2),
      'peak RSS': trainRss,
    });
    const py = pytorch(name, batch, threads, quick ? 1 : 2);
    rows.push(
      typeof py === 'string'
        ? { model: name, measure: 'PyTorch step', 'ms/batch': py }
        : {
            model: name,
            measure: `PyTorch ${py.torch} step (forward ${Math.round(py.forward_ms)} ms)`,
            'ms/batch': Math.round(py.step_ms),
            'img/s': py.step_img_per_s,
            'x forward': py.step_over_forward,
            'peak RSS': '-',
          },
    );
    notes.push(
      `${name}: training graph built in ${Math.round(buildMs)} ms, ${tg.model.graph.nodes.length} nodes; on one thread its forward part costs ${(median(cpu.forwardPart) / median(cpu.forward)).toFixed(2)}x the inference model's forward and the step ${partRatio.toFixed(2)}x its forward part`,
    );
  }
  notes.push(
    `batch ${batch}, ${SIZE}x${SIZE}, ${threads} threads (onnxruntime default; PyTorch set to the same); medians of ${reps} alternating runs`,
    "'x forward' is the step time over onnxruntime's forward-only time of the inference model (BN folded, NCHWc kernels); PyTorch's is over its own forward",
    "'x forward (1 thread, CPU)': the same ratio measured on one thread in process CPU time, which other processes' load does not move",
    'EfficientNet-B0: Graft trains the zoo model (TF Hub weights); PyTorch times torchvision efficientnet_b0, the same architecture',
  );
  return { name: 'finetune', rows, notes };
}
