import { FEATURE_OPTIONS, type Strategy } from './types.js';

export const knn = {
  name: 'knn',
  summary: 'cosine k-nearest neighbours on frozen features',
  family: 'features',
  data: ['image', 'text'],
  heads: ['knn'],
  options: { image: FEATURE_OPTIONS, text: FEATURE_OPTIONS },
} as const satisfies Strategy;
