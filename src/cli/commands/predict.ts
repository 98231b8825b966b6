import { loadClassifier, predictFiles } from '../../app/classifier.js';
import type { CommandContext, PredictSettings } from '../commands.js';

export async function run({ options, args, rest, io }: CommandContext<PredictSettings>): Promise<number> {
  // the parser requires FILES, so at least one is here
  const files = rest ?? [];
  const classifier = await loadClassifier(args.MODEL!, {
    cwd: io.cwd,
    session: { device: options.device, intraOpThreads: options.threads },
  });
  let predictions;
  try {
    predictions = await predictFiles(classifier, files, {
      top: options.top ?? 3,
      batchSize: options.batch,
      cwd: io.cwd,
    });
  } finally {
    await classifier.dispose();
  }
  const failed = predictions.filter((p) => p.error);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ model: classifier.path, predictions }, null, 2)}\n`);
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
