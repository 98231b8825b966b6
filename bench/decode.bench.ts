// JPEG decode + resize throughput at 224x224, the input pipeline's share of a training step:
// `npm run bench -- decode [--images 48] [--width 500] [--height 375]`.
// Images are synthetic photo-like JPEGs (smooth gradients plus noise, quality 90) at ImageNet's typical
// size, written to a temp folder, so the figures do not depend on any data set being installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../src/util/rng.js';
import { applyAugment, sampleAugment, standardAugment } from '../src/data/augment.js';
import { LabelMap } from '../src/data/labels.js';
import type { Preprocessing } from '../src/data/preprocessing.js';
import { decodeForAugment, decodeForModel, probeImage } from '../src/data/node/decode.js';
import type { ImageItem } from '../src/data/node/images.js';
import { ImageLoader } from '../src/data/node/loader.js';
import { orderedMap } from '../src/data/node/pool.js';
import type { BenchModule } from './harness.js';

const imagenet: Preprocessing = {
  size: [224, 224],
  resize: 'shorter-side-then-crop',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  channels: 3,
};

function num(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

async function makeJpegs(dir: string, n: number, w: number, h: number): Promise<string[]> {
  const rng = mulberry32(1);
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const px = new Uint8Array(w * h * 3);
    const fx = 3 + rng() * 20;
    const fy = 3 + rng() * 20;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        const noise = (rng() - 0.5) * 40;
        px[i] = 128 + 90 * Math.sin(x / fx + k) + noise;
        px[i + 1] = 128 + 90 * Math.cos(y / fy) + noise;
        px[i + 2] = 128 + 60 * Math.sin((x + y) / (fx + fy)) + noise;
      }
    }
    const f = join(dir, `${k}.jpg`);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(f);
    files.push(f);
  }
  return files;
}

/** Images per second for `fn` over all files with `limit` in flight, best of `repeats`. */
async function throughput(files: string[], limit: number, fn: (f: string, i: number) => Promise<unknown>, repeats = 3) {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for await (const x of orderedMap(files, limit, fn)) if ('error' in x) throw x.error;
    best = Math.min(best, performance.now() - t0);
  }
  return (files.length / best) * 1000;
}

const mod: BenchModule = {
  description: 'JPEG decode + resize to 224x224 (eval path, train path with augmentation), img/s by concurrency',
  async run(ctx) {
    const n = num(ctx.args, 'images', 48);
    const W = num(ctx.args, 'width', 500);
    const H = num(ctx.args, 'height', 375);
    const dir = mkdtempSync(join(tmpdir(), 'graft-bench-decode-'));
    const rows: Record<string, string | number>[] = [];
    const notes: string[] = [];
    try {
      const files = await makeJpegs(dir, n, W, H);
      const size = { width: W, height: H };
      const vipsThreadsDefault = sharp.concurrency();
      notes.push(
        `${n} JPEGs ${W}x${H} q90; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; ` +
          `libvips threads per image default ${vipsThreadsDefault}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}; ${cpus().length} cpus`,
      );
      const rng = mulberry32(5);
      for (const vipsThreads of [1, 2]) {
        sharp.concurrency(vipsThreads);
        for (const limit of [1, 2, 4, 8]) {
          ctx.log(`eval vips=${vipsThreads} in-flight=${limit}`);
          const ips = await throughput(files, limit, (f) => decodeForModel(f, imagenet, size));
          rows.push({
            path: 'eval: decode+resize+crop (sharp)',
            vipsThreads,
            inFlight: limit,
            'img/s': Math.round(ips),
          });
        }
      }
      sharp.concurrency(vipsThreadsDefault);
      for (const limit of [1, 4]) {
        ctx.log(`train js in-flight=${limit}`);
        const ips = await throughput(files, limit, async (f) => {
          const img = await decodeForAugment(f, imagenet, size);
          return applyAugment(img, sampleAugment(standardAugment, W, H, rng), imagenet);
        });
        rows.push({
          path: 'train: sharp decode to 2x base + JS augment',
          vipsThreads: vipsThreadsDefault,
          inFlight: limit,
          'img/s': Math.round(ips),
        });
      }
      for (const limit of [1, 4]) {
        ctx.log(`train sharp in-flight=${limit}`);
        // the same transforms done inside libvips: crop + resize + flip + rotate + brightness/saturation
        const ips = await throughput(files, limit, async (f) => {
          const a = sampleAugment(standardAugment, W, H, rng);
          const c = a.crop!;
          let s = sharp(f)
            .rotate()
            .extract({
              left: Math.floor(c.x * W),
              top: Math.floor(c.y * H),
              width: Math.max(1, Math.floor(c.w * W)),
              height: Math.max(1, Math.floor(c.h * H)),
            })
            .resize(224, 224, { fit: 'fill' });
          if (a.flip) s = s.flop();
          s = s.rotate(a.angle, { background: '#000' }).resize(224, 224, { fit: 'cover' });
          return s
            .modulate({ brightness: a.brightness, saturation: a.saturation })
            .linear(a.contrast, 128 * (1 - a.contrast))
            .raw()
            .toBuffer();
        });
        rows.push({
          path: 'train: all transforms in sharp (timing only)',
          vipsThreads: vipsThreadsDefault,
          inFlight: limit,
          'img/s': Math.round(ips),
        });
      }
      // main-thread JS cost alone, which competes with batch assembly and onnxruntime calls
      const base = await decodeForAugment(files[0]!, imagenet, size);
      const t0 = performance.now();
      const reps = 40;
      for (let i = 0; i < reps; i++) applyAugment(base, sampleAugment(standardAugment, W, H, rng), imagenet);
      const jsMs = (performance.now() - t0) / reps;
      notes.push(
        `JS augment alone (crop+flip+rotate resample, colour jitter) from a ${base.width}x${base.height} base: ${jsMs.toFixed(2)} ms/img on the main thread`,
      );
      // the whole loader: decode, resize, normalise into NCHW batches of 32
      const probe = await probeImage(files[0]!);
      const items: ImageItem[] = files.map((f, i) => ({
        ...probe,
        id: `${i}.jpg`,
        label: i % 2 ? 'a' : 'b',
        hash: String(i),
        path: f,
        split: 'train',
        bytes: 0,
      }));
      for (const concurrency of [1, 4]) {
        const loader = new ImageLoader(items, {
          preprocessing: imagenet,
          labels: LabelMap.fromLabels(['a', 'b']),
          batchSize: 16,
          concurrency,
        });
        let best = Infinity;
        for (let r = 0; r < 3; r++) {
          const t = performance.now();
          for await (const _ of loader.epoch()) void _;
          best = Math.min(best, performance.now() - t);
        }
        rows.push({
          path: 'loader: eval batches NCHW float32',
          vipsThreads: vipsThreadsDefault,
          inFlight: concurrency,
          'img/s': Math.round((n / best) * 1000),
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { name: 'decode', rows, notes };
  },
};
export default mod;
export const { description, run } = mod;
