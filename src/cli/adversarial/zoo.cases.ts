// Hostile model files and caches (issue 10, items 1-3): paths a model names that leave its folder, external
// data through a symlink, a cached model with a flipped byte, a feature cache holding NaN vectors.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { fashionSlice, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { writeTinyClassifierWithExternalData } from '../../node/test-utils/classifier-fixture.js';
import type { AdversarialCase, AdversarialContext, AdversarialRun } from './types.js';

/** A TF.js graph model whose one weight shard is named `path` (the weight needs 16 bytes). */
function tfjsModel(dir: string, path: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'graph-model',
      modelTopology: { node: [] },
      weightsManifest: [{ paths: [path], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
    }),
  );
  return file;
}

const OUTSIDE = /weightsManifest\[0\]\.paths\[0\] names a file outside the model folder/;

/** `graft inspect` as text and as --json: refused (exit 1), nothing of the named file printed. */
function inspectBoth(model: string, stderr: RegExp): AdversarialRun[] {
  return [
    { argv: ['inspect', model], expect: { exit: 1, stderr } },
    {
      argv: ['inspect', model, '--json'],
      expect: { exit: 1, stderr, stdout: /"code":"BAD_MODEL"/ },
    },
  ];
}

/** Flips one byte of a file in place (same size; new mtime and ctime). */
function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.of(b[at]! ^ 0xff), 0, 1, at);
  closeSync(fd);
}

async function writePng(path: string): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .png()
    .toFile(path);
}

/**
 * A model with external data whose file is a plain name in the model folder but a symlink to the outside
 * file; the command is then pointed at it.
 */
function classifierWithLinkedData(ctx: AdversarialContext): string {
  mkdirSync(join(ctx.dir, 'run'));
  const model = join(ctx.dir, 'run', 'model.onnx');
  const data = writeTinyClassifierWithExternalData(model, 'weights.bin');
  renameSync(data, join(ctx.dir, 'real-weights.bin'));
  symlinkSync(ctx.outsideFile, data);
  return model;
}

const LINKED = /external data location.*names a file outside the model folder[\s\S]*symlink/;

/**
 * A tiny backbone known to a models file by a loopback URL pinned by sha256, its bytes already in the cache
 * (as a first, online run would have left them): every run here is offline.
 */
