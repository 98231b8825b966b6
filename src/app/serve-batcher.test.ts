// The batcher: requests that arrive while a batch runs go together next; an idle model waits for requests still
// on their way (at most maxDelayMs), never for ones that are not coming; maxBatch bounds every batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher } from './serve-batcher.js';

function recorder(runMs: number) {
  const batches: number[][] = [];
  const run = async (xs: number[]) => {
    batches.push(xs);
    await new Promise((r) => setTimeout(r, runMs));
    return xs.map((x) => x * 10);
  };
  return { batches, run };
}

test('a lone request runs at once when nothing else is coming', async () => {
  const { batches, run } = recorder(1);
  const b = new Batcher(run, 8, 1000, undefined, () => 0);
  const t0 = performance.now();
  assert.equal(await b.submit(3), 30);
  assert.ok(performance.now() - t0 < 500, 'it did not wait the 1000 ms delay');
  assert.deepEqual(batches, [[3]]);
});

test('an idle model waits for requests on their way, then runs them as one batch', async () => {
  const { batches, run } = recorder(1);
  let coming = 2;
  const b = new Batcher(run, 8, 1000, undefined, () => coming);
  const answers = [b.submit(1)];
  await new Promise((r) => setTimeout(r, 20));
  answers.push(b.submit(2));
  coming = 1;
  b.nudge();
  answers.push(b.submit(3));
  coming = 0;
  b.nudge();
  assert.deepEqual(await Promise.all(answers), [10, 20, 30]);
  assert.deepEqual(batches, [[1, 2, 3]]);
});

test('requests arriving during a run go together next, at most maxBatch at a time; errors reach every request of their batch', async () => {
  const { batches, run } = recorder(30);
  const b = new Batcher(run, 3, 0);
  const answers = [1, 2, 3, 4, 5, 6, 7].map((x) => b.submit(x));
  assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40, 50, 60, 70]);
  assert.deepEqual(batches, [[1], [2, 3, 4], [5, 6, 7]]);
  const failing = new Batcher<number, number>(async () => Promise.reject(new Error('model failed')), 4, 0);
  const results = await Promise.allSettled([failing.submit(1), failing.submit(2)]);
  assert.ok(results.every((r) => r.status === 'rejected'));
});
