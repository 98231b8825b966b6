// Issue 6 acceptance: the transfer-versus-scratch study on Fashion-MNIST. A pool of 1,000 labelled training
// images per class (a seeded draw from the 60k official training set) is subsampled at 1, 5, 10, 25 and
// 100%, three seeds each; every strategy trains on each subset and is scored on the full 10,000-image
// official test set. Runs through `runCompare`, the code behind `graft compare`, and prints the equivalent
// command. The study folder keeps every run folder; --resume picks up an interrupted study.
//
//   npm run bench -- fashion-study [--strategies=scratch,linear-probe,fine-tune] [--fractions=1,5,10,25,100]
//        [--seeds=3] [--input-size=96] [--scratch-input-size=32] [--unfreeze=last:2] [--epochs=N]
//        [--scratch-epochs=N] [--threads=N] [--seed-list=0,2] [--pool=1000] [--test-count=10000] [--out=DIR] [--fresh]
//        [--publish=docs/fashion-study]   (copies study.json, compare.html and the accuracy chart there)
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadFashionMnist } from '../src/data/node/idx.js';
import { runCompare } from '../src/app/compare.js';
import { accuracySpread, studyAccuracySvg, wallTimes } from '../src/report/compare.js';
import { Rng } from '../src/util/rng.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'Fashion-MNIST study: scratch vs linear probe vs fine-tuning at 1-100% of a 1,000/class pool, 3 seeds, full 10k test set (graft compare)';

/** Class folder names, as in the committed subset (index = Fashion-MNIST label). */
const CLASSES = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/fashion-mnist-small/classes.json', import.meta.url)), 'utf8'),
) as string[];

function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

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
  const a = (name: string, dflt: string) => arg(ctx.args, name) ?? dflt;
  const num = (name: string) => (arg(ctx.args, name) === undefined ? undefined : Number(arg(ctx.args, name)));
  const strategies = a('strategies', 'scratch,linear-probe,fine-tune').split(',');
  const fractionsText = a('fractions', '1,5,10,25,100');
  const seedCount = Number(a('seeds', '3'));
  const inputSize = Number(a('input-size', '96'));
  const scratchInputSize = Number(a('scratch-input-size', '32'));
  const unfreeze = a('unfreeze', 'last:2');
  const pool = Number(a('pool', '1000'));
  const testCount = Number(a('test-count', '10000'));
  const epochs = num('epochs');
  const scratchEpochs = num('scratch-epochs');
  const threads = num('threads');
  const out = a('out', join(tmpdir(), 'graft-fashion-study'));
  const resume = !ctx.args.includes('--fresh');
  const data = await prepareData(pool, testCount, ctx.log);

  const command =
    `graft compare ${data} --strategies ${strategies.join(',')} --fractions ${fractionsText} --seeds ${seedCount}` +
    ` --input-size ${inputSize} --scratch-input-size ${scratchInputSize} --unfreeze ${unfreeze}` +
    (epochs ? ` --epochs ${epochs}` : '') +
    (scratchEpochs ? ` --scratch-epochs ${scratchEpochs}` : '') +
    (threads ? ` --threads ${threads}` : '') +
    ` --out ${out}${resume ? ' --resume' : ''}`;
  ctx.log(command);
  const started = Date.now();
  let lastTenth = -1;
  const result = await runCompare({
    data,
    out,
    strategies,
    fractions: fractionsText.split(',').map((p) => Number(p) / 100),
    // --seed-list=2 runs only those seeds (to split a study over processes; a last pass with --seeds joins them)
    seeds: arg(ctx.args, 'seed-list')?.split(',').map(Number) ?? Array.from({ length: seedCount }, (_, i) => i),
    inputSize,
    scratchInputSize,
    unfreeze,
    epochs,
    scratchEpochs,
    threads,
    resume,
    onEvent: (e) => {
      const elapsed = `${((Date.now() - started) / 60000).toFixed(1)} min`;
      if (e.type === 'run-start')
        ctx.log(`[${e.index}/${e.total}] ${e.strategy} ${e.fraction * 100}% seed ${e.seed} (${elapsed})`);
      if (e.type === 'run-done')
        ctx.log(
          `[${e.index}/${e.total}] ${e.run.strategy}: test ${(100 * e.run.testAcc).toFixed(2)}% at ${e.run.perClass} per class, ${e.run.seconds.toFixed(1)} s${e.resumed ? ' (kept)' : ''}`,
        );
      if (e.type === 'train' && e.event.type === 'extract') {
        const p = e.event.progress;
        const tenth = Math.floor((10 * p.done) / p.total);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          ctx.log(`  features ${p.done}/${p.total} ${p.rate.toFixed(1)} img/s`);
        }
      }
      if (e.type === 'train' && e.event.type === 'stage') ctx.log(`  ${e.event.message}`);
    },
  });

  const publish = arg(ctx.args, 'publish');
  if (publish) {
    mkdirSync(publish, { recursive: true });
    copyFileSync(result.studyFile, join(publish, 'study.json'));
    copyFileSync(result.reportFile, join(publish, 'compare.html'));
    writeFileSync(join(publish, 'accuracy.svg'), await studyAccuracySvg(result.study));
    ctx.log(`published study.json, compare.html and accuracy.svg to ${publish}`);
  }

  const times = wallTimes(result.study);
  const rows = accuracySpread(result.study).map((p) => {
    const t = times.find((x) => x.strategy === p.strategy && x.fraction === p.fraction);
    return {
      strategy: p.strategy,
      'per class': p.perClass,
      'fraction %': Number((100 * p.fraction).toFixed(2)),
      seeds: p.n,
      'test acc mean %': Number((100 * p.mean).toFixed(2)),
      'min %': Number((100 * p.min).toFixed(2)),
      'max %': Number((100 * p.max).toFixed(2)),
      'run s (mean)': t ? Number(t.mean.toFixed(1)) : '',
    };
  });
  return {
    name: 'fashion-study',
    rows,
    notes: [
      command,
      `study ${result.studyFile}, report ${result.reportFile}, ${(result.seconds / 60).toFixed(1)} min in all`,
      `data: ${data} (train/ = ${pool} per class, seeded draw from the official training set; test/ = first ${testCount} official test images)`,
    ],
  };
}
