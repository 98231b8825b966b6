// The studio tests drive the real CLI in child processes: `graft studio` (its JSON line gives the URL),
// and `graft train` / `graft predict` for the figures the page must match.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const BIN = fileURLToPath(new URL('../../../bin/graft.js', import.meta.url));

export interface StudioProcess {
  url: string;
  port: number;
  tokenRequired: boolean;
  child: ChildProcess;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

export async function startStudioCli(args: string[], env: NodeJS.ProcessEnv): Promise<StudioProcess> {
  const child = spawn(process.execPath, [BIN, 'studio', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GRAFT_DEBUG: '', ...env },
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const info = await new Promise<{ url: string; port: number; tokenRequired: boolean }>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n'))
        done(JSON.parse(out.split('\n')[0]!) as { url: string; port: number; tokenRequired: boolean });
    });
    void exited.then(() => fail(new Error(`graft studio exited: ${err}`)));
  });
  return {
    ...info,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a graft command with --json and returns the parsed result. */
export async function graftJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args, '--json', '-q'], {
    env: { ...process.env, GRAFT_DEBUG: '', ...env },
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(stdout) as T;
}
