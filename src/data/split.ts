import { GraftError } from '../errors.js';
import { mulberry32 } from '../util/rng.js';
import { compareCodePoints } from './labels.js';
import type { Split } from './report.js';

export interface SplitOptions {
  /** fraction of each class for validation, in [0, 1) */
  val?: number;
  /** fraction of each class for testing, in [0, 1) */
  test?: number;
  seed: number;
}

/**
 * Seeded stratified split: each class is shuffled on its own and cut by the fractions, so class
 * proportions hold in every split. The result depends only on the seed, the keys and the labels - not on
 * input order - and each class's shuffle is seeded by the class name too, so adding a class does not
 * reshuffle the others. Items sharing a group key (e.g. the same content hash) always land together,
 * which keeps copies of one file from leaking across splits. Every class keeps at least one training
 * example; a class with at least 3 groups gets at least one in each requested evaluation split.
 */
export function stratifiedSplit<T>(
  items: readonly T[],
  labelOf: (t: T) => string,
  keyOf: (t: T) => string,
  opts: SplitOptions,
  groupOf: (t: T) => string = keyOf,
): Record<Split, T[]> {
  const val = opts.val ?? 0;
  const test = opts.test ?? 0;
  if (!(val >= 0 && test >= 0 && val + test < 1)) {
    throw new GraftError('CONFIG', 'Invalid split fractions', {
      expected: 'val >= 0, test >= 0 and val + test < 1',
      found: `val ${val}, test ${test}`,
      fix: 'use e.g. { val: 0.1, test: 0.1 }',
    });
  }
  if (!Number.isInteger(opts.seed)) {
    throw new GraftError('CONFIG', 'A split seed must be an integer', { found: String(opts.seed), fix: 'use e.g. 42' });
  }
  // class -> group -> members
  const classes = new Map<string, Map<string, T[]>>();
  for (const t of items) {
    const label = labelOf(t);
    let groups = classes.get(label);
    if (!groups) classes.set(label, (groups = new Map()));
    const g = groupOf(t);
    const members = groups.get(g) ?? [];
    members.push(t);
    groups.set(g, members);
  }
  const out: Record<Split, T[]> = { train: [], val: [], test: [] };
  for (const label of [...classes.keys()].sort(compareCodePoints)) {
    const groups = classes.get(label)!;
    const ids = [...groups.keys()].sort(compareCodePoints);
    const rng = mulberry32((opts.seed ^ fnv1a(label)) >>> 0);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const n = ids.length;
    let nTest = Math.min(Math.round(n * test), n - 1);
    if (test > 0 && nTest === 0 && n >= 3) nTest = 1;
    let nVal = Math.min(Math.round(n * val), n - 1 - nTest);
    if (val > 0 && nVal === 0 && n >= 3 && n - nTest >= 2) nVal = 1;
    ids.forEach((id, k) => {
      const split: Split = k < nTest ? 'test' : k < nTest + nVal ? 'val' : 'train';
      const members = [...groups.get(id)!].sort((a, b) => compareCodePoints(keyOf(a), keyOf(b)));
      out[split].push(...members);
    });
  }
  return out;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable per-class seed offset. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
