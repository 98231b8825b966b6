import { limitsFromOptions } from '../../data/limits.js';
import { renderReport } from '../../eval/render.js';
import type { CommandContext, EvalSettings } from '../commands.js';
import { GraftError } from '../../errors.js';
import { countRenderer } from './run-progress.js';

export async function run({ app, options, args, io }: CommandContext<EvalSettings>): Promise<number> {
  if ((await app.classifierKind(args.MODEL!, io.cwd)) === 'text') return evalTexts({ app, options, args, io });
  if (options.textField !== undefined || options.labelField !== undefined) {
    throw new GraftError('BAD_INPUT', '--text-field and --label-field need a text model', {
      file: args.MODEL,
      found: 'an image classifier',
      fix: 'drop them, or pass a model trained on texts',
    });
  }
  const bar = options.quiet ? undefined : countRenderer(io, 'evaluating', 'img');
  const r = await app.evaluateClassifier({
    model: args.MODEL!,
    data: args.DATA!,
    split: options.split,
    batchSize: options.batch,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
    cwd: io.cwd,
    onProgress: (p) => bar?.update(p),
  });
  bar?.end();
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${r.model} on ${r.data} (${r.split}): accuracy ${(100 * r.report.accuracy).toFixed(2)}%\n\n`);
  io.stdout.write(renderReport(r.report, { exampleNames: r.files }));
  if (r.skipped.length) {
    io.stdout.write(`\n${r.skipped.length} file(s) left out:\n`);
    for (const b of r.skipped.slice(0, 20)) io.stdout.write(`  ${b.path}  (${b.reason})\n`);
    if (r.skipped.length > 20) io.stdout.write(`  ... and ${r.skipped.length - 20} more (--json lists them all)\n`);
  }
  return 0;
}

/** A text model: the labelled texts of DATA, with the same report (worst examples named by file:line). */
async function evalTexts({ app, options, args, io }: CommandContext<EvalSettings>): Promise<number> {
  const bar = options.quiet ? undefined : countRenderer(io, 'evaluating', 'texts');
  const r = await app.evaluateTextClassifier({
    model: args.MODEL!,
    data: args.DATA!,
    split: options.split,
    textField: options.textField,
    labelField: options.labelField,
    batchSize: options.batch,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
    cwd: io.cwd,
    onProgress: (p) => bar?.update(p),
  });
  bar?.end();
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${r.model} on ${r.data} (${r.split}): accuracy ${(100 * r.report.accuracy).toFixed(2)}%\n\n`);
  io.stdout.write(
    `${renderReport(r.report, { exampleNames: r.files.map((f, i) => `${f}  ${r.texts[i]!.slice(0, 60)}`) })}\n`,
  );
  if (r.skipped.length) {
    io.stdout.write(`\n${r.skipped.length} text(s) left out:\n`);
    for (const b of r.skipped.slice(0, 20)) io.stdout.write(`  ${b.path}  (${b.reason})\n`);
  }
  return 0;
}
