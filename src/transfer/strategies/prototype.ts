import { FEATURE_OPTIONS, type Strategy } from './types.js';

export const prototype = {
  name: 'prototype',
  summary: 'nearest class mean on frozen features (few-shot)',
  family: 'features',
  data: ['image', 'text'],
  heads: ['prototype'],
  options: { image: FEATURE_OPTIONS, text: FEATURE_OPTIONS },
} as const satisfies Strategy;
