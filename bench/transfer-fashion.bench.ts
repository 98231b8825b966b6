// Issue 4 acceptance: Fashion-MNIST by transfer from EfficientNet-B0, 100 labelled training images per
// class (the committed fixture's train/ folder, 10% of it held out for validation and calibration),
// tested on the full 10,000-image test set (written once as PNGs from the Debian IDX files). Every
// strategy runs through `trainImageClassifier`, the code behind `graft train`; the first one fills the
// feature cache and the others reuse it.
//
//   npm run bench -- transfer-fashion [--strategies=linear-probe,knn,prototype,feature-extract]
//                                     [--resize=squash] [--test-count=10000] [--model=NAME]
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadFashionMnist } from '../src/data/node/idx.js';
import type { ResizeMode } from '../src/data/preprocessing.js';
import { trainImageClassifier } from '../src/app/train-image.js';
import type { FeatureStrategy } from '../src/transfer/strategies/index.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'Fashion-MNIST, 100 train images per class, EfficientNet-B0 features: test accuracy on the full 10k test set per strategy';

const FIXTURE = fileURLToPath(new URL('../fixtures/fashion-mnist-small/', import.meta.url));

/** `--name=value` (bench/run.ts takes every bare word for a benchmark name). */
function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** train/ links to the fixture's images; test/ holds the first `count` official test images as PNGs. */
async function prepareData(count: number, log: (s: string) => void): Promise<string> {
  const root = join(tmpdir(), `graft-fashion-bench-${count}`);
  const folders = JSON.parse(readFileSync(join(FIXTURE, 'classes.json'), 'utf8')) as string[];
  const done = join(root, '.complete');
  if (existsSync(done)) return root;
  mkdirSync(root, { recursive: true });
  if (!existsSync(join(root, 'train'))) symlinkSync(join(FIXTURE, 'train'), join(root, 'train'), 'dir');
  const set = loadFashionMnist('test');
  const px = set.width * set.height;
  log(`writing ${count} test images as PNG under ${root}/test`);
  for (let i = 0; i < Math.min(count, set.count); i++) {
    const dir = join(root, 'test', folders[set.labels[i]!]!);
    mkdirSync(dir, { recursive: true });
    await sharp(set.images.subarray(i * px, (i + 1) * px), {
      raw: { width: set.width, height: set.height, channels: 1 },
    })
      .toColourspace('b-w')
      .png()
      .toFile(join(dir, `${String(i).padStart(5, '0')}.png`));
  }
  writeFileSync(done, '');
  return root;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const strategies = (arg(ctx.args, 'strategies') ?? 'linear-probe,knn,prototype,feature-extract').split(
    ',',
  ) as FeatureStrategy[];
  const resize = arg(ctx.args, 'resize') as ResizeMode | undefined;
  const count = Number(arg(ctx.args, 'test-count') ?? 10000);
  const model = arg(ctx.args, 'model');
  const data = await prepareData(count, ctx.log);
  const trainCount = readdirSync(join(data, 'train')).reduce(
    (n, c) => n + readdirSync(join(data, 'train', c)).length,
    0,
  );
  const rows: BenchResult['rows'] = [];
  for (const strategy of strategies) {
    const out = join(tmpdir(), 'graft-fashion-bench-runs', `${strategy}${resize ? `-${resize}` : ''}`);
    let lastTenth = -1;
    const r = await trainImageClassifier({
      overwrite: true,
      data,
      out,
      strategy,
      resize,
      model,
      onEvent: (e) => {
        if (e.type === 'stage') ctx.log(e.message);
        if (e.type === 'extract') {
          const tenth = Math.floor((10 * e.progress.done) / e.progress.total);
          if (tenth !== lastTenth) {
            lastTenth = tenth;
            ctx.log(
              `  features ${e.progress.done}/${e.progress.total} ${e.progress.rate.toFixed(1)} img/s ETA ${Math.round(e.progress.etaSeconds)}s`,
            );
          }
        }
      },
    });
    const cmd = `graft train ${data} --strategy ${strategy}${resize ? ` --resize ${resize}` : ''}${model ? ` --model ${model}` : ''} --out ${out}`;
    ctx.log(`${strategy}: test ${r.test?.accuracy.toFixed(4)} (${cmd})`);
    rows.push({
      strategy,
      head: r.head,
      resize: `${r.resize}${resize ? '' : ' (auto)'}`,
      train: trainCount - (r.val?.examples ?? 0),
      val: r.val?.examples ?? 0,
      test: r.test?.examples ?? 0,
      'test acc': Number((r.test?.accuracy ?? NaN).toFixed(4)),
      'val acc': Number((r.val?.accuracy ?? NaN).toFixed(4)),
      'test log loss': Number((r.test?.logLoss ?? NaN).toFixed(4)),
      'test ECE': Number((r.test?.ece ?? NaN).toFixed(4)),
      T: Number((r.temperature ?? 1).toFixed(3)),
      'features computed': r.features.computed,
      'feature img/s': r.features.imagesPerSecond ? Number(r.features.imagesPerSecond.toFixed(1)) : '-',
      'head s': Number((r.seconds - r.features.seconds).toFixed(1)),
    });
  }
  return {
    name: 'transfer-fashion',
    rows,
    notes: [
      `data: ${resolve(data)} (train/ = fixtures/fashion-mnist-small/train, test/ = first ${count} official test images)`,
      'reference: sklearn logistic regression on the same backbone features 86.9% (1,000 test images); on raw pixels ~79.5%',
    ],
  };
}
