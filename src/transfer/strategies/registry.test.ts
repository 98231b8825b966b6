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
    'auto',
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

test("auto runs fine-tune's phases and is the only strategy that keeps the better of its probe and its final model", () => {
  const auto = strategyInfo('auto');
  const ft = strategyInfo('fine-tune');
  assert.equal(auto.keepsBetter, true);
  assert.equal(auto.phases, ft.phases);
  assert.equal(auto.defaultUnfreeze, ft.defaultUnfreeze);
  assert.deepEqual(
    STRATEGIES.filter((s) => (s as Strategy).keepsBetter).map((s) => s.name),
    ['auto'],
  );
  // the probe-starting strategies read --probe-epochs; gradual keeps its short --head-epochs warm-up
  for (const name of ['fine-tune', 'auto', 'lp-ft'])
    assert.ok(strategyInfo(name).options.image!.includes('probeEpochs'), name);
  assert.ok(!strategyInfo('fine-tune').options.image!.includes('headEpochs'));
  assert.ok(strategyInfo('gradual').options.image!.includes('headEpochs'));
  // pretrained weights can be anchored; a network trained from scratch has none to anchor to
  for (const name of ['fine-tune', 'auto', 'lp-ft', 'gradual', 'full'])
    assert.ok(strategyInfo(name).options.image!.includes('anchor'), name);
  assert.ok(!strategyInfo('scratch').options.image!.includes('anchor'));
});
