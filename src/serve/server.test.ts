// graft serve on a tiny trained image classifier (and a tiny text classifier): answers equal graft predict's,
// batched or not; every hostile request gets its 4xx and the server stays up; the token guards everything but
// /healthz; the bounded queue answers 503; /metrics counts it all; an address off this machine needs a token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadClassifier, predictFiles } from '../app/classifier.js';
import { prepareServe } from '../app/serve.js';
import { removeTempDirs, tempDir } from '../app/test-utils/fixtures.js';
import { isGraftError } from '../errors.js';
import { type RunningServer, startServer } from './server.js';
import { authHeader, hostileCases, multipartBody, rawStatus } from './test-utils/hostile.js';
import { type TinyImageClassifier, trainTinyImageClassifier, writeTinyTextClassifier } from './test-utils/models.js';

let dir: string;
let tiny: TinyImageClassifier;
const servers: RunningServer[] = [];
const TOKEN = 'test-token-0123456789abcdef';

before(async () => {
  dir = tempDir('graft-serve-');
  tiny = await trainTinyImageClassifier(dir);
});
after(async () => {
  for (const s of servers) await s.close();
  removeTempDirs();
});

async function serve(settings: Partial<Parameters<typeof prepareServe>[0]> = {}): Promise<RunningServer> {
  const s = await startServer(await prepareServe({ model: tiny.model, port: 0, ...settings }));
  servers.push(s);
  return s;
}

async function predict(base: string, file: string, headers: Record<string, string> = {}, query = '') {
  const r = await fetch(`${base}/predict${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/png', ...headers },
    body: new Uint8Array(readFileSync(file)),
  });
  return { status: r.status, body: (await r.json()) as { top: { label: string; probability: number }[] } };
}

test('answers equal graft predict, one at a time and batched; multipart too; ?top=K', async () => {
  const c = await loadClassifier(tiny.model);
  const expected = await predictFiles(c, tiny.images, { top: 3 });
  await c.dispose();
  for (const maxBatch of [1, 8]) {
    const s = await serve({ maxBatch, maxDelayMs: 20, top: 3 });
    // all at once: with maxBatch 8 they share model runs
    const answers = await Promise.all(tiny.images.map((f) => predict(s.url, f)));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      assert.deepEqual(
        a.body.top.map((t) => t.label),
        expected[i]!.top!.map((t) => t.label),
      );
      a.body.top.forEach((t, j) => assert.ok(Math.abs(t.probability - expected[i]!.top![j]!.probability) < 1e-5));
    });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const batches = Number(/^graft_batch_size_count (\d+)$/m.exec(metrics)![1]);
    if (maxBatch === 1) assert.equal(batches, tiny.images.length);
    else assert.ok(batches < tiny.images.length, `${batches} model runs for ${tiny.images.length} requests`);
  }
  const s = await serve({ maxBatch: 4 });
  const mp = await fetch(`${s.url}/predict?top=2`, {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=b0undary' },
    body: new Uint8Array(multipartBody(readFileSync(tiny.images[0]!))),
  });
  assert.equal(mp.status, 200);
  const top = ((await mp.json()) as { top: { label: string }[] }).top;
  assert.deepEqual(
    top.map((t) => t.label),
    expected[0]!.top!.slice(0, 2).map((t) => t.label),
  );
  assert.equal((await predict(s.url, tiny.images[0]!, {}, '?top=zero')).status, 400);
});

test('every hostile request gets its 4xx, nothing echoes the body, and the server stays up', async () => {
  const maxBodyBytes = 64 * 1024;
  const s = await serve({ token: TOKEN, maxBodyMb: maxBodyBytes / (1024 * 1024), bodyTimeout: 1 });
  for (const c of hostileCases({ maxBodyBytes, bodyTimeoutMs: 1000, token: TOKEN })) {
    assert.equal(await c.send(s.url, TOKEN), c.expect, c.name);
  }
  // still up, and still right
  assert.equal((await predict(s.url, tiny.images[0]!, authHeader(TOKEN))).status, 200);
  const health = await fetch(`${s.url}/healthz`);
  assert.equal(health.status, 200, 'health checks need no token');
  const metrics = await (await fetch(`${s.url}/metrics`, { headers: authHeader(TOKEN) })).text();
  for (const code of [400, 401, 404, 413, 415, 422])
    assert.match(metrics, new RegExp(`^graft_http_errors_total\\{code="${code}"\\} \\d+$`, 'm'), `code ${code}`);
  assert.match(metrics, /^graft_http_requests_total\{route="\/predict",code="200"\} 1$/m);
  assert.match(
    metrics,
    /^graft_http_requests_total\{route="unmatched",code="404"\} 1$/m,
    'made-up URLs share one label',
  );
  assert.match(metrics, /^graft_http_request_duration_seconds_bucket\{route="\/predict",le="\+Inf"\} \d+$/m);
  assert.doesNotMatch(metrics, /SECRET/);
});

test('the bounded queue answers 503 with Retry-After instead of growing', async () => {
  const s = await serve({ maxQueue: 2, bodyTimeout: 1.5 });
  // two requests whose bodies never finish hold both places (admitted before their body is read)
  const head = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n`;
  const held = [rawStatus(s.url, head, Buffer.alloc(1), 8000), rawStatus(s.url, head, Buffer.alloc(1), 8000)];
  await new Promise((r) => setTimeout(r, 200));
  const r = await fetch(`${s.url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: new Uint8Array(readFileSync(tiny.images[0]!)),
  });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '1');
  // the held requests time out (408) and free their places
  assert.deepEqual(await Promise.all(held), [408, 408]);
  assert.equal((await predict(s.url, tiny.images[0]!)).status, 200);
});

test('text classifiers: JSON or text/plain in, top-k out; images refused with 415', async () => {
  const model = writeTinyTextClassifier(join(dir, 'text.onnx'));
  const s = await serve({ model, maxBatch: 4 });
  const ask = async (type: string, body: string) => {
    const r = await fetch(`${s.url}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: r.status, body: (await r.json()) as { top?: { label: string }[] } };
  };
  const answers = await Promise.all([
    ask('application/json', JSON.stringify({ text: 'good good the' })),
    ask('text/plain', 'bad, the bad'),
  ]);
  assert.deepEqual(
    answers.map((a) => [a.status, a.body.top?.[0]?.label]),
    [
      [200, 'positive'],
      [200, 'negative'],
    ],
  );
  assert.equal((await ask('image/png', 'x')).status, 415);
  assert.equal((await ask('application/json', JSON.stringify({ txt: 'good' }))).status, 400);
});

