import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { reportCommand, writeCompareReport } from '../../report/node/command.js';
import type { CommandContext, ReportSettings } from '../commands.js';

/** A study (study.json, or the folder `graft compare` wrote) rather than a run folder: its study.json. */
function studyFileOf(path: string): string | undefined {
  if (path.endsWith('.json')) return path;
  const inside = join(path, 'study.json');
  const isDir = existsSync(path) && statSync(path).isDirectory();
  return isDir && existsSync(inside) && !existsSync(join(path, 'run.json')) ? inside : undefined;
}

export async function run({ options, args, io }: CommandContext<ReportSettings>): Promise<number> {
  const target = resolve(io.cwd, args.RUN_DIR!);
  const out = options.out === undefined ? undefined : resolve(io.cwd, options.out);
  const study = studyFileOf(target);
  if (study) {
    const written = await writeCompareReport(study, out);
    if (options.json) io.stdout.write(JSON.stringify({ report: written.file, bytes: written.bytes, study }) + '\n');
    else io.stdout.write(`study report written to ${written.file} (${Math.ceil(written.bytes / 1024)} KB)\n`);
    return 0;
  }
  await reportCommand(target, { json: options.json, out }, io);
  return 0;
}
