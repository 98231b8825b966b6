// k-fold cross-validation of a head on cached features: out-of-fold logits for every labelled example, so a
// run whose validation split is too small to judge by can still calibrate (and choose) on held-out predictions.
import { GraftError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { type TrainHeadOptions, runHead, trainHead } from './pipeline-head.js';
import type { FeatureSet } from './prototype.js';

/** Folds used when a run cross-validates on its training data. */
export const DEFAULT_FOLDS = 5;

/**
 * Stratified fold assignment: each class's examples are shuffled (seeded) and dealt round-robin over the
 * folds, so every fold holds about 1/k of each class. Returns the fold of each example, 0..k-1. With at
 * least k examples per class (`foldCount` sees to it) every fold's training part holds every class.
 */
export function stratifiedFolds(labels: Int32Array, k: number, seed: number): Int32Array {
  if (!(Number.isInteger(k) && k >= 2)) {
    throw new GraftError('BAD_INPUT', 'Cross-validation needs at least 2 folds', { found: String(k) });
  }
  const fold = new Int32Array(labels.length);
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  });
  // one generator for the whole assignment, classes in label order: the result depends on the seed alone
  const rng = new Rng(seed * 7919 + 17);
  let offset = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    const order = rng.permutation(rows.length);
    // the round-robin start moves on with each class, so small classes do not all pile into fold 0
    order.forEach((r, j) => (fold[rows[r]!] = (offset + j) % k));
    offset = (offset + rows.length) % k;
  }
  return fold;
}

/** The number of folds to use for `count` examples: `wanted`, but never more folds than examples of the rarest class allows. */
export function foldCount(labels: Int32Array, wanted: number = DEFAULT_FOLDS): number {
  const counts = new Map<number, number>();
  for (const c of labels) counts.set(c, (counts.get(c) ?? 0) + 1);
  const rarest = Math.min(...counts.values());
  return Math.max(2, Math.min(wanted, rarest));
}

/** Rows of a feature set. */
export function featureRows(set: FeatureSet, rows: readonly number[]): FeatureSet {
  const features = new Float32Array(rows.length * set.dim);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    features.set(set.features.subarray(r * set.dim, (r + 1) * set.dim), i * set.dim);
    labels[i] = set.labels[r]!;
  });
  return { features, dim: set.dim, labels, numClasses: set.numClasses };
}

/** Two feature sets one after the other (train then val: the labelled pool a cross-validation splits). */
export function concatFeatures(a: FeatureSet, b?: FeatureSet): FeatureSet {
  if (!b) return a;
  const features = new Float32Array(a.features.length + b.features.length);
  features.set(a.features);
  features.set(b.features, a.features.length);
  const labels = new Int32Array(a.labels.length + b.labels.length);
  labels.set(a.labels);
  labels.set(b.labels, a.labels.length);
  return { features, dim: a.dim, labels, numClasses: a.numClasses };
}

export interface OutOfFold {
  /** logits of every example of the pool, each from the model trained without its fold ([n, classes]) */
  logits: Float32Array;
  labels: Int32Array;
  folds: number;
  seconds: number;
}

/**
 * Out-of-fold logits of a head: the pool is split into stratified folds, and for each fold the head is
 * trained (as `train` says, without a validation split: each fold's head keeps its last epoch) on the other
 * folds and scores the held-out one.
 */
export async function crossValidateHead(
  pool: FeatureSet,
  train: Omit<TrainHeadOptions, 'train' | 'val' | 'onEpoch'>,
  opts: { folds?: number; seed?: number } = {},
): Promise<OutOfFold> {
  const started = performance.now();
  const k = foldCount(pool.labels, opts.folds);
  const fold = stratifiedFolds(pool.labels, k, opts.seed ?? 0);
  const n = pool.labels.length;
  const classes = pool.numClasses;
  const logits = new Float32Array(n * classes);
  for (let f = 0; f < k; f++) {
    const inFold: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? inFold : rest).push(i);
    const trained = await trainHead({ ...train, train: featureRows(pool, rest), restoreBest: false });
    const held = featureRows(pool, inFold);
    const out = await runHead(trained.model, held.features, held.dim, { session: train.session });
    inFold.forEach((r, i) => logits.set(out.subarray(i * classes, (i + 1) * classes), r * classes));
  }
  return { logits, labels: pool.labels, folds: k, seconds: (performance.now() - started) / 1000 };
}
