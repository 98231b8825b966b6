import { limitsFromOptions } from '../../data/limits.js';
import { renderReport } from '../../eval/render.js';
import type { CommandContext, EvalSettings } from '../commands.js';
import { countRenderer } from './run-progress.js';

export async function run({ app, options, args, io }: CommandContext<EvalSettings>): Promise<number> {
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
