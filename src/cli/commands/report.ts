import type { CommandContext, ReportSettings } from '../commands.js';
import { fixed, pct } from '../../report/page.js';

/** `graft report RUN_DIR|STUDY`: writes the HTML report and prints where it went with the headline numbers. */
export async function run({ app, options, args, io }: CommandContext<ReportSettings>): Promise<number> {
  const r = await app.writeReport(args.RUN_DIR!, { out: options.out, cwd: io.cwd });
  if (r.kind === 'study') {
    if (options.json) io.stdout.write(JSON.stringify({ report: r.report, bytes: r.bytes, study: r.study }) + '\n');
    else io.stdout.write(`study report written to ${r.report} (${Math.ceil(r.bytes / 1024)} KB)\n`);
    return 0;
  }
  const { kind: _kind, ...summary } = r;
  for (const w of summary.warnings) io.stderr.write(`warning: ${w}\n`);
  if (options.json) {
    io.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  }
  const lines = [`report written to ${r.report} (${Math.ceil(r.bytes / 1024)} KB)`];
  if (r.split && r.accuracy !== null) {
    lines.push(`  ${r.split} accuracy ${pct(r.accuracy)}, macro F1 ${fixed(r.macroF1 ?? 0)}`);
  }
  if (r.ece)
    lines.push(`  ECE ${fixed(r.ece.before)} -> ${fixed(r.ece.after)} with T = ${fixed(r.ece.temperature, 2)}`);
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}
