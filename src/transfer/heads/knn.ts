import { knnHead as buildKnnHead } from '../knn.js';
import { type HeadKind, positiveInts } from './types.js';

export interface KnnHead {
  kind: 'knn';
  k: number;
}

export const DEFAULT_KNN_K = 5;

/** Cosine k-nearest neighbours over the stored training vectors. */
export const knnHead: HeadKind<KnnHead> = {
  name: 'knn',
  syntax: ['knn', 'knn:K'],
  summary: 'cosine k-nearest neighbours over the training vectors',
  parse: (arg, bad) => {
    const k = arg === undefined ? [DEFAULT_KNN_K] : positiveInts(arg, 'k', bad);
    return k.length === 1 ? { kind: 'knn', k: k[0]! } : bad('kNN takes one k');
  },
  format: (h) => `knn:${h.k}`,
  fit: {
    kind: 'closed-form',
    build: (set, h, io) => buildKnnHead(set, { k: h.k, ...io }),
    config: (h, set) => ({ k: Math.min(h.k, set.labels.length) }),
  },
};
