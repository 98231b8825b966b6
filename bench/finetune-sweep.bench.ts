// Issue 13: the measurements behind fine-tune's defaults. Runs `graft train` (fineTuneImageClassifier) with
// variants of the fine-tuning settings on the subsets a study wrote (`npm run bench -- fashion-study` or
// `glyph-study`: their --out folder holds subsets/f<percent>-seed<seed>.jsonl manifests, each with the full
// test split), and prints test accuracy per variant, subset and seed, beside the linear probe's on the same
// subset when the study ran it. Every run folder is kept; a run whose folder already holds its result is
// read back, so an interrupted sweep continues where it stopped.
//
//   npm run bench -- finetune-sweep --study=DIR [--fractions=1,2.5,10] [--seeds=0,1,2] [--input-size=96]
//        [--threads=2] [--out=DIR] --variant=NAME:key=value,key=value [--variant=...]
//   keys: strategy, lr, epochs, unfreeze, anchor, labelSmoothing, weightDecay, discriminative (0: off),
//         schedule, probeEpochs, batch, interpolate
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseBackbone } from '../src/app/backbone.js';
import { type FineTuneImageOptions, fineTuneImageClassifier } from '../src/app/finetune.js';
import type { FineTuneStrategy } from '../src/transfer/strategies/index.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'fine-tune settings sweep on a study’s subsets (10/25/100 per class), test accuracy beside the linear probe';

function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const NUMERIC = [
  'lr',
  'epochs',
  'anchor',
  'labelSmoothing',
  'weightDecay',
  'discriminative',
  'probeEpochs',
  'batch',
  'interpolate',
];

interface Variant {
  name: string;
  settings: Partial<FineTuneImageOptions>;
}

function parseVariant(text: string): Variant {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  const settings: Record<string, unknown> = {};
  for (const kv of rest.split(',').filter(Boolean)) {
    const [k, v] = kv.split('=', 2) as [string, string];
    if (!k || v === undefined) throw new Error(`bad variant setting '${kv}' in ${text}`);
    if (k === 'batch') settings.batchSize = Number(v);
    else settings[k] = NUMERIC.includes(k) ? Number(v) : v;
  }
  return { name, settings: settings as Partial<FineTuneImageOptions> };
}

interface SweepRun {
  variant: string;
  fraction: string;
  seed: number;
  testAcc: number;
  testLogLoss: number;
  kept: string;
  seconds: number;
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const study = arg(ctx.args, 'study') ?? join(tmpdir(), 'graft-fashion-study');
  const fractions = (arg(ctx.args, 'fractions') ?? '1,2.5,10').split(',');
  const seeds = (arg(ctx.args, 'seeds') ?? '0').split(',').map(Number);
  const inputSize = Number(arg(ctx.args, 'input-size') ?? '96');
  const threads = arg(ctx.args, 'threads') ? Number(arg(ctx.args, 'threads')) : undefined;
  const out = arg(ctx.args, 'out') ?? join(study, 'sweep');
  const variants = ctx.args.filter((a) => a.startsWith('--variant=')).map((a) => parseVariant(a.slice(10)));
  if (variants.length === 0) throw new Error('give at least one --variant=NAME:key=value,...');
  mkdirSync(out, { recursive: true });
  const backbone = await chooseBackbone({}, process.cwd());
  const runs: SweepRun[] = [];
  for (const v of variants) {
    for (const f of fractions) {
      for (const seed of seeds) {
        const manifest = join(study, 'subsets', `f${f}-seed${seed}.jsonl`);
        const dir = join(out, `${v.name}-f${f}-seed${seed}`);
        const done = join(dir, 'sweep-run.json');
        const key = JSON.stringify(v.settings);
        if (existsSync(done)) {
          const saved = JSON.parse(readFileSync(done, 'utf8')) as SweepRun & { key: string };
          if (saved.key === key) {
            runs.push(saved);
            ctx.log(`${v.name} f${f} seed ${seed}: ${(100 * saved.testAcc).toFixed(2)}% (kept)`);
            continue;
          }
        }
        const t0 = performance.now();
        const r = await fineTuneImageClassifier({
          data: manifest,
          out: dir,
          overwrite: true,
          seed,
          inputSize,
          threads,
          backbone,
          strategy: 'fine-tune' as FineTuneStrategy,
          ...v.settings,
        });
        const row: SweepRun = {
          variant: v.name,
          fraction: f,
          seed,
          testAcc: r.test!.accuracy,
          testLogLoss: r.test!.logLoss,
          kept: r.kept.phase ?? '',
          seconds: (performance.now() - t0) / 1000,
        };
        writeFileSync(done, JSON.stringify({ ...row, key }) + '\n');
        runs.push(row);
        ctx.log(
          `${v.name} f${f} seed ${seed}: ${(100 * row.testAcc).toFixed(2)}% (kept ${row.kept}, ${row.seconds.toFixed(0)} s)`,
        );
      }
    }
  }
  const probeOf = (f: string, seed: number): number | undefined => {
    const file = join(study, 'runs', `linear-probe-f${f}-seed${seed}`, 'study-run.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { testAcc: number }).testAcc : undefined;
  };
  const rows = variants.flatMap((v) =>
    fractions.map((f) => {
      const mine = runs.filter((r) => r.variant === v.name && r.fraction === f);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const probes = mine.map((r) => probeOf(f, r.seed)).filter((p): p is number => p !== undefined);
      return {
        variant: v.name,
        settings: JSON.stringify(v.settings),
        fraction: f,
        seeds: mine.length,
        'test acc %': Number((100 * mean(mine.map((r) => r.testAcc))).toFixed(2)),
        'probe %': probes.length === mine.length ? Number((100 * mean(probes)).toFixed(2)) : '',
        'run s': Number(mean(mine.map((r) => r.seconds)).toFixed(0)),
      };
    }),
  );
  return { name: 'finetune-sweep', rows, notes: [`study ${study}, runs in ${out}`] };
}
