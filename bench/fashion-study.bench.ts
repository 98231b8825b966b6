// Issue 6 acceptance: the transfer-versus-scratch study on Fashion-MNIST. A pool of 1,000 labelled training
// images per class (a seeded draw from the 60k official training set) is subsampled at 1, 5, 10, 25 and
// 100%, three seeds each; every strategy trains on each subset and is scored on the full 10,000-image
// official test set. Runs through `runCompare`, the code behind `graft compare`, and prints the equivalent
// command. The study folder keeps every run folder; --resume picks up an interrupted study.
//
//   npm run bench -- fashion-study [--strategies=scratch,linear-probe,fine-tune] [--fractions=1,5,10,25,100]
//        [--seeds=3] [--input-size=96] [--scratch-input-size=32] [--unfreeze=WHICH] [--epochs=N]
//        [--scratch-epochs=N] [--threads=N] [--seed-list=0,2] [--pool=1000] [--test-count=10000] [--out=DIR] [--fresh] [--join]
//        [--publish=docs/fashion-study]   (copies study.json, compare.html and the accuracy chart there)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadFashionMnist } from '../src/data/node/idx.js';
import { Rng } from '../src/util/rng.js';
import type { BenchContext, BenchResult } from './harness.js';
import { arg, runStudy } from './study.js';

export const description =
  'Fashion-MNIST study: scratch vs linear probe vs fine-tuning at 1-100% of a 1,000/class pool, 3 seeds, full 10k test set (graft compare)';

/** Class folder names, as in the committed subset (index = Fashion-MNIST label). */
const CLASSES = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/fashion-mnist-small/classes.json', import.meta.url)), 'utf8'),
) as string[];

async function writePng(file: string, pixels: Uint8Array): Promise<void> {
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
}

/** train/: `pool` images per class drawn with seed 0 from the official training set; test/: the first `count` official test images. */
async function prepareData(pool: number, count: number, log: (s: string) => void): Promise<string> {
  const root = join(tmpdir(), `graft-fashion-study-data-${pool}-${count}`);
  const done = join(root, '.complete');
  if (existsSync(done)) return root;
  for (const split of ['train', 'test']) for (const c of CLASSES) mkdirSync(join(root, split, c), { recursive: true });
  const tr = loadFashionMnist('train');
  log(`writing ${pool} training images per class as PNG under ${root}/train`);
  const taken = new Array<number>(CLASSES.length).fill(0);
  for (const i of new Rng(0).permutation(tr.count)) {
    const c = tr.labels[i]!;
    if (taken[c]! >= pool) continue;
    taken[c]!++;
    await writePng(
      join(root, 'train', CLASSES[c]!, `${String(i).padStart(5, '0')}.png`),
      tr.images.subarray(i * 784, (i + 1) * 784),
    );
  }
  const te = loadFashionMnist('test');
  log(`writing ${Math.min(count, te.count)} test images as PNG under ${root}/test`);
  for (let i = 0; i < Math.min(count, te.count); i++) {
    await writePng(
      join(root, 'test', CLASSES[te.labels[i]!]!, `${String(i).padStart(5, '0')}.png`),
      te.images.subarray(i * 784, (i + 1) * 784),
    );
  }
  writeFileSync(done, '');
  return root;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const pool = Number(arg(ctx.args, 'pool') ?? '1000');
  const testCount = Number(arg(ctx.args, 'test-count') ?? '10000');
  const data = await prepareData(pool, testCount, ctx.log);
  return runStudy(ctx, data, {
    name: 'fashion-study',
    strategies: 'scratch,linear-probe,fine-tune',
    out: 'graft-fashion-study',
    fractions: '1,5,10,25,100',
    dataNote: `train/ = ${pool} per class, seeded draw from the official training set; test/ = first ${testCount} official test images`,
  });
}
