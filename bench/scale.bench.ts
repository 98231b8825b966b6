// Issue 16: what scale-out buys on this machine, and the per-image costs a larger job is planned from.
//   1. A study over the queue (a private redis-server on loopback) with 1, 2 and 4 `graft worker` processes:
//      runs per minute, side by side with the same study run in one process without a queue. The study is the
//      tiny backbone's (features cached beforehand, shared by every worker), so it measures run throughput.
//      The configurations alternate round by round; each keeps its best round.
//   2. `graft embed` with EfficientNet-B0 on photo-sized JPEGs (480x360): the scan every shard repeats (read,
//      sha256, header) and the embedding (decode, resize, backbone) per image, for docs/scale-out.md's
//      calculation of a million images on N machines.
//
//   npm run bench -- scale [--rounds=2] [--images=96] [--workers=1,2,4] [--skip-embed] [--skip-queue]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCompare } from '../src/app/compare.js';
import { scanAndSplitImages } from '../src/app/data.js';
import { autoResize, loadBackbone, withBackboneResize } from '../src/app/backbone.js';
import { extractImageFeatures } from '../src/app/features.js';
import { fashionSlice, writeTinyBackbone } from '../src/app/test-utils/fixtures.js';
import { redisMissing, startRedis } from '../src/app/test-utils/redis.js';
import { makeJpegs } from './extract.bench.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'scale-out: study runs/min with 1, 2, 4 queue workers vs one process; scan and embed cost per image (EfficientNet-B0)';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function startWorker(url: string, name: string, cacheDir: string, cwd: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/graft.js'),
      'worker',
      '--queue',
      url,
      '--queue-name',
      name,
      '--idle-exit',
      '2',
      '--cache-dir',
      cacheDir,
    ],
    { cwd, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((done, fail) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/waiting for runs/.test(err)) done(child);
    });
    child.once('exit', (code) => fail(new Error(`worker exited (${code}): ${err}`)));
  });
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rounds = Number(arg(ctx.args, 'rounds') ?? 2);
  const workerCounts = (arg(ctx.args, 'workers') ?? '1,2,4').split(',').map(Number);
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [`load average (1 min) at the start: ${loadavg()[0]!.toFixed(2)}`];

  if (!ctx.args.includes('--skip-queue')) {
    const missing = redisMissing();
    if (missing) throw new Error(missing);
    const dir = mkdtempSync(join(tmpdir(), 'graft-scale-bench-'));
    const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
    const data = fashionSlice(join(dir, 'data'), { train: 60, test: 10 });
    const cacheDir = join(dir, 'cache');
    const study = {
      data,
      model,
      cacheDir,
      strategies: ['linear-probe'],
      fractions: [0.5, 1],
      seeds: [0, 1, 2, 3, 4, 5],
      epochs: 200,
      env: { HOME: dir },
      cwd: dir,
    };
    // fills the feature cache every configuration then reads
    await runCompare({ ...study, out: join(dir, 'warm') });
    const runs = study.fractions.length * study.seeds.length;
    const redis = await startRedis();
    const best = new Map<string, number>();
    try {
      for (let round = 0; round < rounds; round++) {
        for (const k of [0, ...workerCounts]) {
          const label = k === 0 ? 'one process, no queue' : `queue, ${k} worker${k > 1 ? 's' : ''}`;
          const name = `bench-${round}-${k}`;
          const workers =
            k === 0
              ? []
              : await Promise.all(Array.from({ length: k }, () => startWorker(redis.url, name, cacheDir, dir)));
          const t0 = performance.now();
          await runCompare({
            ...study,
            out: join(dir, name),
            ...(k === 0 ? {} : { queue: redis.url, queueName: name }),
          });
          const seconds = (performance.now() - t0) / 1000;
          await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(0) : w.once('exit', r)))));
          const perMin = (60 * runs) / seconds;
          ctx.log(
            `round ${round + 1}, ${label}: ${runs} runs in ${seconds.toFixed(1)} s (${perMin.toFixed(1)} runs/min), load ${loadavg()[0]!.toFixed(2)}`,
          );
          best.set(label, Math.max(best.get(label) ?? 0, perMin));
        }
      }
    } finally {
      await redis.stop();
    }
    const base = best.get('one process, no queue')!;
    for (const [label, perMin] of best)
      rows.push({
        what: `study over the queue: ${label}`,
        'runs/min': +perMin.toFixed(1),
        'vs one process': +(perMin / base).toFixed(2),
      });
    notes.push(
      `study: ${runs} linear-probe runs (200 epochs on 300 or 600 labelled Fashion-MNIST images, tiny backbone, features cached), best of ${rounds} rounds; workers start before the clock and use onnxruntime's default threads (one per core)`,
    );
  }

  if (!ctx.args.includes('--skip-embed')) {
    const n = Number(arg(ctx.args, 'images') ?? 96);
    const files = await makeJpegs(n);
    const dir = mkdtempSync(join(tmpdir(), 'graft-scale-embed-'));
    mkdirSync(dir, { recursive: true });
    const manifest = join(dir, 'images.csv');
    writeFileSync(manifest, ['path,label', ...files.map((f) => `${f},photo`)].join('\n') + '\n');
    let scan = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await scanAndSplitImages(manifest, { minClasses: 1 });
      scan = Math.min(scan, (performance.now() - t0) / 1000);
    }
    // what graft embed runs after its scan (features.ts), into an empty feature cache each round
    const backbone = await loadBackbone({ model: 'efficientnet_b0.imagenet', offline: true });
    const ds = await scanAndSplitImages(manifest, { minClasses: 1 });
    let embed = Infinity;
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const res = await extractImageFeatures({
        backbone: withBackboneResize(backbone, autoResize(backbone, ds.items).resize),
        images: ds.items.map((it) => ({ key: it.hash, input: it.path, label: it.id, size: it })),
        cacheDir: join(dir, `features-${r}`),
      });
      if (res.computed !== n) throw new Error(`embedded ${res.computed} of ${n}`);
      embed = Math.min(embed, (performance.now() - t0) / 1000);
    }
    const scanMs = (1000 * scan) / n;
    const embedMs = (1000 * embed) / n;
    rows.push({
      what: 'scan per image (read, sha256, header): every shard repeats it',
      'ms/image': +scanMs.toFixed(2),
    });
    rows.push({
      what: 'embed per image (decode, resize, EfficientNet-B0): split across shards',
      'ms/image': +embedMs.toFixed(2),
    });
    notes.push(
      `embed: ${n} JPEGs 480x360 through graft embed's extraction (efficientnet_b0.imagenet, batch 32, session created in the timing), best of 2 runs into an empty feature cache`,
    );
  }
  notes.push(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}`);
  return { name: 'scale', rows, notes };
}
