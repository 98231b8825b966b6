import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../../errors.js';
import { parseSource, type NpmSpec } from '../spec.js';
import { sourceContext, type SourceContext } from './context.js';
import { parseNpmrc } from './npmrc.js';
import { resolveFiles } from './resolve.js';
import { TestServer, noise } from './test-utils/server.js';
import { publish, registryEnv, sri } from './test-utils/registry.js';

let server: TestServer;
const dirs: string[] = [];
before(async () => {
  server = await TestServer.start();
});
after(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-npm-'));
  dirs.push(d);
  return d;
}

function ctx(npmrc = '', extra: Partial<SourceContext> = {}): SourceContext {
  const home = tempDir();
  return {
    ...sourceContext({ cacheDir: join(home, 'cache'), env: registryEnv(server, home, npmrc), cwd: home }),
    ...extra,
  };
}

function npm(s: string): NpmSpec {
  return parseSource(s) as NpmSpec;
}

function listFiles(dir: string, sub = ''): string[] {
  if (!existsSync(join(dir, sub))) return [];
  return readdirSync(join(dir, sub)).flatMap((n) => {
    const rel = sub ? `${sub}/${n}` : n;
    return statSync(join(dir, rel)).isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

const shard = noise(70_000, 3);
const pkg = {
  name: 'fake-net',
  version: '1.0.0',
  files: {
    'web_model/model.json': '{"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[]}]}',
    'web_model/group1-shard1of1.bin': shard,
    'misc/labels.json': '["cat","dog"]',
    'other/big.bin': noise(200_000, 4),
    'install.js': 'throw new Error("scripts must never run")',
  },
};

test('npm: extracts the folder of each requested file from a verified tarball; a second call makes no request', async () => {
  await publish(server, pkg);
  const c = ctx();
  const specs = [npm('npm:fake-net@1.0.0/web_model/model.json'), npm('npm:fake-net@1.0.0/misc/labels.json')];
  const files = await resolveFiles(specs, c);
  assert.equal(readFileSync(files[0]!.path, 'utf8'), pkg.files['web_model/model.json']);
  assert.equal(readFileSync(files[1]!.path, 'utf8'), '["cat","dog"]');
  assert.equal(files[0]!.fromCache, false);
  assert.equal(server.requests('/fake-net/-/fake-net-1.0.0.tgz').length, 1, 'one tarball download for both files');
  // Only the folders asked for were taken out: other/big.bin is not in the cache.
  const blobs = listFiles(join(c.cache.root, 'blobs'));
  assert.equal(blobs.length, 3, blobs.join(', '));
  assert.deepEqual(listFiles(join(c.cache.root, 'tmp')), []);

  const n = server.log.length;
  const again = await resolveFiles([npm('npm:fake-net@1.0.0/web_model/group1-shard1of1.bin')], c);
  assert.deepEqual(readFileSync(again[0]!.path), Buffer.from(shard));
  assert.equal(again[0]!.fromCache, true);
  assert.equal(server.log.length, n, 'a cache hit must not contact the registry');
  await assert.rejects(
    resolveFiles([npm('npm:fake-net@1.0.0/web_model/nope.bin')], c),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && /group1-shard1of1\.bin/.test(e.message),
  );
  assert.equal(server.log.length, n, 'a missing file in an extracted folder is known without the network');
});

test('npm: a tarball that does not match the registry integrity is rejected and nothing is cached', async () => {
  const bad = { ...pkg, name: 'fake-tampered' };
  await publish(server, bad, { integrity: sri(noise(100, 5)) });
  const c = ctx();
  await assert.rejects(
    resolveFiles([npm('npm:fake-tampered@1.0.0/web_model/model.json')], c),
    (e: unknown) => e instanceof GraftError && e.code === 'INTEGRITY',
  );
  assert.deepEqual(listFiles(join(c.cache.root, 'blobs')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'refs')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'tmp')), []);
});

test('npm: a pinned integrity that the registry does not serve is rejected', async () => {
  await publish(server, { ...pkg, name: 'fake-pinned' });
  const c = ctx();
  const spec = parseSource('npm:fake-pinned@1.0.0/misc/labels.json', { integrity: sri(noise(9, 9)) }) as NpmSpec;
  await assert.rejects(
    resolveFiles([spec], c),
    (e: unknown) => e instanceof GraftError && e.code === 'INTEGRITY' && /pins/.test(e.message),
  );
  assert.deepEqual(listFiles(join(c.cache.root, 'blobs')), []);
});

test('npm: registry credentials from .npmrc reach the registry (scoped package)', async () => {
  const scoped = { ...pkg, name: '@acme/fake-private' };
  await publish(server, scoped, { requireAuth: 'Bearer s3cret' });
  const host = `//127.0.0.1:${server.port}/`;
  const c = ctx(`${host}:_authToken=\${FAKE_TOKEN}\n`);
  c.env.FAKE_TOKEN = 's3cret';
  // the npmrc is re-read per fetch, with ${VAR} expanded from the environment
  const files = await resolveFiles([npm('npm:@acme/fake-private@1.0.0/misc/labels.json')], c);
  assert.equal(readFileSync(files[0]!.path, 'utf8'), '["cat","dog"]');
  const denied = ctx();
  await assert.rejects(
    resolveFiles([npm('npm:@acme/fake-private@1.0.0/misc/labels.json')], denied),
    (e: unknown) => e instanceof GraftError && e.code === 'NETWORK' && /credentials|npm login/.test(e.message),
  );
});

test('npm: offline with an empty cache fails clearly without any request; unknown versions are NOT_FOUND', async () => {
  await publish(server, { ...pkg, name: 'fake-offline' });
  const n = server.log.length;
  await assert.rejects(
    resolveFiles([npm('npm:fake-offline@1.0.0/misc/labels.json')], ctx('', { offline: true })),
    (e: unknown) => e instanceof GraftError && e.code === 'NETWORK' && /offline mode forbids/.test(e.message),
  );
  assert.equal(server.log.length, n);
  await assert.rejects(
    resolveFiles([npm('npm:fake-offline@9.9.9/misc/labels.json')], ctx()),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND',
  );
});

test('npmrc parsing expands environment variables and strips quotes', () => {
  const m = parseNpmrc('registry = "https://r.example/"\n; comment\n//r.example/:_authToken=${T}\nx=\\${T}', {
    T: 'tok',
  });
  assert.equal(m.get('registry'), 'https://r.example/');
  assert.equal(m.get('//r.example/:_authToken'), 'tok');
  assert.equal(m.get('x'), '${T}');
});
