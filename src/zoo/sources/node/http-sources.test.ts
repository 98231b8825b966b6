import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../../errors.js';
import type { SourceEvent } from '../events.js';
import { parseSource } from '../spec.js';
import { sourceContext, type SourceContext, type SourceContextOptions } from './context.js';
import { resolveFile } from './resolve.js';
import { TestServer, noise, sha256 } from './test-utils/server.js';

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
  const d = mkdtempSync(join(tmpdir(), 'graft-src-'));
  dirs.push(d);
  return d;
}

function ctx(opts: SourceContextOptions = {}): SourceContext & { events: SourceEvent[] } {
  const events: SourceEvent[] = [];
  const c = sourceContext({
    cacheDir: tempDir(),
    env: {},
    http: { retries: 3, retryDelayMs: 5, timeoutMs: 5000 },
    onEvent: (e) => events.push(e),
    ...opts,
  });
  return Object.assign(c, { events });
}

/** Every file under a folder, relative paths. */
function listFiles(dir: string, sub = ''): string[] {
  if (!existsSync(join(dir, sub))) return [];
  return readdirSync(join(dir, sub)).flatMap((n) => {
    const rel = sub ? `${sub}/${n}` : n;
    return statSync(join(dir, rel)).isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

function isGraft(code: string, text?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof GraftError, `expected GraftError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    return true;
  };
}

test('url: downloads, verifies, caches; a second resolve makes no request', async () => {
  const body = noise(300_000, 7);
  server.routes.set('/u1/model.onnx', { body });
  const c = ctx();
  const spec = parseSource(`${server.url}/u1/model.onnx#sha256=${sha256(body)}`);
  const f = await resolveFile(spec, c);
  assert.equal(f.fromCache, false);
  assert.equal(f.sha256, sha256(body));
  assert.deepEqual(readFileSync(f.path), Buffer.from(body));
  assert.ok(c.events.some((e) => e.type === 'download-progress' && e.totalBytes === body.byteLength));
  const before = server.requests('/u1/model.onnx').length;
  const again = await resolveFile(spec, c);
  assert.equal(again.fromCache, true);
  assert.equal(again.path, f.path);
  assert.equal(server.requests('/u1/model.onnx').length, before, 'a cache hit must not contact the server');
});

test('url: a hash mismatch is an INTEGRITY error and nothing is cached', async () => {
  const body = noise(50_000, 8);
  server.routes.set('/u2/model.onnx', { body });
  const c = ctx();
  const wrong = sha256(noise(10, 9));
  await assert.rejects(
    resolveFile(parseSource(`${server.url}/u2/model.onnx#sha256=${wrong}`), c),
    isGraft('INTEGRITY', /expected content/),
  );
  assert.deepEqual(listFiles(join(c.cache.root, 'blobs')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'refs')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'partial')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'tmp')), []);
});

test('url: a connection dropped midway is resumed with a Range request', async () => {
  const body = noise(400_000, 10);
  server.routes.set('/u3/big.bin', { body, dropAfter: 150_000, dropTimes: 1 });
  const c = ctx();
  const f = await resolveFile(parseSource(`${server.url}/u3/big.bin#sha256=${sha256(body)}`), c);
  assert.deepEqual(readFileSync(f.path), Buffer.from(body));
  const reqs = server.requests('/u3/big.bin');
  assert.equal(reqs.length, 2);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.headers.range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 150_000, `second request resumes (range ${reqs[1]!.headers.range})`);
  assert.ok(reqs[1]!.headers['if-range'], 'resume is guarded by If-Range');
  assert.ok(c.events.some((e) => e.type === 'download-retry'));
  assert.ok(c.events.some((e) => e.type === 'download-start' && e.resumedFrom === resumedAt));
  assert.deepEqual(listFiles(join(c.cache.root, 'blobs')), [`sha256/${f.sha256.slice(0, 2)}/${f.sha256}`]);
  assert.deepEqual(listFiles(join(c.cache.root, 'partial')), []);
});

test('url: without a validator to resume against, the download restarts cleanly', async () => {
  const body = noise(200_000, 11);
  server.routes.set('/u4/x.bin', { body, dropAfter: 80_000, dropTimes: 2, etag: false });
  const c = ctx();
  const f = await resolveFile(parseSource(`${server.url}/u4/x.bin#sha256=${sha256(body)}`), c);
  assert.deepEqual(readFileSync(f.path), Buffer.from(body));
  const reqs = server.requests('/u4/x.bin');
  assert.equal(reqs.length, 3);
  assert.ok(reqs.every((r) => r.headers.range === undefined));
});

test('url: a failed run leaves only resumable bytes outside the cache; the next run resumes them', async () => {
  const body = noise(300_000, 12);
  server.routes.set('/u5/x.bin', { body, dropAfter: 100_000, dropTimes: 1 });
  const cacheDir = tempDir();
  const spec = parseSource(`${server.url}/u5/x.bin#sha256=${sha256(body)}`);
  const first = ctx({ cacheDir, http: { retries: 0, retryDelayMs: 1 } });
  await assert.rejects(resolveFile(spec, first), isGraft('NETWORK', /Cannot download/));
  assert.deepEqual(listFiles(join(cacheDir, 'blobs')), [], 'no partial file may appear as a blob');
  const second = ctx({ cacheDir });
  const f = await resolveFile(spec, second);
  assert.deepEqual(readFileSync(f.path), Buffer.from(body));
  const reqs = server.requests('/u5/x.bin');
  assert.equal(reqs.length, 2);
  assert.match(reqs[1]!.headers.range ?? '', /^bytes=[1-9]\d*-$/);
  assert.deepEqual(listFiles(join(cacheDir, 'partial')), []);
});

