// Issue 16: `graft serve` under load, unbatched (--max-batch 1) and batched (--max-batch 16), at concurrency 1, 8
// and 32, on loopback. Each server is a `graft serve` child process; the load comes from this process. The two
// modes alternate round by round, and each keeps its best round, so drift on a shared machine hits both alike.
// The machine's load average is printed: on 2 shared cores the figures move with what else runs.
//
//   npm run bench -- serve [--model=RUN_DIR/model.onnx] [--requests=400] [--rounds=3]
//   default model: the tiny test classifier (a 2-conv CNN, 32x32 input); pass a real one for real costs
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { type LoadResult, drive } from '../src/serve/test-utils/load.js';
import { trainTinyImageClassifier } from '../src/serve/test-utils/models.js';
import { classifierLogits, loadClassifier } from '../src/app/classifier.js';
import { exampleSize } from '../src/data/image.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description = 'graft serve: throughput and p50/p99 latency at concurrency 1, 8, 32, batched vs unbatched';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function startServe(model: string, maxBatch: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/graft.js'),
      'serve',
      model,
      '--port',
      '0',
      '--json',
      '--max-batch',
      String(maxBatch),
      '--max-queue',
      '256',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) done((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => fail(new Error(`graft serve exited (${code})`)));
  });
  return { url, child };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const requests = Number(arg(ctx.args, 'requests') ?? 400);
  const rounds = Number(arg(ctx.args, 'rounds') ?? 3);
  let model = arg(ctx.args, 'model');
  let images: string[];
  if (model) {
    const dir = join(ROOT, 'fixtures/fashion-mnist-small/test/bag');
    const { readdirSync } = await import('node:fs');
    images = readdirSync(dir).map((f) => join(dir, f));
  } else {
    const tiny = await trainTinyImageClassifier(mkdtempSync(join(tmpdir(), 'graft-serve-bench-')));
    model = tiny.model;
    images = tiny.images;
  }
  const bodies = images.slice(0, 32).map((f) => readFileSync(f));
  const servers = { unbatched: await startServe(model, 1), batched: await startServe(model, 16) };
  const load0 = loadavg()[0]!;
  const best: Record<string, LoadResult> = {};
  const meanBatch: Record<number, number> = {};
  const batchCounts = async (url: string) => {
    const m = await (await fetch(`${url}/metrics`)).text();
    const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(m)?.[1] ?? 0);
    return { sum: num('graft_batch_size_sum'), count: num('graft_batch_size_count') };
  };
  try {
    for (const s of Object.values(servers))
      await drive(s.url, { bodies, concurrency: 8, requests: 100, deadlineMs: 30_000 });
    for (const concurrency of [1, 8, 32]) {
      const n = concurrency === 1 ? Math.ceil(requests / 4) : requests;
      const before = await batchCounts(servers.batched.url);
      for (let round = 0; round < rounds; round++) {
        for (const [mode, s] of Object.entries(servers)) {
          const r = await drive(s.url, { bodies, concurrency, requests: n, deadlineMs: 60_000 });
          if (r.statuses[200] !== r.requests) throw new Error(`${mode}: ${JSON.stringify(r.statuses)}`);
          const key = `${mode}@${concurrency}`;
          if (!best[key] || r.throughput > best[key]!.throughput) best[key] = r;
          ctx.log(
            `${key} round ${round + 1}: ${r.throughput.toFixed(1)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`,
          );
        }
      }
      const after = await batchCounts(servers.batched.url);
      meanBatch[concurrency] = (after.sum - before.sum) / Math.max(1, after.count - before.count);
    }
  } finally {
    for (const s of Object.values(servers)) s.child.kill('SIGTERM');
  }
  const rows = [1, 8, 32].map((c) => {
    const u = best[`unbatched@${c}`]!;
    const b = best[`batched@${c}`]!;
    return {
      concurrency: c,
      'unbatched req/s': +u.throughput.toFixed(1),
      'batched req/s': +b.throughput.toFixed(1),
      'throughput ratio (batched / unbatched)': +(b.throughput / u.throughput).toFixed(2),
      'unbatched p50/p99 ms': `${u.p50Ms.toFixed(1)} / ${u.p99Ms.toFixed(1)}`,
      'batched p50/p99 ms': `${b.p50Ms.toFixed(1)} / ${b.p99Ms.toFixed(1)}`,
      'mean batch (batched)': +meanBatch[c]!.toFixed(1),
    };
  });
  // the model alone, in this process: what one image costs at batch 1 and at batch 16
  const c = await loadClassifier(model);
  const per = exampleSize(c.info.preprocessing);
  const x = Float32Array.from({ length: 16 * per }, (_, i) => Math.sin(i));
  const msPerImage = async (bs: number) => {
    const t0 = performance.now();
    for (let i = 0; i < 32 / bs; i++) await classifierLogits(c, x.subarray(0, bs * per), bs);
    return (performance.now() - t0) / 32;
  };
  const alone = { 1: Infinity, 16: Infinity } as Record<number, number>;
  for (let round = 0; round < 3; round++)
    for (const bs of [1, 16]) alone[bs] = Math.min(alone[bs]!, await msPerImage(bs));
  await c.dispose();
  return {
    name: 'serve',
    rows,
    notes: [
      `model ${model}; ${requests} requests per round at concurrency 8 and 32 (${Math.ceil(requests / 4)} at 1), best of ${rounds} rounds`,
      `the model alone (onnxruntime, this process, best of 3): ${alone[1]!.toFixed(2)} ms per image at batch 1, ${alone[16]!.toFixed(2)} ms per image at batch 16`,
      `load average (1 min) at the start: ${load0.toFixed(2)}, at the end: ${loadavg()[0]!.toFixed(2)}; client and servers share the machine's cores`,
    ],
  };
}
