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
