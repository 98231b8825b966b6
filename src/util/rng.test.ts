import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { Rng, glorotUniform, heNormal } from './rng.js';

test('xoshiro128** output matches the reference C implementation', () => {
  // first outputs of the reference algorithm from state {1, 2, 3, 4}
  const r = Rng.fromState([1, 2, 3, 4]);
  assert.deepEqual(
    Array.from({ length: 6 }, () => r.nextU32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
});

test('same seed gives the same stream; state() and fromState() continue it exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.uniform());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => b.uniform()),
  );
  const saved = a.state();
  const next = Array.from({ length: 10 }, () => a.nextU32());
  const c = Rng.fromState(saved);
  assert.deepEqual(
    Array.from({ length: 10 }, () => c.nextU32()),
    next,
  );
  // neighbouring seeds and seeds past 2^32 give different streams
  const first = (seed: number) => new Rng(seed).nextU32();
  assert.equal(new Set([0, 1, 2, 2 ** 32, 2 ** 32 + 1].map(first)).size, 5);
});

test('permutations are deterministic permutations; uniform and normal have the right moments', () => {
  const p = new Rng(7).permutation(1000);
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.deepEqual([...new Rng(7).permutation(1000)], [...p]);
  assert.notDeepEqual([...new Rng(8).permutation(1000)], [...p]);
  const r = new Rng(3);
  let sum = 0;
  let sq = 0;
  let min = 1;
  let max = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  assert.ok(min >= 0 && max < 1 && min < 0.001 && max > 0.999);
  assert.ok(Math.abs(sum / n) < 0.03, `normal mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1) < 0.04, `normal variance ${sq / n}`);
  const ints = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) ints[r.int(5)]++;
  assert.ok(
    ints.every((c) => c > 900 && c < 1100),
    `int(5) counts ${ints}`,
  );
});

test('initialisers are seeded and scaled by fan-in/fan-out', () => {
  const g = glorotUniform(new Rng(1), 100, 50, 5000);
  const limit = Math.sqrt(6 / 150);
  assert.ok(g.every((v) => Math.abs(v) <= limit));
  assert.deepEqual(g, glorotUniform(new Rng(1), 100, 50, 5000));
  const h = heNormal(new Rng(1), 200, 20000);
  const variance = h.reduce((a, v) => a + v * v, 0) / h.length;
  assert.ok(Math.abs(variance - 2 / 200) < 0.001, `He variance ${variance}`);
});

test('bad seeds and states are GraftErrors', () => {
  assert.throws(
    () => new Rng(-1),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
  );
  assert.throws(() => new Rng(1.5), /non-negative integer/);
  assert.throws(
    () => Rng.fromState([0, 0, 0, 0]),
    (e: unknown) => e instanceof GraftError && e.code === 'CHECKPOINT',
  );
  assert.throws(() => Rng.fromState([1, 2, 3]), /invalid/);
});
