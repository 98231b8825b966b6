import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAD_KINDS, parseHeadChoice } from '../heads/index.js';
import { DEFAULT_STRATEGY, STRATEGIES, type Strategy, headForStrategy, strategyInfo, strategyNames } from './index.js';

test('every strategy is well formed: known heads, a parseable default head, phases for the weights family', () => {
  const names = new Set<string>();
  for (const s of STRATEGIES) {
    assert.ok(!names.has(s.name), `${s.name} listed once`);
    names.add(s.name);
    assert.ok(s.summary.length > 10, `${s.name} has a summary`);
    for (const h of s.heads)
      assert.ok(
        HEAD_KINDS.some((k) => k.name === h),
        `${s.name}: head kind ${h} exists`,
      );
    const head = headForStrategy(s.name);
    assert.ok((s.heads as readonly string[]).includes(head.kind), `${s.name}: its default head is one it trains`);
    for (const kind of s.data) assert.ok((s as Strategy).options[kind], `${s.name} lists its ${kind} options`);
    if (s.family === 'weights' && (s.data as readonly string[]).includes('image'))
      assert.equal(typeof (s as { phases?: unknown }).phases, 'function', `${s.name} plans phases`);
  }
  for (const [kind, name] of Object.entries(DEFAULT_STRATEGY))
    assert.ok((strategyInfo(name).data as readonly string[]).includes(kind));
});

test('filters and lookups: families, data kinds, and an unknown name listing the valid ones', () => {
  assert.deepEqual(strategyNames({ family: 'features' }), ['feature-extract', 'linear-probe', 'knn', 'prototype']);
  assert.deepEqual(strategyNames({ data: 'text' }), [
    'feature-extract',
    'linear-probe',
    'knn',
    'prototype',
    'fine-tune',
  ]);
  assert.deepEqual(strategyNames({ family: 'weights', data: 'image' }), [
    'fine-tune',
    'gradual',
    'lp-ft',
    'full',
    'scratch',
  ]);
  assert.throws(
    () => strategyInfo('gradual', { data: 'text' }),
    /Unknown text strategy 'gradual'[\s\S]*valid choices: feature-extract/,
  );
  assert.throws(() => strategyInfo('boost'), /Unknown strategy 'boost'/);
});

test('head kinds parse what they format, and aliases resolve', () => {
  for (const k of HEAD_KINDS)
    for (const text of k.syntax.filter((t) => !t.includes('K'))) assert.equal(parseHeadChoice(text).kind, k.name, text);
  assert.deepEqual(parseHeadChoice('logistic'), { kind: 'linear' });
  assert.deepEqual(parseHeadChoice('ncm'), { kind: 'prototype' });
});
