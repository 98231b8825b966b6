// Issue 12 benchmark, the browser rows: one training step (loss, logits, every gradient) of the same graph
// on the same batch, in Debian's Chromium on onnxruntime-web (wasm with 1 and 2 threads; WebGPU over
// SwiftShader with `--webgpu`) and in Node on onnxruntime-node's CPU (1 and 2 threads), measured one after
// the other in one run. Graphs: an MLP head (1280 -> 256 -> 10, batch 256), EfficientNet-B0's head + last two
// blocks (the browser recipe's graph, batch 8 at 224x224) and MobileNetV2 trained in full (torchvision
// fixture with a grafted head, batch 4). `--quick`: fewer repetitions. `--only=mlp-head,...` picks graphs.
// `--tier-up`: Chromium's default wasm compilation instead of optimising everything before the first run.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { buildTrainingGraph } from '../src/autodiff/index.js';
import { type ReadBackboneOptions, readBackbone } from '../src/app-web/backbone.js';
import { prepareFineTune } from '../src/app-web/finetune.js';
import { startBrowser } from '../src/app-web/test-utils/browser.js';
import type { FeedEntry } from '../src/app-web/test-utils/page.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { encodeModel } from '../src/onnx/codec.js';
import { loadTorchvisionFixture } from '../src/onnx/test-utils/torchvision-fixture.js';
import { type HostTensor, Session, f32, i64 } from '../src/runtime/session.js';
import { attachHead } from '../src/surgery/head.js';
import { paramsFromModel } from '../src/train/trainer.js';
import { mulberry32 } from '../src/util/rng.js';
import { pullModel } from '../src/zoo/node/pull.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'training step in the browser (onnxruntime-web wasm 1/2 threads, WebGPU with --webgpu) vs Node CPU: MLP head, EfficientNet-B0 last:2, MobileNetV2 full';

interface Subject {
  name: string;
  graph: Uint8Array;
  feeds: Record<string, HostTensor>;
  note: string;
  /** a step of milliseconds needs more runs for a stable median */
  fast?: boolean;
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function pixels(count: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: count }, () => r());
}

function mlpHead(): Subject {
  const dim = 1280;
  const batch = 256;
  const b = new GraphBuilder('features');
  b.input('features', 'float32', ['N', dim]);
  b.output(b.op('Identity', ['features'], undefined, { outputs: ['feat'] }), 'float32', ['N', dim]);
  b.graph.valueInfo.set('feat', { name: 'feat', dtype: 'float32', shape: ['N', dim] });
  const head = attachHead(b.build(), 'feat', { numClasses: 10, hidden: [256], seed: 1 });
  const tg = buildTrainingGraph(head.model, {
    logits: head.logits,
    loss: { kind: 'softmax-cross-entropy' },
    trainable: head.headParams,
  });
  const params = paramsFromModel(head.model, tg.params);
  const feeds: Record<string, HostTensor> = {
    features: f32(pixels(batch * dim, 1), [batch, dim]),
    [tg.labels.name]: i64(
      Array.from({ length: batch }, (_, i) => i % 10),
      [batch],
    ),
  };
  for (const p of tg.params) feeds[p] = f32(params[p]!, head.model.graph.initializers.get(p)!.dims);
  return { name: 'mlp-head', graph: encodeModel(tg.model), feeds, note: '1280 -> 256 -> 10, batch 256', fast: true };
}

/** The browser recipe's training graph of its block phase, fed its first batch. */
async function recipeStep(
  name: string,
  model: Uint8Array,
  opts: { backboneName?: string; unfreeze: string; strategy: 'fine-tune' | 'full'; batch: number; note: string },
  preprocessing?: ReadBackboneOptions['preprocessing'],
): Promise<Subject> {
  const backbone = await readBackbone(model, { name: opts.backboneName, preprocessing });
  const per = backbone.itemDims.reduce((a, d) => a * d, 1);
  const prep = await prepareFineTune({
    backbone,
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
    train: { pixels: pixels(opts.batch * per, 2), labels: Array.from({ length: opts.batch }, (_, i) => i % 10) },
    strategy: opts.strategy,
    unfreeze: opts.unfreeze,
    device: 'cpu',
    batchSize: opts.batch,
  });
  const phase = await prep.phaseGraph(prep.phases.findIndex((p) => p.kind === 'train'));
  const params = paramsFromModel(prep.classifier.model, phase.graph.params);
  const shape = phase.train.featureShape as readonly number[];
  const feeds: Record<string, HostTensor> = {
    [phase.graph.dataInputs[0]!]: f32(phase.train.features as Float32Array, [opts.batch, ...shape]),
    [phase.graph.labels.name]: i64(Array.from(phase.train.labels as Int32Array), [opts.batch]),
  };
  for (const p of phase.graph.params) feeds[p] = f32(params[p]!, prep.classifier.model.graph.initializers.get(p)!.dims);
  return {
    name,
    graph: encodeModel(phase.graph.model),
    feeds,
    note: `${opts.note}, ${phase.graph.params.length} parameter tensors trainable`,
  };
}

