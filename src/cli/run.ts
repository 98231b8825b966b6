import { type App, app } from '../app/index.js';
import { isGraftError } from '../errors.js';
import { COMMANDS, type AnyCommand } from './commands.js';
import { commandHelp, generalHelp } from './help.js';
import type { CliIo } from './io.js';
import { parseCli } from './parse.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Runs one CLI invocation and returns its exit code. Never throws: a GraftError becomes its message on
 * stderr (and, with --json, a JSON error object on stdout); anything else becomes a one-line message and
 * the hint to rerun with GRAFT_DEBUG=1, which adds the stack.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly AnyCommand[] = COMMANDS,
  recipes: App = app,
): Promise<number> {
  const json = argv.includes('--json');
  let parsed;
  try {
    parsed = parseCli(argv, commands);
  } catch (e) {
    return report(e, io, json, EXIT_USAGE);
  }
  if (parsed.kind === 'version') {
    io.stdout.write(`${await version()}\n`);
    return EXIT_OK;
  }
  if (parsed.kind === 'help') {
    io.stdout.write(parsed.command ? commandHelp(parsed.command) : generalHelp(commands, parsed.group));
    return EXIT_OK;
  }
  try {
    const mod = await parsed.command.load();
    return await mod.run({
      app: recipes,
      options: parsed.options,
      args: parsed.args,
      rest: parsed.rest,
      io,
      command: parsed.command,
    });
  } catch (e) {
    return report(e, io, json, EXIT_FAILURE);
  }
}

function report(e: unknown, io: CliIo, json: boolean, code: number): number {
  if (isGraftError(e)) {
    io.stderr.write(`error: ${e.message}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
    if (io.env.GRAFT_DEBUG && e.stack) io.stderr.write(`${e.stack}\n`);
    return code === EXIT_USAGE || e.code === 'BAD_INPUT' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr.write(`error: unexpected failure: ${message.split('\n')[0]}\n`);
  if (io.env.GRAFT_DEBUG) io.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  else
    io.stderr.write('  hint: rerun with GRAFT_DEBUG=1 to see the stack trace, and report it if it looks like a bug\n');
  if (json) io.stdout.write(`${JSON.stringify({ error: { code: 'UNEXPECTED', message } })}\n`);
  return EXIT_FAILURE;
}

async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return `graft ${pkg.version ?? '?'}`;
  } catch {
    return 'graft (version unknown)';
  }
}
