import { limitsFromOptions } from '../../data/limits.js';
import type { CommandContext, PredictSettings } from '../commands.js';

export async function run({ app, options, args, rest, io }: CommandContext<PredictSettings>): Promise<number> {
  // the parser requires FILES, so at least one is here
  const files = rest ?? [];
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
