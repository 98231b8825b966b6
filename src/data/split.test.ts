import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { mulberry32 } from '../util/rng.js';
import { stratifiedSplit } from './split.js';

interface Item {
  id: string;
  label: string;
  group?: string;
}

function items(counts: Record<string, number>): Item[] {
  return Object.entries(counts).flatMap(([label, n]) =>
    Array.from({ length: n }, (_, i) => ({ id: `${label}/${String(i).padStart(4, '0')}`, label })),
  );
}

const split = (xs: Item[], seed: number, val = 0.2, test = 0.1) =>
  stratifiedSplit(
    xs,
    (t) => t.label,
    (t) => t.id,
    { val, test, seed },
    (t) => t.group ?? t.id,
  );

const ids = (xs: Item[]) => xs.map((x) => x.id).sort();

test('each class is split by the fractions (stratified) and nothing is lost or duplicated', () => {
  const xs = items({ cat: 100, dog: 50, owl: 10 });
  const s = split(xs, 1);
  const count = (part: Item[], label: string) => part.filter((x) => x.label === label).length;
  assert.deepEqual([count(s.train, 'cat'), count(s.val, 'cat'), count(s.test, 'cat')], [70, 20, 10]);
  assert.deepEqual([count(s.train, 'dog'), count(s.val, 'dog'), count(s.test, 'dog')], [35, 10, 5]);
  assert.deepEqual([count(s.train, 'owl'), count(s.val, 'owl'), count(s.test, 'owl')], [7, 2, 1]);
  assert.deepEqual(ids([...s.train, ...s.val, ...s.test]), ids(xs));
});

test('deterministic per seed, independent of input order, different across seeds', () => {
  const xs = items({ a: 40, b: 40 });
  const shuffled = [...xs];
  const r = mulberry32(99);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const s1 = split(xs, 5);
  const s2 = split(shuffled, 5);
  assert.deepEqual(
    s1.val.map((x) => x.id),
    s2.val.map((x) => x.id),
  );
  assert.deepEqual(
    s1.test.map((x) => x.id),
    s2.test.map((x) => x.id),
  );
  assert.notDeepEqual(ids(split(xs, 6).val), ids(s1.val));
});

test("adding a class does not move another class's examples", () => {
  const before = split(items({ a: 30, b: 30 }), 3);
  const after = split(items({ a: 30, b: 30, c: 30 }), 3);
  const only = (xs: Item[], l: string) => ids(xs.filter((x) => x.label === l));
  assert.deepEqual(only(after.val, 'a'), only(before.val, 'a'));
  assert.deepEqual(only(after.test, 'b'), only(before.test, 'b'));
});

test('small classes keep a training example and get evaluation examples when they can', () => {
  const s = split(items({ one: 1, two: 2, three: 3 }), 0, 0.1, 0.1);
  const where = (l: string) => [s.train, s.val, s.test].map((p) => p.filter((x) => x.label === l).length);
  assert.deepEqual(where('one'), [1, 0, 0]);
  assert.deepEqual(where('two'), [2, 0, 0]);
  assert.deepEqual(where('three'), [1, 1, 1]);
});

test('members of one group land in the same split', () => {
  const xs = items({ a: 60 }).map((x, i) => ({ ...x, group: `g${Math.floor(i / 3)}` }));
  const s = split(xs, 2, 0.3, 0.2);
  for (const part of [s.train, s.val, s.test]) {
    const groups = new Set(part.map((x) => x.group));
    for (const g of groups) assert.equal(part.filter((x) => x.group === g).length, 3, `group ${g} was cut`);
  }
});

test('bad fractions and seeds are CONFIG errors', () => {
  assert.throws(
    () => split(items({ a: 3 }), 1, 0.6, 0.5),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
  );
  assert.throws(() => split(items({ a: 3 }), 1.5), GraftError);
});