async function subjects(only: string[] | undefined, log: (s: string) => void): Promise<Subject[]> {
  const out: Subject[] = [];
  const want = (n: string) => !only || only.includes(n);
  if (want('mlp-head')) out.push(mlpHead());
  if (want('efficientnet_b0-last2')) {
    const file = (await pullModel('efficientnet_b0.imagenet')).modelPath;
    out.push(
      await recipeStep('efficientnet_b0-last2', readFileSync(file), {
        backboneName: 'efficientnet_b0.imagenet',
        unfreeze: 'last:2',
        strategy: 'fine-tune',
        batch: 8,
        note: 'head + last two blocks on activations at the boundary, batch 8 at 224x224',
      }),
    );
  }
  if (want('mobilenet_v2-full')) {
    const mobilenet = loadTorchvisionFixture('mobilenet_v2');
    mobilenet.graph.dataInputs[0]!.shape = ['N', 3, 224, 224];
    out.push(
      await recipeStep(
        'mobilenet_v2-full',
        encodeModel(mobilenet),
        { unfreeze: 'all', strategy: 'full', batch: 4, note: 'every block + head from the images, batch 4 at 224x224' },
        {
          size: [224, 224],
          resize: 'squash',
          scale: 1 / 255,
          ...IMAGENET,
          layout: 'NCHW',
          channels: 3,
        },
      ),
    );
  }
  for (const s of out) log(`${s.name}: training graph ${(s.graph.length / 2 ** 20).toFixed(1)} MB; ${s.note}`);
  return out;
}

/** The feeds as one blob and its table of contents (what the page reads back). */
function packFeeds(feeds: Record<string, HostTensor>): { blob: Uint8Array; entries: FeedEntry[] } {
  const entries: FeedEntry[] = [];
  let size = 0;
  for (const [name, t] of Object.entries(feeds)) {
    const bytes = t.data.byteLength;
    entries.push({ name, dtype: t.dtype as 'float32' | 'int64', dims: [...t.dims], offset: size, bytes });
    size += bytes;
  }
  const blob = new Uint8Array(size);
  for (const e of entries) {
    const d = feeds[e.name]!.data;
    blob.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), e.offset);
  }
  return { blob, entries };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** CPU milliseconds of this process (all threads) */
const nodeCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Runner {
  label: string;
  /** wall ms and CPU ms per run, over `count` runs */
  step(count: number): Promise<{ wall: number; cpu: number }>;
  close(): Promise<void>;
  /** the wasm pool's threads, as onnxruntime-web started it */
  threads?: number;
  error?: string;
}

async function nodeRunner(s: Subject, threads: number, warmup: number): Promise<Runner> {
  const session = await Session.create(s.graph, { intraOpThreads: threads, memoryPattern: false });
  for (let i = 0; i < warmup; i++) await session.run(s.feeds);
  return {
    label: `Node onnxruntime-node CPU, ${threads} thread${threads > 1 ? 's' : ''}`,
    step: async (count) => {
      const [t, c] = [performance.now(), nodeCpuMs()];
      for (let i = 0; i < count; i++) await session.run(s.feeds);
      return { wall: (performance.now() - t) / count, cpu: (nodeCpuMs() - c) / count };
    },
    close: () => session.dispose(),
  };
}

