import { limitsFromOptions } from '../../data/limits.js';
import { GraftError } from '../../errors.js';
import type { CommandContext, PredictSettings } from '../commands.js';
import { countRenderer } from './run-progress.js';

export async function run(ctx: CommandContext<PredictSettings>): Promise<number> {
  const { app, options, args, rest, io } = ctx;
  const files = rest ?? [];
  const kind = await app.classifierKind(args.MODEL!, io.cwd);
  if (kind === 'text') return predictTexts(ctx, files);
  if (options.text !== undefined || options.textField !== undefined) {
    throw new GraftError('BAD_INPUT', `--${options.text !== undefined ? 'text' : 'text-field'} needs a text model`, {
      file: args.MODEL,
      found: 'an image classifier',
      fix: 'pass image files to an image model, or a model trained on texts',
    });
  }
  if (files.length === 0) {
    throw new GraftError('BAD_INPUT', "'graft predict' needs FILES for an image model", {
      expected: 'one or more image files',
      found: 'none',
      fix: `run e.g. \`graft predict ${args.MODEL} cat.jpg\``,
    });
  }
  const { model, predictions } = await app.predictImages(args.MODEL!, files, {
    top: options.top ?? 3,
    batchSize: options.batch,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
    cwd: io.cwd,
  });
  const failed = predictions.filter((p) => p.error);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ model, predictions }, null, 2)}\n`);
  } else {
    for (const p of predictions) {
      if (p.error) continue;
      const scores = p.top!.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join('  ');
      io.stdout.write(`${p.file}\t${scores}\n`);
    }
  }
  for (const p of failed) io.stderr.write(`error: ${p.file}: ${p.error}\n`);
  // some files classified, some not: the caller must know, but the good results are still printed
  return failed.length ? 1 : 0;
}

/** A text model: --text and tables of texts, with the progress bar images have. */
async function predictTexts(ctx: CommandContext<PredictSettings>, files: readonly string[]): Promise<number> {
  const { app, options, args, io } = ctx;
  const bar = options.quiet || files.length === 0 ? undefined : countRenderer(io, 'predicting', 'texts');
  const r = await app.predictTexts(args.MODEL!, {
    texts: options.text !== undefined ? [options.text] : [],
    files,
    textField: options.textField,
    top: options.top ?? 3,
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
  for (const p of r.predictions) {
    const scores = p.top.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join('  ');
    io.stdout.write(`${p.source}\t${scores}\t${p.text}\n`);
  }
  return 0;
}
