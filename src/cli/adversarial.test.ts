import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADVERSARIAL_CASES } from './adversarial/index.js';
import type { AdversarialContext, AdversarialResult, AdversarialRun } from './adversarial/types.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PEAK_RSS_LIMIT = 1024 ** 3;
const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs graft in a child process, killing it when its resident memory passes the limit or time runs out. */
async function runGraft(run: AdversarialRun, ctx: AdversarialContext): Promise<AdversarialResult> {
  const rssFile = join(ctx.dir, '..', `rss-${randomBytes(4).toString('hex')}`);
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', join(root, 'src/cli/adversarial/peak-rss.mjs'), join(root, 'bin/graft.js'), ...run.argv],
    {
      cwd: run.cwd ?? ctx.dir,
      env: {
        ...process.env,
        HOME: join(ctx.dir, '..', 'home'),
        GRAFT_CACHE_DIR: ctx.cacheDir,
        GRAFT_DEBUG: '',
        GRAFT_ADVERSARIAL_RSS: rssFile,
        ...run.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let killedFor: string | undefined;
  let watched = 0;
  const watch = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      const rss = m ? Number(m[1]) * 1024 : 0;
      watched = Math.max(watched, rss);
      if (rss > PEAK_RSS_LIMIT && !killedFor) {
        killedFor = `resident memory ${(rss / 2 ** 20).toFixed(0)} MiB passed the limit`;
        child.kill('SIGKILL');
      }
    } catch {
      // the process has exited
    }
  }, 25);
  const timer = setTimeout(() => {
    killedFor ??= `no answer within ${run.timeoutMs ?? 60_000} ms`;
    child.kill('SIGKILL');
  }, run.timeoutMs ?? 60_000);
  const status = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearInterval(watch);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (killedFor) assert.fail(`graft ${run.argv.join(' ')}: killed, ${killedFor}\nstderr: ${stderr.slice(-2000)}`);
  let peakRss = watched;
  try {
    peakRss = Math.max(peakRss, Number(readFileSync(rssFile, 'utf8')));
  } catch {
    // killed by a signal before it could write: the watchdog's figure stands
  }
  return { status, stdout, stderr, peakRss, ms };
}

for (const c of ADVERSARIAL_CASES) {
  test(`adversarial (item ${c.item}): ${c.name}`, async () => {
    const base = mkdtempSync(join(tmpdir(), 'graft-adv-'));
    made.push(base);
    const secret = `GRAFT-SECRET-${randomBytes(8).toString('hex')}`;
    const outside = join(base, 'outside');
    mkdirSync(outside);
    mkdirSync(join(base, 'home'));
    const outsideFile = join(outside, 'secret.txt');
    writeFileSync(outsideFile, `${secret}\n${secret}\n`);
    const ctx: AdversarialContext = {
      dir: join(base, 'case'),
      outsideFile,
      secret,
      root,
      cacheDir: join(base, 'cache'),
    };
    mkdirSync(ctx.dir);
    const runs = [await c.setup(ctx)].flat();
    for (const run of runs) {
      const r = await runGraft(run, ctx);
      const what = `graft ${run.argv.join(' ')}\nexit ${r.status}\nstderr:\n${r.stderr.slice(-3000)}\nstdout:\n${r.stdout.slice(-1000)}`;
      assert.equal(r.status, run.expect.exit, `exit code\n${what}`);
      assert.doesNotMatch(r.stderr, /\n\s+at \S/, `no stack trace\n${what}`);
      assert.doesNotMatch(r.stderr, /unexpected failure/, `no unexpected failure\n${what}`);
      assert.ok(!(r.stdout + r.stderr).includes(secret), `a file's contents were echoed\n${what}`);
      assert.ok(r.peakRss < PEAK_RSS_LIMIT, `peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB\n${what}`);
      if (run.expect.stderr) assert.match(r.stderr, run.expect.stderr, what);
      if (run.expect.stdout) assert.match(r.stdout, run.expect.stdout, what);
      await run.expect.check?.(r, ctx);
    }
  });
}
