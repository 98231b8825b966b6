import { prototypeHead as buildPrototypeHead } from '../prototype.js';
import type { HeadKind } from './types.js';

export interface PrototypeHead {
  kind: 'prototype';
}

/** Nearest class mean (cosine), for few-shot data. */
export const prototypeHead: HeadKind<PrototypeHead> = {
  name: 'prototype',
  aliases: ['ncm'],
  syntax: ['prototype'],
  summary: 'nearest class mean (cosine), for a few examples per class',
  parse: (arg, bad) => (arg !== undefined ? bad('a prototype head takes no argument') : { kind: 'prototype' }),
  format: () => 'prototype',
  fit: {
    kind: 'closed-form',
    build: (set, _h, io) => buildPrototypeHead(set, io),
    config: () => ({}),
  },
};
