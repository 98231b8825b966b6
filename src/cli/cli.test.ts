import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraftError } from '../errors.js';
import { COMMANDS, type AnyCommand } from './commands.js';
import { memoryIo } from './io.js';
import { parseCli } from './parse.js';
import { formatBytes, progressLine, progressRenderer } from './progress.js';
import { runCli } from './run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-cli-'));
  dirs.push(d);
  return d;
}

function usage(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof GraftError && e.code === 'BAD_INPUT' && re.test(e.message));
}

test('parseCli: commands, positionals, every flag form', () => {
  const p = parseCli([
    'zoo',
    'pull',
    'glove.6b.100d',
    '--offline',
    '--cache-dir=/c',
    '--max-words',
    '500',
    '-q',
    '--no-refresh',
  ]);
  assert.equal(p.kind, 'run');
  if (p.kind !== 'run') return;
  assert.deepEqual(p.command.path, ['zoo', 'pull']);
  assert.deepEqual(p.args, { NAME: 'glove.6b.100d' });
  assert.deepEqual(p.options, { offline: true, cacheDir: '/c', maxWords: 500, quiet: true, refresh: false });
  const l = parseCli(['zoo', 'list', '--json', '--', '-odd*']);
  assert.deepEqual(l.kind === 'run' && [l.args.GLOB, l.options.json], ['-odd*', true]);
  assert.deepEqual(parseCli([]), { kind: 'help' });
  assert.deepEqual(parseCli(['--version']), { kind: 'version' });
  assert.deepEqual(parseCli(['zoo']), { kind: 'help', group: ['zoo'] });
  const h = parseCli(['zoo', 'pull', '--help']);
  assert.equal(h.kind === 'help' && h.command?.path.join(' '), 'zoo pull');
});

test('parseCli: bad usage is BAD_INPUT naming the valid choices', () => {
  usage(
    () => parseCli(['zoo', 'pul', 'x']),
    /Unknown command 'graft zoo pul x'[\s\S]*valid choices: zoo list, zoo info, zoo pull, inspect/,
  );
  usage(() => parseCli(['zoo', 'pull', 'x', '--ofline']), /Unknown option --ofline[\s\S]*--offline/);
  usage(() => parseCli(['zoo', 'pull', 'x', '--max-words', '1.5']), /--max-words[\s\S]*an integer >= 1[\s\S]*1\.5/);
  usage(() => parseCli(['zoo', 'pull', 'x', '--cache-dir']), /--cache-dir[\s\S]*a value/);
  usage(() => parseCli(['zoo', 'pull']), /needs NAME/);
  usage(() => parseCli(['zoo', 'info', 'a', 'b']), /Too many arguments/);
  usage(() => parseCli(['zoo', 'list', '--json=maybe']), /true or false/);
});

test('every command has --help, and every command that prints results has --json', async () => {
  for (const c of COMMANDS) {
    const io = memoryIo();
    assert.equal(await runCli([...c.path, '--help'], io), 0);
    assert.match(io.out, new RegExp(`Usage: graft ${c.path.join(' ')}`));
    assert.ok('json' in c.options, `${c.path.join(' ')} has --json`);
  }
});

test('runCli in-process: zoo list --json and zoo info', async () => {
  const io = memoryIo({ HOME: tempDir() });
  assert.equal(await runCli(['zoo', 'list', '*nsfwjs', '--json'], io), 0);
  const rows = JSON.parse(io.out) as { name: string; needsInternet: boolean }[];
  assert.deepEqual(
    rows.map((r) => [r.name, r.needsInternet]),
    [
      ['mobilenet_v2.nsfwjs', false],
      ['inception_v3.nsfwjs', false],
    ],
  );
  const info = memoryIo({ HOME: tempDir() });
  assert.equal(await runCli(['zoo', 'info', 'efficientnet_b0.imagenet'], info), 0);
  assert.match(info.out, /features +StatefulPartitionedCall\/model\/top_pool\/Mean \(1280-d\)/);
  assert.equal(info.err, '');
});

