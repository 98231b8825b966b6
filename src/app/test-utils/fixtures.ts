// Test fixtures for the run layer: a small convolutional feature extractor saved as an ONNX file with
// preprocessing metadata (so it loads like any user model), and slices of the committed Fashion-MNIST subset.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Preprocessing } from '../../data/preprocessing.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { mulberry32 } from '../../util/rng.js';
import { saveOnnxFile } from '../../node/onnx-file.js';

export const FASHION = fileURLToPath(new URL('../../../fixtures/fashion-mnist-small/', import.meta.url));

/** feature size of the tiny backbone */
export const TINY_DIM = 96;
const DIM = TINY_DIM;

export const TINY_PREPROCESSING: Preprocessing = {
  size: [32, 32],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  layout: 'NCHW',
  channels: 3,
};

/**
 * A fixed random CNN: two strided 3x3 convolutions with ReLU, then 4x4 average pooling into 2x2 cells:
 * 96-d features that separate Fashion-MNIST classes well above chance with a linear probe.
 * The last node is a Gemm "classifier" over the features unless `featuresOnly`, so cut-point detection
 * is exercised too.
 */
export function writeTinyBackbone(file: string, opts: { featuresOnly?: boolean; seed?: number } = {}): string {
  const rng = mulberry32(opts.seed ?? 7);
  const r = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
  const b = new GraphBuilder('tiny_backbone');
  const x = b.input('image', 'float32', ['N', 3, 32, 32]);
  const c1 = b.op(
    'Conv',
    [x, b.initializer('c1.w', r(16 * 3 * 9, 0.4), [16, 3, 3, 3]), b.initializer('c1.b', r(16, 0.1), [16])],
    {
      pads: [1, 1, 1, 1],
      strides: [2, 2],
    },
  );
  const r1 = b.op('Relu', [c1]);
  const c2 = b.op(
    'Conv',
    [r1, b.initializer('c2.w', r(24 * 16 * 9, 0.2), [24, 16, 3, 3]), b.initializer('c2.b', r(24, 0.1), [24])],
    {
      pads: [1, 1, 1, 1],
      strides: [2, 2],
    },
  );
  const r2 = b.op('Relu', [c2]);
  // 2x2 spatial cells keep coarse shape, which global pooling alone would lose
  const cells = b.op('AveragePool', [r2], { kernel_shape: [4, 4], strides: [4, 4] });
  const feats = b.op('Flatten', [cells], { axis: 1 }, { outputs: ['features'] });
  b.graph.valueInfo.set(feats, { name: feats, dtype: 'float32', shape: ['N', DIM] });
  if (opts.featuresOnly) b.output(feats, 'float32', ['N', DIM]);
  else {
    const logits = b.op(
      'Gemm',
      [feats, b.initializer('fc.w', r(5 * DIM, 0.1), [5, DIM]), b.initializer('fc.b', r(5, 0.1), [5])],
      {
        transB: 1,
      },
      { outputs: ['logits'] },
    );
    b.output(logits, 'float32', ['N', 5]);
  }
  const m = b.build();
  m.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  saveOnnxFile(file, m);
  return file;
}

const made: string[] = [];

export function tempDir(prefix = 'graft-run-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Copies the first `train` (and `test`) images of each class of the committed subset into
 * `dir/train/<class>/` and `dir/test/<class>/` (with `test: 0`, class folders directly in `dir`).
 */
export function fashionSlice(dir: string, opts: { train: number; test?: number; classes?: number }): string {
  const classes = readdirSync(join(FASHION, 'train'))
    .filter((c) => !c.startsWith('.'))
    .sort()
    .slice(0, opts.classes ?? 10);
  const copy = (split: 'train' | 'test', n: number, into: string) => {
    for (const c of classes) {
      const files = readdirSync(join(FASHION, split, c))
        .sort()
        .slice(0, n);
      mkdirSync(join(into, c), { recursive: true });
      for (const f of files) copyFileSync(join(FASHION, split, c, f), join(into, c, f));
    }
  };
  if (opts.test) {
    copy('train', opts.train, join(dir, 'train'));
    copy('test', opts.test, join(dir, 'test'));
  } else copy('train', opts.train, dir);
  return dir;
}