function cachedBackbone(ctx: AdversarialContext): { modelsFile: string; blob: string; sha256: string } {
  const file = writeTinyBackbone(join(ctx.dir, 'tiny-src.onnx'), { featuresOnly: true });
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const blob = join(ctx.cacheDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  mkdirSync(join(blob, '..'), { recursive: true });
  writeFileSync(blob, bytes);
  const modelsFile = join(ctx.dir, 'models.json');
  writeFileSync(
    modelsFile,
    JSON.stringify({
      models: [
        {
          name: 'tiny.cached',
          description: 'a tiny backbone from a (loopback) URL',
          task: 'image-feature-extraction',
          format: 'onnx',
          sources: [{ uri: 'http://127.0.0.1:9/tiny.onnx', sha256 }],
          input: { kind: 'image', size: [32, 32], layout: 'NCHW' },
        },
      ],
    }),
  );
  return { modelsFile, blob, sha256 };
}

function trainArgs(ctx: AdversarialContext, model: string, out: string, extra: string[] = []): string[] {
  return ['train', join(ctx.dir, 'data'), '--model', model, '--out', join(ctx.dir, out), '--epochs', '2', ...extra];
}

export const ZOO_CASES: readonly AdversarialCase[] = [
  {
    name: 'tfjs-weights-path-climbs-out',
    item: 1,
    setup: (ctx) => inspectBoth(tfjsModel(join(ctx.dir, 'model'), '../../outside/secret.txt'), OUTSIDE),
  },
  {
    name: 'tfjs-weights-path-absolute',
    item: 1,
    setup: (ctx) => inspectBoth(tfjsModel(join(ctx.dir, 'model'), ctx.outsideFile), OUTSIDE),
  },
  {
    name: 'tfjs-weights-shard-symlink',
    item: 1,
    setup: (ctx) => {
      const model = tfjsModel(join(ctx.dir, 'model'), 'group1-shard1of1.bin');
      symlinkSync(ctx.outsideFile, join(ctx.dir, 'model', 'group1-shard1of1.bin'));
      return inspectBoth(model, new RegExp(`${OUTSIDE.source}[\\s\\S]*symlink`));
    },
  },
  {
    name: 'onnx-external-data-symlink',
    item: 2,
    setup: async (ctx) => {
      const model = classifierWithLinkedData(ctx);
      await writePng(join(ctx.dir, 'photo.png'));
      const out = join(ctx.dir, 'exported.onnx');
      return [
        ...inspectBoth(model, LINKED),
        { argv: ['predict', model, join(ctx.dir, 'photo.png')], expect: { exit: 1, stderr: LINKED } },
        {
          argv: ['export', model, '--format', 'onnx', '--out', out],
          expect: {
            exit: 1,
            stderr: LINKED,
            check: () => {
              if (existsSync(out)) throw new Error('an export was written');
            },
          },
        },
      ];
    },
  },
  {
    name: 'onnx-external-data-beside-local-model',
    item: 8,
    setup: async (ctx) => {
      // the same model with its data file really beside it: usable for predict and export (inlined)
      mkdirSync(join(ctx.dir, 'run'));
      const model = join(ctx.dir, 'run', 'model.onnx');
      writeTinyClassifierWithExternalData(model, 'weights.bin');
      await writePng(join(ctx.dir, 'photo.png'));
      const out = join(ctx.dir, 'exported', 'model.onnx');
      return [
        { argv: ['inspect', model], expect: { exit: 0, stdout: /pixel_values/ } },
        { argv: ['predict', model, join(ctx.dir, 'photo.png')], expect: { exit: 0, stdout: /photo\.png\t(cat|dog) / } },
        {
          argv: ['export', model, '--format', 'onnx', '--out', out],
          expect: {
            exit: 0,
            check: () => {
              const names = readdirSync(join(ctx.dir, 'exported'));
              if (names.join() !== 'model.onnx') throw new Error(`exported files: ${names.join(', ')}`);
            },
          },
        },
        { argv: ['predict', out, join(ctx.dir, 'photo.png')], expect: { exit: 0, stdout: /(cat|dog) / } },
      ];
    },
  },
  {
    name: 'cached-blob-flipped-byte',
    item: 3,
    setup: (ctx) => {
      const { modelsFile, blob, sha256 } = cachedBackbone(ctx);
      fashionSlice(join(ctx.dir, 'data'), { train: 4, classes: 2 });
      const offline = ['--models-file', modelsFile, '--offline'];
      return [
        {
          argv: trainArgs(ctx, 'tiny.cached', 'run1', offline),
          timeoutMs: 120_000,
          expect: {
            exit: 0,
            stderr: /features: 8 computed/,
            // the cached model is damaged between two runs: a byte in the middle of a weight
            check: () => flipByte(blob, Math.floor(readFileSync(blob).length / 2)),
          },
        },
        {
          argv: ['cache', 'verify'],
          expect: { exit: 1, stdout: new RegExp(`damaged blobs/sha256/${sha256.slice(0, 2)}/${sha256}`) },
        },
        {
          argv: trainArgs(ctx, 'tiny.cached', 'run2', offline),
          timeoutMs: 120_000,
          expect: {
            exit: 1,
            stderr: /cached copy of .*tiny\.onnx is damaged[\s\S]*`graft zoo pull tiny\.cached` once without --offline/,
            check: () => {
              if (existsSync(join(ctx.dir, 'run2', 'model.onnx'))) throw new Error('a model was written');
            },
          },
        },
      ];
    },
  },
  {
    name: 'feature-cache-with-nan-vectors',
    item: 3,
    setup: (ctx) => {
      const model = writeTinyBackbone(join(ctx.dir, 'tiny.onnx'), { featuresOnly: true });
      fashionSlice(join(ctx.dir, 'data'), { train: 4, classes: 2 });
      const features = join(ctx.cacheDir, 'features');
      return [
        {
          argv: trainArgs(ctx, model, 'run1'),
          timeoutMs: 120_000,
          expect: {
            exit: 0,
            stderr: /features: 8 computed/,
            // a store written before NaN vectors were refused: the last value becomes NaN
            check: () => {
              const stores = readdirSync(features).filter((n) => n.endsWith('.features'));
              if (stores.length !== 1) throw new Error(`feature stores: ${stores.join(', ')}`);
              const b = readFileSync(join(features, stores[0]!));
              b.writeFloatLE(Number.NaN, b.length - 4);
              writeFileSync(join(features, stores[0]!), b);
            },
          },
        },
        // none of the poisoned store is reused: every vector is computed again
        {
          argv: trainArgs(ctx, model, 'run2'),
          timeoutMs: 120_000,
          expect: { exit: 0, stderr: /features: 8 computed/ },
        },
        { argv: ['cache', 'verify'], expect: { exit: 0, stdout: /all intact/ } },
      ];
    },
  },
];
