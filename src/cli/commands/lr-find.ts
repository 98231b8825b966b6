import { plotLrFind } from '../../transfer/finetune/lr-find.js';
import type { CommandContext, LrFindSettings } from '../commands.js';
import { runSettings } from '../run-settings.js';
import { fineTuneEventRenderer } from './train-finetune.js';

/** `graft lr-find DATA`: the LR range test, printed as a table and a text plot with the suggested rate. */
export async function run({ app, options, args, io }: CommandContext<LrFindSettings>): Promise<number> {
  const r = await app.lrFindImages({
    data: args.DATA!,
    model: options.model,
    cut: options.cut,
    resize: options.resize,
    inputSize: options.inputSize,
    extractBatch: options.extractBatch,
    strategy: options.strategy,
    unfreeze: options.unfreeze,
    freeze: options.freeze,
    bn: options.bn,
    head: options.head,
    lr: options.lr,
    discriminative: options.discriminative,
    batchSize: options.batch,
    weightDecay: options.weightDecay,
    labelSmoothing: options.labelSmoothing,
    seed: options.seed,
    valSplit: options.valSplit,
    fromScratch: options.fromScratch,
    startLr: options.startLr,
    endLr: options.endLr,
    steps: options.steps,
    out: options.out,
    ...runSettings(options, io),
    onEvent: fineTuneEventRenderer(io, options.quiet === true),
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  const w = (s: string) => io.stdout.write(`${s}\n`);
  w(
    `learning-rate sweep of phase ${r.phase} (${r.trainableParams.toLocaleString('en-US')} trainable parameters): ${r.points.length} steps, ${r.reason}`,
  );
  w('');
  w('      lr       loss   smoothed');
  const every = Math.max(1, Math.round(r.points.length / 20));
  r.points.forEach((p, i) => {
    if (i % every === 0 || i === r.points.length - 1) {
      w(`  ${p.lr.toExponential(2)}  ${p.loss.toFixed(4).padStart(8)}  ${p.smoothed.toFixed(4).padStart(8)}`);
    }
  });
  w('');
  for (const line of plotLrFind(r.points, r.suggestion)) w(line);
  w('');
  if (r.suggestion) {
    w(
      `suggested lr   ${r.suggestion.suggested.toExponential(1)}  (steepest descent ${r.suggestion.steepest.toExponential(1)}, minimum/10 ${r.suggestion.minimumTenth.toExponential(1)})`,
    );
  } else w('no suggestion: the sweep was too short (raise --steps or --end-lr)');
  if (r.outFile) w(`sweep  ${r.outFile}`);
  return 0;
}
