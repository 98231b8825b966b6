// The studio's server (src/app/studio.ts): who it answers and what it serves. The page itself is tested in
// Chromium by src/studio/studio.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isGraftError } from '../errors.js';
import { encodeModel } from '../onnx/codec.js';
import { studioBackbone, writeStudioModelsFile } from '../studio/test-utils/backbone.js';
import { type RunningStudio, isLoopback, startStudio } from './studio.js';

/** A GET with the Host header given (fetch does not let a caller set it). */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (done, fail) => {
      const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', fail);
      req.end();
    },
  );
}

let dir: string;
const env = () => ({ GRAFT_CACHE_DIR: join(dir, 'cache'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'graft-studio-server-'));
  writeFileSync(join(dir, 'tiny.onnx'), encodeModel(studioBackbone()));
  // a user's zoo entry whose source is a local file: the studio offers it like a cached model
  writeStudioModelsFile(join(dir, 'config'), join(dir, 'tiny.onnx'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('knows which addresses are loopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com']) assert.equal(isLoopback(h), false, h);
});

it('refuses a port out of range and an address it cannot bind with a GraftError', async () => {
  await assert.rejects(
    startStudio({ port: 70000, env: env() }),
    (e: unknown) => isGraftError(e) && /0 to 65535/.test(e.message),
  );
  await assert.rejects(
    startStudio({ host: '203.0.113.7', port: 0, env: env() }),
    (e: unknown) => isGraftError(e) && /cannot listen on 203\.0\.113\.7/.test(e.message),
  );
});

describe('on a non-loopback address', () => {
  let studio: RunningStudio;
  before(async () => {
    studio = await startStudio({ host: '0.0.0.0', port: 0, env: env() });
  });
  after(() => studio.close());

  it('refuses every request without the token the printed URL carries', async () => {
    assert.equal(studio.tokenRequired, true);
    const token = new URL(studio.url).searchParams.get('token')!;
    assert.match(token, /^[0-9a-f]{48}$/);
    for (const path of ['/', '/studio.js', '/studio-worker.js', '/api/models', '/ort-wasm-simd-threaded.jsep.wasm']) {
      const r = await get(studio.port, path);
      assert.equal(r.status, 403, path);
      assert.ok(!r.body.toString().includes(token));
    }
    assert.equal((await get(studio.port, `/?token=${'0'.repeat(48)}`)).status, 403, 'a wrong token');
    assert.equal((await get(studio.port, '/', { cookie: `graft_studio=${'1'.repeat(48)}` })).status, 403);
  });

  it('serves the page with the token, and the rest through the cookie the first visit set', async () => {
    const token = new URL(studio.url).searchParams.get('token')!;
    const first = await get(studio.port, `/?token=${token}`);
    assert.equal(first.status, 200);
    assert.match(first.body.toString(), /<script type="module" src=".\/studio.js">/);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    assert.match(String(first.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    const js = await get(studio.port, '/studio-worker.js', { cookie });
    assert.equal(js.status, 200);
    assert.equal(js.headers['cross-origin-embedder-policy'], 'require-corp');
  });
});

describe('on loopback', () => {
  let studio: RunningStudio;
  before(async () => {
    studio = await startStudio({ port: 0, env: env() });
  });
  after(() => studio.close());

  it('needs no token, but answers only requests addressed to the loopback address (DNS rebinding)', async () => {
    assert.equal(studio.tokenRequired, false);
    assert.match(studio.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await get(studio.port, '/')).status, 200);
    assert.equal((await get(studio.port, '/', { host: `localhost:${studio.port}` })).status, 200);
    assert.equal((await get(studio.port, '/', { host: `evil.example:${studio.port}` })).status, 421);
  });

  it('serves GET only, and nothing outside its fixed paths', async () => {
    for (const path of [
      '/../package.json',
      '/src/app/studio.ts',
      '/models/..%2F..%2Fpackage.json.onnx',
      '/models/nope.onnx',
    ]) {
      assert.equal((await get(studio.port, path)).status, 404, path);
    }
    const post = await new Promise<number>((done) => {
      const req = request({ host: '127.0.0.1', port: studio.port, path: '/', method: 'POST' }, (res) => {
        res.resume();
        done(res.statusCode!);
      });
      req.end('x');
    });
    assert.equal(post, 405);
  });

  it('lists the cached models and serves their bytes, checked against the hash taken at startup', async () => {
    const list = JSON.parse((await get(studio.port, '/api/models')).body.toString()) as { models: { name: string }[] };
    assert.deepEqual(
      list.models.map((m) => m.name),
      ['tiny.studio'],
    );
    const bytes = encodeModel(studioBackbone());
    const r = await get(studio.port, '/models/tiny.studio.onnx');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(Buffer.from(bytes)), 'the bytes of the file');
    // the file changes under the studio: it is not served
    writeFileSync(join(dir, 'tiny.onnx'), encodeModel(studioBackbone(6)));
    try {
      assert.equal((await get(studio.port, '/models/tiny.studio.onnx')).status, 500);
    } finally {
      writeFileSync(join(dir, 'tiny.onnx'), bytes);
    }
  });
});