test('url: offline with an empty cache fails clearly without any request', async () => {
  const body = noise(1000, 13);
  server.routes.set('/u6/x.onnx', { body });
  const c = ctx({ offline: true });
  await assert.rejects(
    resolveFile(parseSource(`${server.url}/u6/x.onnx#sha256=${sha256(body)}`), c),
    isGraft(
      'NETWORK',
      /offline mode forbids downloading[\s\S]*fix: run the same command once without --offline.*local file path.*cache/,
    ),
  );
  assert.equal(server.requests('/u6/x.onnx').length, 0);
});

test('url: an unreachable host is a NETWORK error naming the URL and the offline way out', async () => {
  const dead = await TestServer.start();
  const url = `${dead.url}/m.onnx`;
  await dead.close();
  const c = ctx({ http: { retries: 3, retryDelayMs: 1, timeoutMs: 2000 } });
  await assert.rejects(
    resolveFile(parseSource(`${url}#sha256=${'0'.repeat(64)}`), c),
    isGraft(
      'NETWORK',
      new RegExp(`${url.replace(/[.]/g, '\\.')}[\\s\\S]*ECONNREFUSED[\\s\\S]*pass the local file path`),
    ),
  );
});

test('url: an unpinned URL is refused', async () => {
  await assert.rejects(resolveFile(parseSource(`${server.url}/x.onnx`), ctx()), isGraft('BAD_INPUT', /no sha256/));
});

test('hf: honours HF_ENDPOINT and HF_TOKEN, checks the LFS sha256, drops the token on a cross-origin redirect', async () => {
  const cdn = await TestServer.start();
  try {
    const body = noise(120_000, 20);
    cdn.routes.set('/blob/abc', { body });
    server.routes.set('/acme/net/resolve/main/onnx/model.onnx', {
      body: new Uint8Array(),
      redirect: `${cdn.url}/blob/abc`,
      headers: { 'x-linked-etag': `"${sha256(body)}"`, 'x-repo-commit': 'c0ffee' },
      requireAuth: 'Bearer hf_secret',
    });
    const c = ctx({ env: { HF_ENDPOINT: server.url, HF_TOKEN: 'hf_secret' } });
    const f = await resolveFile(parseSource('hf:acme/net/onnx/model.onnx'), c);
    assert.equal(f.sha256, sha256(body));
    assert.equal(cdn.requests('/blob/abc')[0]!.headers.authorization, undefined);
    const n = server.log.length + cdn.log.length;
    const again = await resolveFile(parseSource('hf:acme/net/onnx/model.onnx'), c);
    assert.equal(again.fromCache, true);
    assert.equal(server.log.length + cdn.log.length, n, 'a cache hit must not contact the Hub');

    const noToken = ctx({ env: { HF_ENDPOINT: server.url } });
    await assert.rejects(
      resolveFile(parseSource('hf:acme/net/onnx/model.onnx'), noToken),
      isGraft('NETWORK', /HTTP 401[\s\S]*set HF_TOKEN/),
    );
  } finally {
    await cdn.close();
  }
});

test('hf: a body that does not match the announced sha256 is not cached', async () => {
  server.routes.set('/acme/bad/resolve/main/m.onnx', {
    body: noise(5000, 21),
    headers: { 'x-linked-etag': `"${sha256(noise(5000, 22))}"` },
  });
  const c = ctx({ env: { HF_ENDPOINT: server.url } });
  await assert.rejects(resolveFile(parseSource('hf:acme/bad/m.onnx'), c), isGraft('INTEGRITY'));
  assert.deepEqual(listFiles(join(c.cache.root, 'blobs')), []);
  assert.deepEqual(listFiles(join(c.cache.root, 'refs')), []);
});

test('hf: a missing file is NOT_FOUND; offline with an empty cache makes no request', async () => {
  const c = ctx({ env: { HF_ENDPOINT: server.url } });
  await assert.rejects(resolveFile(parseSource('hf:acme/none/m.onnx@v1'), c), isGraft('NOT_FOUND'));
  const before = server.log.length;
  const off = ctx({ env: { HF_ENDPOINT: server.url }, offline: true });
  await assert.rejects(resolveFile(parseSource('hf:acme/net/onnx/model.onnx'), off), isGraft('NETWORK', /offline/));
  assert.equal(server.log.length, before);
});

test('local: read in place, hashed, pinned hash checked, missing file reported', async () => {
  const dir = tempDir();
  const body = noise(3000, 30);
  writeFileSync(join(dir, 'm.onnx'), body);
  const c = ctx({ cwd: dir });
  const f = await resolveFile(parseSource('m.onnx'), c);
  assert.equal(f.path, join(dir, 'm.onnx'));
  assert.equal(f.sha256, sha256(body));
  assert.deepEqual(listFiles(c.cache.root), []);
  await assert.rejects(resolveFile(parseSource('m.onnx', { sha256: '1'.repeat(64) }), c), isGraft('INTEGRITY'));
  await assert.rejects(resolveFile(parseSource('nope.onnx'), c), isGraft('NOT_FOUND', /No file/));
});
