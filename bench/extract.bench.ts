// Issue 4 benchmark: feature-extraction throughput with EfficientNet-B0 cut at its pooled features, in one
// process, same model and batch size:
//   1. onnxruntime alone on pre-decoded, preprocessed tensors (the ceiling)
//   2. end to end from JPEG files on disk: decode + resize + normalise + backbone, as `graft train` runs it
//      (extractFeatures, which loads the next batch while the current one runs) - target >= 85% of (1)
//   3. TF.js 4.22 with the wasm backend running the original TF.js graph model on the same tensors
// Runs (1) and (2) alternately and keeps each one's best round, so drift on a shared machine hits both.
//
//   npm run bench -- extract [--count=160] [--batch=32] [--tfjs-count=32] [--model=NAME]
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { exampleSize, writeNormalized } from '../src/data/image.js';
import { decodeForModel } from '../src/data/node/decode.js';
import { loadBackbone } from '../src/app/backbone.js';
import { Session } from '../src/runtime/session.js';
import { extractFeatures } from '../src/transfer/extract.js';
import { MemoryFeatureStore } from '../src/transfer/feature-store.js';
import { pullModel } from '../src/zoo/node/pull.js';
import { importTfjsModelFile } from '../src/zoo/importers/index.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'feature extraction: end to end from JPEG files vs onnxruntime alone vs TF.js wasm (EfficientNet-B0, same batch)';

const FIXTURE = fileURLToPath(new URL('../fixtures/fashion-mnist-small/test/', import.meta.url));

function arg(args: string[], name: string, fallback: number): number {
  const v = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
}

/**
 * Photo-sized JPEGs (480x360, quality 90) made from the fixture's images, tinted and with grain so the
 * encoder sees photo-like content: decoding them costs what decoding real camera-roll thumbnails does.
 */
