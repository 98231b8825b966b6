// Issue 14 benchmark: the studio's own worker path against `graft train` on the same machine, wasm 1 and 2
// threads against onnxruntime-node with 1 and 2 threads. Feature extraction is the whole pipeline each side
// runs (read, decode, resize, normalise, EfficientNet-B0 forward: the browser's createImageBitmap and Graft's
// resampler in the worker, sharp in Node), reported in images per second; the fine-tune step is one training
// step of the head and the last block on activations cached at the freeze boundary (batch 32), the mean over
// the block phase's epochs. A subset of the fixture (30 train and 10 test images per class) keeps it short.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStudio } from '../src/app/studio.js';
import { CHROMIUM } from '../src/app-web/test-utils/browser.js';
import { graftJson } from '../src/studio/test-utils/cli.js';
import { defaultCacheDir } from '../src/zoo/sources/node/cache.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  "graft studio's worker (Chromium, wasm 1/2 threads) vs graft train (Node CPU 1/2 threads): EfficientNet-B0 feature extraction img/s and last-block fine-tune step time";

const MODEL = 'efficientnet_b0.imagenet';
const FIXTURE = fileURLToPath(new URL('../fixtures/fashion-mnist-small', import.meta.url));
const FT = { epochs: 2, probeEpochs: 1, batch: 32 };

interface PageFigures {
  imagesPerSecond: number;
  extractSeconds: number;
  decodeSeconds: number;
  runSeconds: number;
  stepMs?: number;
  threads?: number;
  device: string;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'graft-studio-bench-'));
  const loadBefore = loadavg().map((l) => l.toFixed(2));
  try {
    // the subset
    const data = join(work, 'data');
    for (const [split, n] of [
      ['train', 30],
      ['test', 10],
    ] as const) {
      for (const c of readdirSync(join(FIXTURE, split))) {
        mkdirSync(join(data, split, c), { recursive: true });
        for (const f of readdirSync(join(FIXTURE, split, c))
          .sort()
          .slice(0, n)) {
          cpSync(join(FIXTURE, split, c, f), join(data, split, c, f));
        }
      }
    }
    const trainCount = 10 * 30 - 10 * 3; // graft train holds 10% of train/ out for validation
    const imageCount = 10 * 30 + 10 * 10;
    // the user's model cache, but a feature cache of our own, emptied before every Node run
    const cache = join(work, 'cache');
    mkdirSync(cache);
    const real = defaultCacheDir();
    for (const d of ['blobs', 'refs', 'verified']) symlinkSync(join(real, d), join(cache, d));
    const env = { GRAFT_CACHE_DIR: cache };
    const studio = await startStudio({ port: 0, cacheDir: cache });
    if (!studio.models.some((m) => m.name === MODEL)) {
      await studio.close();
      throw new Error(`${MODEL} is not in the model cache: run graft zoo pull ${MODEL} first`);
    }
    const rows: Record<string, string | number>[] = [];
    const flags = ['--js-flags=--no-liftoff'];
    try {
      for (const threads of [1, 2]) {
        rmSync(join(cache, 'features'), { recursive: true, force: true });
        const train = (extra: string[]) =>
          graftJson<{
            features?: { imagesPerSecond?: number };
            epochSeconds?: Record<string, number>;
          }>(
            [
              'train',
              data,
              '--model',
              MODEL,
              '--threads',
              String(threads),
              '--out',
              join(work, 'out'),
              '--overwrite',
              '--seed',
              '0',
              ...extra,
            ],
            env,
          );
        const lp = await train([]);
        const ft = await train([
          '--strategy',
          'fine-tune',
          '--unfreeze',
          'last:1',
          '--epochs',
          String(FT.epochs),
          '--probe-epochs',
          String(FT.probeEpochs),
          '--batch',
          String(FT.batch),
        ]);
        const nodeIps = lp.features!.imagesPerSecond!;
        const nodeStep = (1000 * ft.epochSeconds!.unfrozen!) / Math.ceil(trainCount / FT.batch);
        const browser = await chromium.launch({
          executablePath: CHROMIUM,
          headless: true,
          args: ['--no-sandbox', '--disable-gpu', ...flags],
        });
        let probe: PageFigures;
        let fine: PageFigures;
        try {
          const page = await browser.newPage();
          await page.goto(studio.url);
          await page.waitForSelector('body[data-ready="true"]');
          await page.setInputFiles('#data-input', data);
          await page.waitForSelector('#class-table');
          await page.selectOption('#model-select', MODEL);
          await page.waitForSelector('#model-blocks', { timeout: 120_000 });
          await page.fill('#threads', String(threads));
          const trainPage = async (strategy: string, fields: Record<string, number>) => {
            await page.selectOption('#strategy', strategy);
            for (const [id, v] of Object.entries(fields)) await page.fill(`#${id}`, String(v));
            await page.click('#train');
            await page.waitForSelector('#train-status[data-result]', { timeout: 600_000 });
            return JSON.parse((await page.getAttribute('#train-status', 'data-result'))!) as PageFigures;
          };
          probe = await trainPage('linear-probe', { epochs: 0 });
          fine = await trainPage('fine-tune', {
            blocks: 1,
            epochs: FT.epochs,
            'probe-epochs': FT.probeEpochs,
            batch: FT.batch,
          });
        } finally {
          await browser.close();
        }
        ctx.log(
          `${threads} thread(s): node ${nodeIps.toFixed(1)} img/s, step ${nodeStep.toFixed(1)} ms; page (pool ${probe.threads}) ${probe.imagesPerSecond.toFixed(1)} img/s (${probe.extractSeconds.toFixed(1)} s: decode and preprocess ${probe.decodeSeconds.toFixed(1)} s, model ${probe.runSeconds.toFixed(1)} s), step ${fine.stepMs?.toFixed(1)} ms`,
        );
        rows.push({
          measure: 'feature extraction, img/s (higher is better)',
          threads,
          'graft train (Node)': +nodeIps.toFixed(1),
          'studio (Chromium wasm)': +probe.imagesPerSecond.toFixed(1),
          'studio / Node': +(probe.imagesPerSecond / nodeIps).toFixed(2),
          // without the session's start (onnxruntime-web compiling its wasm and the model): the rate a long run reaches
          'studio, steady (decode + model only)': +(imageCount / (probe.decodeSeconds + probe.runSeconds)).toFixed(1),
          'studio steady / Node': +(imageCount / (probe.decodeSeconds + probe.runSeconds) / nodeIps).toFixed(2),
        });
        rows.push({
          measure: `fine-tune step, ms (last:1, batch ${FT.batch})`,
          threads,
          'graft train (Node)': +nodeStep.toFixed(1),
          'studio (Chromium wasm)': +(fine.stepMs ?? NaN).toFixed(1),
          'studio / Node': +((fine.stepMs ?? NaN) / nodeStep).toFixed(2),
        });
      }
    } finally {
      await studio.close();
    }
    return {
      name: 'studio',
      rows,
      notes: [
        `${MODEL} at 224x224 on 28x28 Fashion-MNIST PNGs (upscaled by each side's resampler): ${trainCount} train, 30 val, 100 test images; one run per configuration, Node first, then the page`,
        "studio: the page's own worker (decode with createImageBitmap, resize and normalise in JS, onnxruntime-web wasm, Chromium with --js-flags=--no-liftoff); the wasm pool is sized by the page's thread field",
        "graft train: the same data and options, --threads N, with an empty feature cache (extraction) ; the step time is the block phase's mean epoch time over its steps",
        `load average before ${loadBefore.join(' ')}, after ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