test('runCli: a GraftError is a message and an exit code, never a stack; --json adds a JSON error', async () => {
  const io = memoryIo({ HOME: tempDir() });
  assert.equal(await runCli(['zoo', 'info', 'nope.nothing', '--json'], io), 1);
  assert.match(io.err, /^error: No model named 'nope.nothing'/);
  assert.doesNotMatch(io.err, /\n\s+at /);
  assert.equal(JSON.parse(io.out).error.code, 'NOT_FOUND');
  const u = memoryIo();
  assert.equal(await runCli(['zoo', 'pull', 'x', '--bogus'], u), 2);
});

test('runCli: an unexpected error prints a short message and the GRAFT_DEBUG hint; with GRAFT_DEBUG the stack', async () => {
  const broken: AnyCommand = {
    path: ['boom'],
    summary: 'fails',
    args: [],
    options: {},
    load: async () => ({
      run: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    }),
  };
  const io = memoryIo();
  assert.equal(await runCli(['boom'], io, [broken]), 1);
  assert.match(io.err, /unexpected failure: cannot read properties of undefined[\s\S]*GRAFT_DEBUG=1/);
  assert.doesNotMatch(io.err, /\n\s+at /);
  const dbg = memoryIo({ GRAFT_DEBUG: '1' });
  await runCli(['boom'], dbg, [broken]);
  assert.match(dbg.err, /\n\s+at /);
});

test('subprocess: exit codes and stderr of the real launcher', () => {
  const cache = tempDir();
  const env = { ...process.env, HOME: tempDir(), GRAFT_CACHE_DIR: cache, GRAFT_DEBUG: '' };
  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/graft.js'), ...args], { env, encoding: 'utf8', timeout: 60_000 });
  const ok = run(['zoo', 'list', 'glove*']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^NAME +TASK/);
  const off = run(['zoo', 'pull', 'efficientnet_b0.imagenet', '--offline']);
  assert.equal(off.status, 1);
  assert.match(off.stderr, /offline mode forbids downloading[\s\S]*fix: /);
  assert.ok(off.stderr.includes(cache), 'the message names the cache folder in use');
  assert.doesNotMatch(off.stderr, /\n\s+at /);
  const bad = run(['zoo', 'pull']);
  assert.equal(bad.status, 2);
});

test('progress: bytes, speed and ETA on a terminal; start and end lines otherwise', () => {
  assert.equal(formatBytes(1536), '1.5 kB');
  assert.equal(formatBytes(20 * 1024 * 1024), '20 MB');
  const line = progressLine('npm:pkg@1.0.0', 5 * 1024 * 1024, 10 * 1024 * 1024, 2, 100);
  assert.match(line, /npm:pkg@1.0.0 \[#+-+\]  50% 5\.0 MB\/10 MB 2\.5 MB\/s ETA 2s/);
  assert.match(progressLine('x', 2048, undefined, 1), /^x {2}2\.0 kB {2}2\.0 kB\/s$/);

  let t = 0;
  const tty = memoryIo();
  tty.stderr.isTTY = true;
  const draw = progressRenderer(tty, () => t);
  draw({ type: 'download-start', label: 'f', url: 'u', totalBytes: 1000 });
  t = 1000;
  draw({ type: 'download-progress', label: 'f', url: 'u', bytes: 500, totalBytes: 1000 });
  assert.match(tty.err, /\rf \[#+-+\]  50% 500 B\/1000 B 500 B\/s ETA 1s/);
  draw({ type: 'download-end', label: 'f', url: 'u', bytes: 1000, ms: 2000 });
  assert.match(tty.err, /downloaded f: 1000 B in 2\.0s/);

  const log = memoryIo();
  const plain = progressRenderer(log, () => 0);
  plain({ type: 'download-start', label: 'f', url: 'u', totalBytes: 2048 });
  plain({ type: 'download-progress', label: 'f', url: 'u', bytes: 1, totalBytes: 2048 });
  assert.equal(log.err, 'downloading f (2.0 kB)\n');
});
