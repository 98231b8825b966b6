import { classCountLines } from '../../app/data.js';
import type { FineTuneImageResult } from '../../app/finetune.js';
import type { FineTuneEvent } from '../../app/finetune-setup.js';
import type { FineTuneStrategy } from '../../transfer/strategies/index.js';
import type { CommandContext, TrainSettings } from '../commands.js';
import { runSettings } from '../run-settings.js';
import { type CliIo, printResult, writeLeftOut } from '../io.js';
import { outcomeLines } from './run-outcome.js';
import { trainEventRenderer } from './run-progress.js';

/** `graft train` with a strategy that trains backbone blocks (the registry's weights family). */
export async function runFineTune(ctx: CommandContext<TrainSettings>): Promise<number> {
  const { options, args, io } = ctx;
  const result = await ctx.app.fineTuneImageClassifier({
    overwrite: options.overwrite,
    data: args.DATA!,
    out: options.out!,
    model: options.model,
    cut: options.cut,
    resize: options.resize,
    inputSize: options.inputSize,
    extractBatch: options.extractBatch,
    strategy: options.strategy as FineTuneStrategy | undefined,
    unfreeze: options.unfreeze,
    freeze: options.freeze,
    bn: options.bn,
    head: options.head,
    epochs: options.epochs,
    lr: options.lr,
    headEpochs: options.headEpochs,
    probeEpochs: options.probeEpochs,
    discriminative: options.discriminative,
    anchor: options.anchor,
    interpolate: options.interpolate,
    schedule: options.schedule,
    batchSize: options.batch,
    weightDecay: options.weightDecay,
    labelSmoothing: options.labelSmoothing,
    seed: options.seed,
    valSplit: options.valSplit,
    testSplit: options.testSplit,
    fromScratch: options.fromScratch,
    augment: options.augment,
    ...runSettings(options, io),
    onEvent: fineTuneEventRenderer(io, options.quiet === true),
  });
  printResult(io, options.json, result, printFineTuneSummary);
  return 0;
}

/** The transfer renderer, plus the freeze report, the phases and each phase's start. */
export function fineTuneEventRenderer(io: CliIo, quiet: boolean): (e: FineTuneEvent) => void {
  const base = trainEventRenderer(io, quiet);
  if (quiet) return () => undefined;
  return (e) => {
    switch (e.type) {
      case 'freeze-report':
        io.stderr.write(`freeze report:\n${e.lines.join('\n')}\n`);
        break;
      case 'phases':
        io.stderr.write(`phases:\n${e.lines.map((l) => `  ${l}`).join('\n')}\n`);
        break;
      case 'phase':
        io.stderr.write(`${e.message}\n`);
        break;
      default:
        base(e);
    }
  };
}

export function printFineTuneSummary(io: CliIo, r: FineTuneImageResult): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  const size = `${r.inputSize[0]}x${r.inputSize[1]}`;
  w(
    `trained ${r.strategy} (unfreeze ${r.unfreeze}, ${r.head} head) on ${r.model} at ${size}: ${r.classes.length} classes`,
  );
  for (const line of classCountLines(r.classes, r.counts)) w(line);
  writeLeftOut(io, r.badFiles, { more: 'run.json lists them' });
  w(
    `trainable ${r.trainableParams.toLocaleString('en-US')} of ${r.totalParams.toLocaleString('en-US')} parameters; inputs: ${r.activations.kind === 'cache' ? `activations cached at ${r.activations.at}` : r.activations.kind === 'recompute' ? 'activations recomputed each epoch (augmentation)' : 'images (whole network trains)'}`,
  );
  for (const p of r.phases) {
    const per = r.epochSeconds[p.name];
    w(
      `  ${p.name}: ${p.epochs} epochs in ${p.seconds.toFixed(1)}s${per !== undefined ? ` (${per.toFixed(2)}s/epoch)` : ''}`,
    );
  }
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  if (r.val)
    w(`val accuracy   ${pct(r.val.accuracy)}  (${r.val.examples} images, log loss ${r.val.logLoss.toFixed(4)})`);
  if (r.test)
    w(`test accuracy  ${pct(r.test.accuracy)}  (${r.test.examples} images, log loss ${r.test.logLoss.toFixed(4)})`);
  for (const line of outcomeLines(r)) w(line);
  w(`model   ${r.modelPath}`);
  w(`run     ${r.runDir}  (graft report ${r.runDir})`);
}
