import { resolve } from 'node:path';
import { GraftError } from '../../errors.js';
import { classCountLines } from '../../app/data.js';
import type { TrainImageResult } from '../../app/train-image.js';
import type { FeatureStrategy } from '../../transfer/strategies/index.js';
import type { CommandContext, TrainSettings } from '../commands.js';
import { runSettings } from '../run-settings.js';
import { checkFlagsApply, chooseStrategy } from '../train-flags.js';
import { type CliIo, printResult, writeLeftOut } from '../io.js';
import { outcomeLines } from './run-outcome.js';
import { trainEventRenderer } from './run-progress.js';
import { fineTuneEventRenderer, printFineTuneSummary, runFineTune } from './train-finetune.js';
import { runTextTrain } from './train-text.js';

/**
 * `graft train DATA --out RUN_DIR`: tells text from images, chooses the strategy (the registry's), refuses
 * flags that run would not read, and hands the run to its recipe.
 */
export async function run(ctx: CommandContext<TrainSettings>): Promise<number> {
  const { options, args, io } = ctx;
  if (options.resume !== undefined) return resume(ctx, options.resume);
  const data = args.DATA;
  if (data === undefined) {
    throw new GraftError('BAD_INPUT', "'graft train' needs DATA", {
      expected: 'a folder of class folders, a manifest or a text table (or --resume RUN_DIR)',
      found: 'nothing',
      fix: 'run `graft train --help`',
    });
  }
  if (!options.out) {
    throw new GraftError('BAD_INPUT', "'graft train' needs --out RUN_DIR", {
      expected: 'the folder to write the model, metrics and log to',
      found: 'no --out',
      fix: `run e.g. \`graft train ${data} --out runs/first\``,
    });
  }
  const kind = await ctx.app.detectDataKind(resolve(io.cwd, data), options.textField);
  const strategy = chooseStrategy(options, kind);
  checkFlagsApply(options, kind, strategy, (key) => ctx.command?.options[key]?.flag ?? kebab(key));
  if (kind === 'text') return runTextTrain(ctx);
  if (strategy.family === 'weights') return runFineTune(ctx);
  const result = await ctx.app.trainImageClassifier({
    overwrite: options.overwrite,
    data,
    out: options.out,
    model: options.model,
    cut: options.cut,
    resize: options.resize,
    extractBatch: options.extractBatch,
    strategy: strategy.name as FeatureStrategy,
    head: options.head,
    epochs: options.epochs,
    lr: options.lr,
    batchSize: options.batch,
    weightDecay: options.weightDecay,
    dropout: options.dropout,
    valSplit: options.valSplit,
    testSplit: options.testSplit,
    seed: options.seed,
    classWeight: options.classWeight,
    ...runSettings(options, io),
    onEvent: trainEventRenderer(io, options.quiet === true),
  });
  printResult(io, options.json, result, printSummary);
  return 0;
}

/** Flags a resumed run still takes: where it runs, where models come from, how it reports. */
const RESUME_FLAGS = new Set([
  'json',
  'quiet',
  'cacheDir',
  'offline',
  'refresh',
  'device',
  'threads',
  'maxFileMb',
  'maxPixels',
  'maxInputPixels',
  'out',
  'resume',
]);

/** `graft train --resume RUN_DIR`: the interrupted fine-tune continues with the data and settings it started with. */
async function resume(ctx: CommandContext<TrainSettings>, runDir: string): Promise<number> {
  const { options, io } = ctx;
  const flagOf = (key: string) => `--${ctx.command?.options[key]?.flag ?? kebab(key)}`;
  const stray = Object.keys(options).filter(
    (k) => options[k as keyof TrainSettings] !== undefined && !RESUME_FLAGS.has(k),
  );
  if (stray.length || ctx.args.DATA !== undefined) {
    throw new GraftError('BAD_INPUT', '--resume continues a run with the data and settings it started with', {
      found: ctx.args.DATA !== undefined ? `DATA ${ctx.args.DATA}` : stray.map(flagOf).join(' '),
      fix: `drop ${ctx.args.DATA !== undefined ? 'DATA' : stray.map(flagOf).join(', ')}, or start a new run with --overwrite`,
    });
  }
  if (options.out !== undefined && resolve(io.cwd, options.out) !== resolve(io.cwd, runDir)) {
    throw new GraftError('BAD_INPUT', '--out and --resume name different run folders', {
      found: `--out ${options.out} --resume ${runDir}`,
      fix: 'drop --out: the run continues in the folder --resume names',
    });
  }
  const { device, threads, cacheDir, offline, refresh, env, cwd, onSourceEvent, limits } = runSettings(options, io);
  const result = await ctx.app.resumeFineTuneRun(runDir, {
    device,
    threads,
    cacheDir,
    offline,
    refresh,
    env,
    cwd,
    onSourceEvent,
    limits,
    onEvent: fineTuneEventRenderer(io, options.quiet === true),
  });
  printResult(io, options.json, result, printFineTuneSummary);
  return 0;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
export function printSummary(io: CliIo, r: TrainImageResult): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  w(`trained ${r.strategy} (${r.head}) on ${r.model}: ${r.classes.length} classes`);
  for (const line of classCountLines(r.classes, r.counts)) w(line);
  writeLeftOut(io, r.badFiles, { more: 'run.json lists them' });
  const f = r.features;
  w(
    f.computed === 0
      ? `features: ${f.reused} from the cache, backbone not run`
      : `features: ${f.computed} computed (${(f.imagesPerSecond ?? 0).toFixed(1)} img/s), ${f.reused} from the cache`,
  );
  if (r.val)
    w(`val accuracy   ${pct(r.val.accuracy)}  (${r.val.examples} images, log loss ${r.val.logLoss.toFixed(4)})`);
  if (r.test)
    w(`test accuracy  ${pct(r.test.accuracy)}  (${r.test.examples} images, log loss ${r.test.logLoss.toFixed(4)})`);
  if (!r.val && !r.test) w('no validation or test images: accuracy not measured (use --val-split or a test/ folder)');
  for (const line of outcomeLines(r)) w(line);
  w(`model   ${r.modelPath}`);
  w(`run     ${r.runDir}  (graft report ${r.runDir})`);
}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}
