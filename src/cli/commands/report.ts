import { resolve } from 'node:path';
import { reportCommand } from '../../report/node/command.js';
import type { CommandContext, ReportSettings } from '../commands.js';

export async function run({ options, args, io }: CommandContext<ReportSettings>): Promise<number> {
  await reportCommand(
    resolve(io.cwd, args.RUN_DIR!),
    { json: options.json, out: options.out === undefined ? undefined : resolve(io.cwd, options.out) },
    io,
  );
  return 0;
}
