/** Where a command reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** An in-memory CliIo that records what was written. */
export function memoryIo(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    cwd,
    stdout: { write: (s: string) => (io.out += s) },
    stderr: { write: (s: string) => (io.err += s), isTTY: false },
  };
  return io;
}

/**
 * Prints a recipe's result: with --json all of it but the full `reports` (a shape for tools, on stdout),
 * else the command's own text summary.
 */
export function printResult<R extends { reports?: unknown }>(
  io: CliIo,
  json: boolean | undefined,
  result: R,
  summary: (io: CliIo, r: R) => void,
): void {
  if (json) {
    const { reports: _reports, ...rest } = result;
    io.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
  } else summary(io, result);
}

/**
 * Lists what a command left out and why: the first 20, then a count of the rest and where they are all listed
 * (`more`). `noun` names the items (file, text).
 */
export function writeLeftOut(
  io: CliIo,
  items: readonly { path: string; reason: string }[],
  opts: { noun?: string; more?: string; before?: string } = {},
): void {
  if (!items.length) return;
  const w = (s: string) => io.stdout.write(`${s}\n`);
  w(`${opts.before ?? ''}${items.length} ${opts.noun ?? 'file'}(s) left out:`);
  for (const b of items.slice(0, 20)) w(`  ${b.path}  (${b.reason})`);
  if (items.length > 20) w(`  ... and ${items.length - 20} more (${opts.more ?? '--json lists them all'})`);
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, a container stopping), then stops listening for them. */
export async function untilStopSignal(): Promise<void> {
  let onSignal = () => {};
  await new Promise<void>((done) => {
    onSignal = done;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}
