import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRATEGIES, type Strategy } from '../transfer/strategies/index.js';
import { COMMANDS } from './commands.js';
import { DATA_KIND_OPTIONS } from './train-flags.js';

test('every setting the strategy registry and the data kinds name is a flag of graft train', () => {
  const train = COMMANDS.find((c) => c.path.join(' ') === 'train')!;
  const named = [
    ...Object.values(DATA_KIND_OPTIONS).flat(),
    ...STRATEGIES.flatMap((s) => Object.values(s.options as Strategy['options']).flat()),
  ];
  for (const key of named) assert.ok(key in train.options, `'${key}' is an option of graft train`);
});