test('off this machine a token is required; a weak one is refused without being shown', async () => {
  for (const host of ['0.0.0.0', '192.0.2.7', '::']) {
    await assert.rejects(
      prepareServe({ model: tiny.model, host }),
      (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && /needs a token/.test(e.message),
      host,
    );
  }
  await assert.rejects(
    prepareServe({ model: tiny.model, host: '0.0.0.0', token: 'short-Secret' }),
    (e: unknown) => isGraftError(e) && /too weak/.test(e.message) && !e.message.includes('short-Secret'),
  );
  const fromEnv = await prepareServe({ model: tiny.model, host: '0.0.0.0', env: { GRAFT_SERVE_TOKEN: TOKEN } });
  assert.equal(fromEnv.config.token, TOKEN);
  assert.equal(fromEnv.config.loopback, false);
  await fromEnv.model.close();
});

test('graft serve in a child process: prints its address as JSON, answers, and stops cleanly on SIGTERM', async () => {
  const bin = fileURLToPath(new URL('../../bin/graft.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', tiny.model, '--port', '0', '--json', '--max-batch', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GRAFT_DEBUG: '' },
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const info = await new Promise<{ url: string; kind: string; classes: number }>((done, fail) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) done(JSON.parse(out.split('\n')[0]!) as { url: string; kind: string; classes: number });
    });
    void exited.then(() => fail(new Error(`graft serve exited: ${err}`)));
  });
  try {
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual([info.kind, info.classes], ['image', tiny.classes.length]);
    assert.equal((await fetch(`${info.url}/healthz`)).status, 200);
    assert.equal((await predict(info.url, tiny.images[0]!)).status, 200);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, err);
});