async function browserRunner(
  s: Subject,
  packed: ReturnType<typeof packFeeds>,
  c: { label: string; device: 'wasm' | 'webgpu'; threads?: number },
  warmup: number,
  flags: string[],
): Promise<Runner> {
  // a browser per configuration: onnxruntime-web sizes its wasm thread pool once per page
  const h = await startBrowser({
    webgpu: c.device === 'webgpu',
    files: { '/bench/graph.onnx': s.graph, '/bench/feeds.bin': packed.blob },
    args: flags,
  });
  const opened = await h.page.evaluate((a) => window.harness.openStep(a), {
    graphUrl: '/bench/graph.onnx',
    feedsUrl: '/bench/feeds.bin',
    feeds: packed.entries,
    device: c.device,
    threads: c.threads,
    warmup,
  });
  return {
    label: c.label,
    threads: opened.threads,
    error: opened.error,
    step: async (count) => {
      const cpu = await h.cpuSeconds();
      const wall = await h.page.evaluate((n) => window.harness.runStep(n), count);
      return { wall, cpu: (((await h.cpuSeconds()) - cpu) * 1000) / count };
    },
    close: async () => {
      await h.page.evaluate(() => window.harness.closeStep());
      await h.close();
    },
  };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.args.includes('--quick');
  const withGpu = ctx.args.includes('--webgpu');
  const only = ctx.args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const baseReps = quick ? 3 : 5;
  const warmup = 2;
  // V8 compiles wasm with its baseline compiler first and optimises hot functions in the background while
  // they run: a few warm-up runs leave a step partly unoptimised, and the background compiles count as the
  // page's CPU time. The steady state a long training run reaches is measured with everything optimised up
  // front; --tier-up keeps Chromium's default.
  const flags = ctx.args.includes('--tier-up') ? [] : ['--js-flags=--no-liftoff'];
  const loadBefore = loadavg().map((l) => l.toFixed(2));
  const list = await subjects(only, ctx.log);
  const rows: Record<string, string | number>[] = [];
  for (const s of list) {
    const packed = packFeeds(s.feeds);
    const reps = baseReps;
    // Node and the browser at the same thread count take turns, run by run, so both see the same load
    for (const threads of [1, 2]) {
      const node = await nodeRunner(s, threads, warmup);
      const web = await browserRunner(
        s,
        packed,
        { label: `browser wasm, ${threads} thread${threads > 1 ? 's' : ''}`, device: 'wasm', threads },
        warmup,
        flags,
      );
      try {
        if (web.error) throw new Error(web.error);
        const times = { node: [] as number[], web: [] as number[], nodeCpu: [] as number[], webCpu: [] as number[] };
        for (let i = 0; i < reps; i++) {
          const a = await node.step(s.fast ? 10 : 1);
          const b = await web.step(s.fast ? 10 : 1);
          times.node.push(a.wall);
          times.nodeCpu.push(a.cpu);
          times.web.push(b.wall);
          times.webCpu.push(b.cpu);
        }
        ctx.log(
          `${s.name}, ${threads} thread(s): node ${times.node.map(Math.round).join(', ')} ms; browser (pool ${web.threads}) ${times.web.map(Math.round).join(', ')} ms`,
        );
        const [n, w] = [median(times.node), median(times.web)];
        const cpuRatio = median(times.webCpu) / median(times.nodeCpu);
        rows.push({ graph: s.name, runtime: node.label, 'step ms': +n.toFixed(1), 'browser / Node': '' });
        rows.push({
          graph: s.name,
          runtime: web.label + (web.threads !== threads ? ` (pool: ${web.threads})` : ''),
          'step ms': +w.toFixed(1),
          'browser / Node': +(w / n).toFixed(2),
          'browser / Node, CPU time': threads === 1 ? +cpuRatio.toFixed(2) : '',
        });
      } finally {
        await node.close();
        await web.close();
      }
    }
    if (withGpu) {
      const gpu = await browserRunner(s, packed, { label: 'browser WebGPU (SwiftShader)', device: 'webgpu' }, 1, flags);
      try {
        if (gpu.error) {
          ctx.log(`${s.name} WebGPU: ${gpu.error}`);
          rows.push({ graph: s.name, runtime: gpu.label, 'step ms': `fails: ${gpu.error.split('\n')[0]}` });
        } else {
          const times: number[] = [];
          for (let i = 0; i < (s.fast ? 3 : 1); i++) times.push((await gpu.step(1)).wall);
          ctx.log(`${s.name} WebGPU: ${times.map(Math.round).join(', ')} ms`);
          rows.push({ graph: s.name, runtime: gpu.label, 'step ms': Math.round(median(times)) });
        }
      } finally {
        await gpu.close();
      }
    }
  }
  const notes = [
    `medians of ${baseReps} samples after ${warmup} warm-up runs, Node and browser alternating sample by sample (a sample is one run; the MLP head's, the mean of 10); WebGPU: the MLP head 3 runs, conv graphs 1 run, after 1 warm-up; the same graph bytes and feeds everywhere`,
    flags.length
      ? `Chromium with ${flags.join(' ')} (wasm optimised before the first run; --tier-up for Chromium's default)`
      : "Chromium's default wasm tiering (baseline code first, optimised in the background)",
    "'CPU time': the renderer process's CPU time (Chrome DevTools Protocol ProcessTime) over Node's process CPU time, one thread each: a ratio the machine's load does not move",
    `load average before ${loadBefore.join(' ')}, after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    ...list.map((s) => `${s.name}: ${s.note}`),
  ];
  return { name: 'browser', rows, notes };
}
