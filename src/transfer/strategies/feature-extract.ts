import { FEATURE_OPTIONS, type Strategy } from './types.js';

export const featureExtract = {
  name: 'feature-extract',
  summary: 'an MLP head on frozen features',
  family: 'features',
  data: ['image', 'text'],
  heads: ['mlp', 'linear'],
  defaultHead: 'mlp:256',
  options: { image: FEATURE_OPTIONS, text: FEATURE_OPTIONS },
} as const satisfies Strategy;
