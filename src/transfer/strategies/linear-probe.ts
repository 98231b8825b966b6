import { FEATURE_OPTIONS, type Strategy } from './types.js';

export const linearProbe = {
  name: 'linear-probe',
  summary: 'logistic regression on frozen features (a linear layer)',
  family: 'features',
  data: ['image', 'text'],
  heads: ['linear'],
  options: { image: FEATURE_OPTIONS, text: FEATURE_OPTIONS },
} as const satisfies Strategy;
