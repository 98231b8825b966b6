import { limitsFromOptions } from '../../data/limits.js';
import { formatEpoch } from '../../app/run-end.js';
import type { TextStrategy } from '../../transfer/text/train.js';
import type { CommandContext, TrainSettings } from '../commands.js';
import { progressRenderer } from '../progress.js';
import { countRenderer } from './run-progress.js';

/** `graft train DATA --out RUN_DIR` when DATA holds text: the train command delegates here. */
export async function runTextTrain(ctx: CommandContext<TrainSettings>): Promise<number> {
  const { app, options: o, args, io } = ctx;
  const quiet = o.quiet === true;
  const say = (s: string) => {
    if (!quiet) io.stderr.write(`${s}\n`);
  };
  // the features pass is counted work, drawn with the images' bar (one per split)
  const bars = new Map<string, { bar: ReturnType<typeof countRenderer>; started: number }>();
  // when the work of the next bar began: the last message or the end of the previous bar
  let mark = Date.now();
  const result = await app.runTextTraining({
    overwrite: o.overwrite,
    data: args.DATA!,
    out: o.out!,
    model: o.model,
    strategy: o.strategy as TextStrategy | undefined,
    head: o.head,
    epochs: o.epochs,
    lr: o.lr,
    batchSize: o.batch,
    weightDecay: o.weightDecay,
    dropout: o.dropout,
    valSplit: o.valSplit,
    testSplit: o.testSplit,
    seed: o.seed,
    classWeight: o.classWeight,
    device: o.device,
    threads: o.threads,
    cacheDir: o.cacheDir,
    offline: o.offline,
    refresh: o.refresh,
    modelsFile: o.modelsFile,
    pool: o.pool,
    maxTokens: o.maxTokens,
    emailHeaders: o.emailHeaders,
    stripHtml: o.stripHtml,
    fineTuneEmbeddings: o.fineTuneEmbeddings,
    tokenizer: o.tokenizer,
    maxWords: o.maxWords,
    keepTopWords: o.keepTopWords,
    unfreeze: o.unfreeze,
    newWordMinCount: o.newWordMinCount,
    textField: o.textField,
    labelField: o.labelField,
    extensions: o.extensions,
    env: io.env,
    cwd: io.cwd,
    limits: limitsFromOptions(o),
    onSourceEvent: quiet ? undefined : progressRenderer(io),
    onEvent: (e) => {
      if (e.type === 'stage' || e.type === 'info') {
        mark = Date.now();
        say(e.message);
      } else if (e.type === 'epoch') say(formatEpoch(e.record, e.epochs));
      else if (e.type === 'features') {
        if (quiet) return;
        let b = bars.get(e.split);
        if (!b) bars.set(e.split, (b = { bar: countRenderer(io, `features (${e.split})`, 'texts'), started: mark }));
        const rate = e.done / Math.max((Date.now() - b.started) / 1000, 1e-3);
        b.bar.update({ done: e.done, total: e.total, rate, etaSeconds: (e.total - e.done) / rate });
        if (e.done === e.total) {
          b.bar.end();
          mark = Date.now();
        }
      } else if (e.type === 'issue' && e.issue.kind !== 'unsupported') {
        say(`  skipped ${e.issue.files.slice(0, 3).join(', ')}: ${e.issue.kind} (${e.issue.detail})`);
      }
    },
  });
  if (o.json) {
    const { reports: _reports, ...rest } = result;
    io.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  }
  const w = (s: string) => io.stdout.write(`${s}\n`);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  w(`trained ${result.strategy} (${result.head}) on ${result.model}: ${result.classes.length} classes`);
  for (const c of result.classes) {
    const n = result.counts[c]!;
    w(`  ${c.padEnd(12)} train ${n.train}  val ${n.val}  test ${n.test}`);
  }
  for (const [name, s] of [
    ['val', result.val],
    ['test', result.test],
  ] as const) {
    if (!s) continue;
    const f1 =
      s.f1 !== undefined ? `, F1(${result.classes[1]}) ${s.f1.toFixed(4)}` : `, macro F1 ${s.macroF1.toFixed(4)}`;
    w(`${`${name} accuracy`.padEnd(14)} ${pct(s.accuracy)}  (${s.examples} texts${f1})`);
  }
  if (result.temperature !== undefined)
    w(`temperature    ${result.temperature.toFixed(3)} (fitted on val, folded into the model)`);
  w(`model   ${result.modelPath}`);
  w(`run     ${result.runDir}  (graft report ${result.runDir})`);
  return 0;
}
