import type { CommandContext, MergeSettings } from '../commands.js';

export async function run({ app, options, args, io }: CommandContext<MergeSettings>): Promise<number> {
  const r = await app.mergeShards(args.TARGET!, { cwd: io.cwd });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  if (r.kind === 'embed') {
    io.stdout.write(
      `${r.shards} shards -> ${r.rows} x ${r.dim} features (${r.model} at ${r.featureValue}) in ${r.out}${r.index ? ` (rows: ${r.index})` : ''}\n`,
    );
    if (r.skipped.length) io.stdout.write(`${r.skipped.length} file(s) left out (graft merge --json lists them)\n`);
  } else {
    io.stdout.write(`${r.shards} shards -> ${r.study.runs.length} runs\n`);
    io.stdout.write(`study   ${r.studyFile}\nreport  ${r.reportFile}\n`);
  }
  return 0;
}