export async function makeJpegs(count: number): Promise<string[]> {
  const dir = join(tmpdir(), 'graft-extract-bench', `jpeg-${count}`);
  mkdirSync(dir, { recursive: true });
  const sources = readdirSync(FIXTURE)
    .sort()
    .flatMap((c) => readdirSync(join(FIXTURE, c)).map((f) => join(FIXTURE, c, f)));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const out = join(dir, `${String(i).padStart(5, '0')}.jpg`);
    files.push(out);
    try {
      readFileSync(out);
      continue;
    } catch {
      // not made yet
    }
    const grain = Buffer.alloc(480 * 360 * 3);
    for (let k = 0; k < grain.length; k++) grain[k] = (k * 2654435761 + i * 97) % 23;
    const base = await sharp(sources[i % sources.length]!)
      .resize(480, 360, { fit: 'fill' })
      .toColourspace('srgb')
      .tint({ r: 120 + (i % 7) * 15, g: 140, b: 100 + (i % 5) * 20 })
      .raw()
      .toBuffer();
    for (let k = 0; k < base.length; k++) base[k] = Math.min(255, base[k]! + grain[k]!);
    await sharp(base, { raw: { width: 480, height: 360, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(out);
  }
  return files;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const count = arg(ctx.args, 'count', 160);
  const batch = arg(ctx.args, 'batch', 32);
  const tfjsCount = arg(ctx.args, 'tfjs-count', 32);
  const name = ctx.args.find((a) => a.startsWith('--model='))?.slice(8) ?? 'efficientnet_b0.imagenet';
  const files = await makeJpegs(count);
  const backbone = await loadBackbone({ model: name });
  const p = backbone.preprocessing;
  const per = exampleSize(p);
  ctx.log(`${count} JPEGs 480x360, ${name} cut at ${backbone.featureValue}, batch ${batch}`);

  const tensors = new Float32Array(count * per);
  for (let i = 0; i < count; i++) writeNormalized(await decodeForModel(files[i]!, p), p, tensors, i);

  const session = await Session.create(backbone.model);
  const runBatch = (x: Float32Array, n: number) =>
    session.run({ [backbone.inputName]: { dtype: 'float32', dims: [n, ...backbone.itemDims], data: x } }, [
      backbone.featureValue,
    ]);
  await runBatch(tensors.subarray(0, batch * per), Math.min(batch, count));

  const ortAlone = async () => {
    const t0 = performance.now();
    for (let at = 0; at < count; at += batch) {
      const n = Math.min(batch, count - at);
      await runBatch(tensors.subarray(at * per, (at + n) * per), n);
    }
    return count / ((performance.now() - t0) / 1000);
  };
  const endToEnd = async () => {
    const t0 = performance.now();
    const r = await extractFeatures({
      session,
      inputName: backbone.inputName,
      outputName: backbone.featureValue,
      itemDims: backbone.itemDims,
      store: new MemoryFeatureStore('bench', backbone.dim),
      batchSize: batch,
      items: files.map((f, i) => ({
        key: String(i),
        load: async () => {
          const x = new Float32Array(per);
          writeNormalized(await decodeForModel(f, p), p, x, 0);
          return x;
        },
      })),
    });
    if (r.computed !== count) throw new Error(`only ${r.computed} of ${count} images embedded`);
    return count / ((performance.now() - t0) / 1000);
  };
  const ort: number[] = [];
  const e2e: number[] = [];
  for (let round = 0; round < 2; round++) {
    ort.push(await ortAlone());
    e2e.push(await endToEnd());
    ctx.log(
      `round ${round + 1}: onnxruntime alone ${ort[round]!.toFixed(1)} img/s, end to end ${e2e[round]!.toFixed(1)} img/s`,
    );
  }
  await session.dispose();
  const bestOrt = Math.max(...ort);
  const bestE2e = Math.max(...e2e);

  const tfjs = await tfjsWasm(
    name,
    backbone.featureValue,
    files.slice(0, tfjsCount),
    p,
    Math.min(batch, tfjsCount),
    ctx,
  );
  const convertMs = await conversionMs(name);
  ctx.log(`TF.js -> ONNX conversion of ${name}: ${convertMs.toFixed(0)} ms`);
  const rows: BenchResult['rows'] = [
    {
      pipeline: 'onnxruntime-node alone, pre-decoded tensors',
      images: count,
      batch,
      'img/s': round1(bestOrt),
      'vs ORT alone': '100%',
    },
    {
      pipeline: 'end to end from JPEG files (decode + resize + backbone)',
      images: count,
      batch,
      'img/s': round1(bestE2e),
      'vs ORT alone': `${((100 * bestE2e) / bestOrt).toFixed(1)}%`,
    },
    {
      pipeline: `TF.js 4.22 wasm (${tfjs.threads}), original graph model, pre-decoded tensors`,
      images: tfjs.images,
      batch: tfjs.batch,
      'img/s': round1(tfjs.rate),
      'vs ORT alone': `${((100 * tfjs.rate) / bestOrt).toFixed(1)}%`,
    },
  ];
  return {
    name: 'extract',
    rows,
    notes: [
      `end to end / onnxruntime alone: ${((100 * bestE2e) / bestOrt).toFixed(1)}% (target >= 85%)`,
      `onnxruntime-node / TF.js wasm: ${(bestOrt / tfjs.rate).toFixed(1)}x; end to end / TF.js wasm: ${(bestE2e / tfjs.rate).toFixed(1)}x`,
      'best of 2 alternating rounds each for the onnxruntime rows; TF.js after one warm-up batch',
      `TF.js -> ONNX conversion (pure TypeScript, from the cached tarball files): ${convertMs.toFixed(0)} ms`,
    ],
  };
}

/** Wall time of converting the zoo model's original TF.js files (already in the cache) to ONNX. */
async function conversionMs(name: string): Promise<number> {
  const pulled = await pullModel(name);
  const main = pulled.sourceFiles[0];
  if (!main || !/\.(json|js)$/.test(main.source)) return NaN;
  const base = main.source.slice(0, main.source.lastIndexOf('/') + 1);
  const bySource = new Map(pulled.sourceFiles.map((f) => [f.source, f.path]));
  const readFile = async (rel: string) => {
    const path = bySource.get(base + rel);
    if (!path) throw new Error(`${rel} is not among the pulled files of ${name}`);
    return new Uint8Array(readFileSync(path));
  };
  const modelFile = main.source.slice(base.length);
  const t0 = performance.now();
  await importTfjsModelFile(readFile, modelFile, { inputSize: pulled.entry.convert?.inputSize });
  return performance.now() - t0;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** The original TF.js graph model (the npm tarball's model.json and shards) on TF.js's wasm backend. */
async function tfjsWasm(
  name: string,
  featureValue: string,
  files: string[],
  p: import('../src/data/preprocessing.js').Preprocessing,
  batch: number,
  ctx: BenchContext,
): Promise<{ rate: number; images: number; batch: number; threads: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const tfconv = await import('@tensorflow/tfjs-converter');
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  tf.env().set('PROD', true);
  await tf.setBackend('wasm');
  await tf.ready();
  const threads = String(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'threaded' : 'single-threaded');
  const pulled = await pullModel(name);
  const file = (suffix: string) => {
    const f = pulled.sourceFiles.find((s) => s.source.endsWith(suffix));
    if (!f) throw new Error(`the pulled model has no ${suffix}`);
    return readFileSync(f.path);
  };
  const mj = JSON.parse(file('model.json').toString('utf8')) as {
    modelTopology: object;
    format?: string;
    weightsManifest: { paths: string[]; weights: object[] }[];
  };
  const specs: object[] = [];
  const parts: Buffer[] = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const path of g.paths) parts.push(file(`/${path}`));
  }
  const weights = Buffer.concat(parts);
  const model = await tfconv.loadGraphModel({
    load: async () => ({
      modelTopology: mj.modelTopology,
      format: mj.format,
      weightSpecs: specs as never,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  });
  // TF.js graph models take NHWC; the same preprocessing otherwise
  const nhwc = { ...p, layout: 'NHWC' as const };
  const per = exampleSize(nhwc);
  const x = new Float32Array(files.length * per);
  for (let i = 0; i < files.length; i++) writeNormalized(await decodeForModel(files[i]!, nhwc), nhwc, x, i);
  const run = async (at: number, n: number) => {
    const input = tf.tensor(x.subarray(at * per, (at + n) * per), [n, p.size[0], p.size[1], 3]);
    const y = model.execute(input, featureValue) as import('@tensorflow/tfjs-core').Tensor;
    await y.data();
    tf.dispose([input, y]);
  };
  await run(0, Math.min(batch, 8));
  const t0 = performance.now();
  for (let at = 0; at < files.length; at += batch) await run(at, Math.min(batch, files.length - at));
  const rate = files.length / ((performance.now() - t0) / 1000);
  ctx.log(`TF.js wasm (${threads}): ${rate.toFixed(2)} img/s`);
  model.dispose();
  return { rate, images: files.length, batch, threads };
}
