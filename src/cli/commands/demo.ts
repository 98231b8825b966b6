import { resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { DEMO_DATA } from '../../app/demo.js';
import type { CommandContext, DemoSettings } from '../commands.js';
import { progressRenderer } from '../progress.js';
import { trainEventRenderer } from './run-progress.js';
import { printSummary } from './train.js';

export async function run({ app, options, io }: CommandContext<DemoSettings>): Promise<number> {
  const out = resolve(io.cwd, options.out ?? 'graft-demo');
  if (!options.quiet) {
    io.stderr.write(
      'graft demo: transfer learning on 1,000 Fashion-MNIST images (100 per class), tested on 500 held-out ones\n',
    );
  }
  const r = await app.runDemo({
    out,
    model: options.model,
    strategy: options.strategy,
    seed: options.seed,
    device: options.device,
    threads: options.threads,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    env: io.env,
    cwd: io.cwd,
    onEvent: trainEventRenderer(io, options.quiet === true),
    onSourceEvent: options.quiet ? undefined : progressRenderer(io),
  });
  if (options.json) {
    const { reports: _reports, ...rest } = r;
    io.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  }
  printSummary(io, r);
  if (r.reportPath) io.stdout.write(`report  ${r.reportPath}\n`);
  else if (r.reportError) io.stdout.write(`report  not written: ${r.reportError}\n`);
  const example = firstImage(resolve(DEMO_DATA, 'test'));
  const predict = `predict ${r.modelPath}${example ? ` ${example}` : ' IMAGE...'} --top 3`;
  io.stdout.write(`\ntry     ${graftCommand(io.env)} ${predict}\n`);
  return 0;
}

/**
 * How to run graft again from where the demo ran: bare `graft` is on PATH only after a global install or
 * `npm link`. `npm run demo` in a checkout has the `graft` script beside it; elsewhere (an installed
 * package, or `npx graft demo` in a checkout) npx finds the local bin.
 */
export function graftCommand(env: NodeJS.ProcessEnv): string {
  const script = env.npm_lifecycle_event;
  return script === 'demo' || script === 'graft' ? 'npm run graft --' : 'npx graft';
}

function firstImage(dir: string): string | undefined {
  try {
    const cls = readdirSync(dir).sort()[0];
    if (!cls) return undefined;
    const file = readdirSync(resolve(dir, cls)).sort()[0];
    return file ? resolve(dir, cls, file) : undefined;
  } catch {
    return undefined;
  }
}
