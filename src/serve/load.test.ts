// The load test of issue 16, bounded in requests and time, on loopback: the tiny classifier served unbatched
// (--max-batch 1) and batched (--max-batch 16) at concurrency 1, 8 and 32, with every hostile request sent in
// the middle of the concurrency-32 load and answered with its code; no 5xx at all while the queue has room, and
// with a queue smaller than the load, 503 (with Retry-After) is the only 5xx. The figures are printed, never
// asserted (timings belong to benchmarks: `npm run bench -- serve` and docs/benchmarks.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { prepareServe } from '../app/serve.js';
import { removeTempDirs, tempDir } from '../app/test-utils/fixtures.js';
import { type RunningServer, startServer } from './server.js';
import { hostileCases } from './test-utils/hostile.js';
import { type LoadResult, drive } from './test-utils/load.js';
import { type TinyImageClassifier, trainTinyImageClassifier } from './test-utils/models.js';

const TOKEN = 'load-test-token-0123456789';
const MAX_BODY = 64 * 1024;
let tiny: TinyImageClassifier;
let bodies: Buffer[];
const servers: RunningServer[] = [];

before(async () => {
  tiny = await trainTinyImageClassifier(tempDir('graft-load-'));
  bodies = tiny.images.map((f) => readFileSync(f));
});
after(async () => {
  for (const s of servers) await s.close();
  removeTempDirs();
});

async function serve(maxBatch: number, maxQueue = 64): Promise<RunningServer> {
  const s = await startServer(
    await prepareServe({
      model: tiny.model,
      port: 0,
      token: TOKEN,
      maxBatch,
      maxQueue,
      maxBodyMb: MAX_BODY / (1024 * 1024),
      bodyTimeout: 1,
    }),
  );
  servers.push(s);
  return s;
}

const fivexx = (r: LoadResult) =>
  Object.entries(r.statuses)
    .filter(([code]) => Number(code) >= 500)
    .reduce((n, [, c]) => n + c, 0);

test('load at concurrency 1, 8, 32, unbatched and batched, hostile requests answered in the middle of it', async () => {
  const modes = { unbatched: await serve(1), batched: await serve(16) };
  const load = { bodies, token: TOKEN, deadlineMs: 15_000 };
  for (const s of Object.values(modes)) await drive(s.url, { ...load, concurrency: 4, requests: 40 });
  const rows: Record<string, string | number>[] = [];
  for (const concurrency of [1, 8, 32]) {
    const requests = concurrency === 1 ? 60 : 240;
    for (const [mode, s] of Object.entries(modes)) {
      const hostile =
        concurrency === 32 ? hostileCases({ maxBodyBytes: MAX_BODY, bodyTimeoutMs: 1000, token: TOKEN }) : [];
      const [r, ...answers] = await Promise.all([
        drive(s.url, { ...load, concurrency, requests }),
        ...hostile.map(async (c) => {
          // spread over the first part of the load
          await new Promise((w) => setTimeout(w, 20 * hostile.indexOf(c)));
          return c.send(s.url, TOKEN);
        }),
      ]);
      hostile.forEach((c, i) => assert.equal(answers[i], c.expect, `${mode}, under load: ${c.name}`));
      assert.equal(r.statuses[200], r.requests, `${mode} at ${concurrency}: ${JSON.stringify(r.statuses)}`);
      assert.ok(r.requests >= Math.min(requests, 20), `${mode} at ${concurrency}: only ${r.requests} requests in time`);
      rows.push({
        mode,
        concurrency,
        requests: r.requests,
        'req/s': +r.throughput.toFixed(1),
        'p50 ms': +r.p50Ms.toFixed(1),
        'p99 ms': +r.p99Ms.toFixed(1),
      });
    }
  }
  console.log('graft serve, tiny classifier, loopback (figures only; see npm run bench -- serve):');
  console.table(rows);
  for (const s of Object.values(modes)) {
    const m = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.doesNotMatch(m, /code="5\d\d"/, 'no 5xx at all while the queue had room');
  }
});

test('more clients than the queue holds: 503 with Retry-After is the only 5xx, and the server keeps answering', async () => {
  const s = await serve(16, 8);
  const r = await drive(s.url, { bodies, token: TOKEN, concurrency: 32, requests: 400, deadlineMs: 15_000 });
  assert.ok((r.statuses[503] ?? 0) > 0, `no request was turned away: ${JSON.stringify(r.statuses)}`);
  assert.equal(fivexx(r), r.statuses[503], JSON.stringify(r.statuses));
  assert.equal((r.statuses[200] ?? 0) + r.statuses[503]!, r.requests);
  assert.ok((r.statuses[200] ?? 0) > 0);
  const after = await drive(s.url, { bodies, token: TOKEN, concurrency: 2, requests: 10, deadlineMs: 5000 });
  assert.deepEqual(after.statuses, { 200: 10 });
});
