import { writeLeftOut } from '../io.js';
import { limitsFromOptions } from '../../data/limits.js';
import { renderReport } from '../../eval/render.js';
import type { CommandContext, EvalSettings } from '../commands.js';
import { GraftError } from '../../errors.js';
import { countRenderer } from './run-progress.js';

/**
 * `graft eval`: a trained classifier on labelled data, image or text as the model is, with the same report
 * (a text model's worst examples are named by file:line and the start of the text).
 */
export async function run({ app, options, args, io }: CommandContext<EvalSettings>): Promise<number> {
  const text = (await app.classifierKind(args.MODEL!, io.cwd)) === 'text';
  if (!text && (options.textField !== undefined || options.labelField !== undefined)) {
    throw new GraftError('BAD_INPUT', '--text-field and --label-field need a text model', {
      file: args.MODEL,
      found: 'an image classifier',
      fix: 'drop them, or pass a model trained on texts',
    });
  }
  const bar = options.quiet ? undefined : countRenderer(io, 'evaluating', text ? 'texts' : 'img');
  const common = {
    model: args.MODEL!,
    data: args.DATA!,
    split: options.split,
    batchSize: options.batch,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
    cwd: io.cwd,
    onProgress: (p: Parameters<NonNullable<typeof bar>['update']>[0]) => bar?.update(p),
  };
  const r = text
    ? await app.evaluateTextClassifier({ ...common, textField: options.textField, labelField: options.labelField })
    : await app.evaluateClassifier(common);
  bar?.end();
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${r.model} on ${r.data} (${r.split}): accuracy ${(100 * r.report.accuracy).toFixed(2)}%\n\n`);
  if ('texts' in r) {
    const exampleNames = r.files.map((f, i) => `${f}  ${r.texts[i]!.slice(0, 60)}`);
    io.stdout.write(`${renderReport(r.report, { exampleNames })}\n`);
  } else io.stdout.write(renderReport(r.report, { exampleNames: r.files }));
  writeLeftOut(io, r.skipped, { noun: text ? 'text' : 'file', before: '\n' });
  return 0;
}
