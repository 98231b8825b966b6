import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GraftError } from '../../errors.js';
import { getOptimizer, listOptimizers, OPTIMIZERS } from './registry.js';
import { globToRegExp } from './groups.js';
import type { Optimizer, OptimizerOptions } from './types.js';

const PARAMS = [
  { name: 'W', dims: [2, 3] },
  { name: 'b', dims: [3] },
];

function attached(name: string, opts: OptimizerOptions): Optimizer {
  const o = getOptimizer(name, opts);
  o.attach(PARAMS);
  return o;
}

function close(actual: Float32Array, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= tol, `${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (diff ${d})`);
  }
}

test('SGD: one plain step is p - lr*g, exactly as computed by hand', () => {
  const o = attached('sgd', { lr: 0.5 });
  const p = { W: Float32Array.of(1, 2, 3, 4, 5, 6), b: Float32Array.of(1, 1, 1) };
  o.step(p, { W: Float32Array.of(1, -1, 0.5, 0, 2, -2), b: Float32Array.of(0.25, 0, -0.5) });
  assert.deepEqual([...p.W], [0.5, 2.5, 2.75, 4, 4, 7]);
  assert.deepEqual([...p.b], [0.875, 1, 1.25]);
});

test('SGD momentum and Nesterov: two steps match the formulas worked by hand', () => {
  // heavy ball, mu = 0.5, lr = 1: b1 = g1 = 2; p1 = 10 - 2 = 8; b2 = 0.5*2 + 4 = 5; p2 = 8 - 5 = 3
  const heavy = getOptimizer('sgd', { lr: 1, momentum: 0.5 });
  heavy.attach([{ name: 'x', dims: [1, 1] }]);
  const x = { x: Float32Array.of(10) };
  heavy.step(x, { x: Float32Array.of(2) });
  assert.equal(x.x[0], 8);
  heavy.step(x, { x: Float32Array.of(4) });
  assert.equal(x.x[0], 3);
  // Nesterov: d1 = g1 + mu*b1 = 2 + 1 = 3, p1 = 7; b2 = 5, d2 = 4 + 2.5 = 6.5, p2 = 0.5
  const nest = getOptimizer('nesterov', { lr: 1, momentum: 0.5 });
  nest.attach([{ name: 'x', dims: [1, 1] }]);
  const y = { x: Float32Array.of(10) };
  nest.step(y, { x: Float32Array.of(2) });
  assert.equal(y.x[0], 7);
  nest.step(y, { x: Float32Array.of(4) });
  assert.equal(y.x[0], 0.5);
});

test('Adam: the first step moves each weight by lr against the sign of its gradient (bias correction)', () => {
  const o = attached('adam', { lr: 0.01 });
  const p = { W: Float32Array.of(1, 1, 1, 1, 1, 1), b: Float32Array.of(0, 0, 0) };
  o.step(p, { W: Float32Array.of(3, -0.001, 100, -5, 1, 0.5), b: Float32Array.of(1, -1, 2) });
  close(p.W, [0.99, 1.01, 0.99, 1.01, 0.99, 0.99], 2e-7, 'W');
  close(p.b, [-0.01, 0.01, -0.01], 2e-7, 'b');
});

interface Reference {
  W0: number[][];
  b0: number[];
  grads: [number[][], number[]][];
  cases: Record<string, { scales: number[]; steps: { W: number[]; b: number[] }[] }>;
}
const REF = JSON.parse(
  readFileSync(new URL('../test-fixtures/torch-optim-reference.json', import.meta.url), 'utf8'),
) as Reference;

const CASES: Record<string, [string, OptimizerOptions]> = {
  sgd_momentum_wd: ['sgd', { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }],
  sgd_nesterov_wd: ['nesterov', { lr: 0.1, weightDecay: 0.01 }],
  sgd_dampening: ['sgd', { lr: 0.1, momentum: 0.9, dampening: 0.1 }],
  sgd_groups: [
    'sgd',
    {
      lr: 0.1,
      momentum: 0.5,
      groups: [
        { name: 'bias', params: ['b'], lr: 0.5 },
        { name: 'weights', params: 'W*', lrMultiplier: 2 },
      ],
    },
  ],
  adam_l2: ['adam', { lr: 0.01, weightDecay: 0.1 }],
  adamw: ['adamw', { lr: 0.01, weightDecay: 0.1 }],
  adamw_decay_1d: ['adamw', { lr: 0.01, weightDecay: 0.1, weightDecayOn1d: true }],
  adamw_scaled: ['adamw', { lr: 0.01, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-6 }],
};

for (const [name, [kind, opts]] of Object.entries(CASES)) {
  test(`${name}: three steps match torch.optim (reference file)`, () => {
    const ref = REF.cases[name]!;
    assert.ok(ref, `reference case ${name} exists`);
    const o = attached(kind, opts);
    const p = { W: Float32Array.from(REF.W0.flat()), b: Float32Array.from(REF.b0) };
    REF.grads.forEach(([gw, gb], i) => {
      o.step(p, { W: Float32Array.from(gw.flat()), b: Float32Array.from(gb) }, ref.scales[i]);
      close(p.W, ref.steps[i]!.W, 1e-6, `${name} step ${i + 1} W`);
      close(p.b, ref.steps[i]!.b, 1e-6, `${name} step ${i + 1} b`);
    });
  });
}

test('AdamW: 1-d parameters get no weight decay by default; groups and the opt-in change that', () => {
  const o = attached('adamw', { lr: 0.1, weightDecay: 0.5 });
  assert.deepEqual(
    o.paramSettings().map((s) => [s.name, s.group, s.lr, s.weightDecay]),
    [
      ['W', 'default', 0.1, 0.5],
      ['b', 'default', 0.1, 0],
    ],
  );
  // with a zero gradient Adam's step is zero, so only decoupled decay moves weights: p * (1 - lr*wd)
  const p = { W: new Float32Array(6).fill(2), b: new Float32Array(3).fill(2) };
  o.step(p, { W: new Float32Array(6), b: new Float32Array(3) });
  close(p.W, Array(6).fill(2 * (1 - 0.05)), 1e-7, 'W decayed');
  assert.deepEqual([...p.b], [2, 2, 2]);
  const grouped = attached('adamw', { weightDecay: 0.5, groups: [{ params: /^b$/, weightDecay: 0.1 }] });
  assert.equal(grouped.paramSettings().find((s) => s.name === 'b')!.weightDecay, 0.1);
  const all = attached('adamw', { weightDecay: 0.5, weightDecayOn1d: true });
  assert.equal(all.paramSettings().find((s) => s.name === 'b')!.weightDecay, 0.5);
});

test('optimizer state round-trips: stepping after loadState equals stepping straight through', () => {
  for (const kind of listOptimizers()) {
    const straight = attached(kind, {});
    const p1 = { W: Float32Array.from(REF.W0.flat()), b: Float32Array.from(REF.b0) };
    const grads = REF.grads.map(([gw, gb]) => ({ W: Float32Array.from(gw.flat()), b: Float32Array.from(gb) }));
    straight.step(p1, grads[0]!);
    straight.step(p1, grads[1]!);
    const saved = straight.state();
    const p2 = { W: p1.W.slice(), b: p1.b.slice() };
    straight.step(p1, grads[2]!);
    const resumed = attached(kind, {});
    resumed.loadState(saved);
    resumed.step(p2, grads[2]!);
    assert.deepEqual([...p2.W], [...p1.W], kind);
    assert.deepEqual([...p2.b], [...p1.b], kind);
    assert.throws(
      () => attached(kind === 'adam' ? 'sgd' : 'adam', {}).loadState(saved),
      (e: unknown) => e instanceof GraftError && e.code === 'CHECKPOINT',
    );
  }
});

test('hyper-parameters change through setHyper, with unknown names and bad values rejected', () => {
  const o = attached('adamw', { lr: 0.1 });
  o.setHyper({ lr: 0.01, beta1: 0.5 });
  assert.equal(o.hyper.lr, 0.01);
  assert.equal(o.hyper.beta1, 0.5);
  assert.throws(
    () => o.setHyper({ momentum: 0.9 }),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && e.fields.choices!.includes('beta2'),
  );
  assert.throws(() => o.setHyper({ beta2: 1 }), /out of range[\s\S]*expected: >= 0 and < 1/);
  assert.throws(() => o.setHyper({ lr: -1 }), /out of range/);
});

test('the registry lists optimizers with capabilities, and rejects unknown names and options', () => {
  assert.deepEqual(listOptimizers(), ['sgd', 'momentum', 'nesterov', 'adam', 'adamw']);
  const adamw = OPTIMIZERS.find((o) => o.name === 'adamw')!;
  assert.equal(adamw.capabilities.decoupledWeightDecay, true);
  assert.equal(adamw.defaults.weightDecay, 0.01);
  assert.equal(getOptimizer('AdamW').kind, 'adamw');
  assert.throws(
    () => getOptimizer('lamb'),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && e.fields.choices!.includes('adamw'),
  );
  assert.throws(() => getOptimizer('adam', { momentum: 0.9 }), /Optimizer 'adam' has no option 'momentum'/);
  assert.throws(() => getOptimizer('sgd', { nesterov: true }), /Nesterov momentum needs momentum > 0/);
});

test('parameter groups: globs, lists and regexps select by name; a group that selects nothing is an error', () => {
  assert.ok(globToRegExp('head.*').test('head.fc.weight'));
  assert.ok(!globToRegExp('head.*').test('headx'));
  assert.ok(globToRegExp('*.bias').test('layer1.0.bias'));
  assert.ok(globToRegExp('conv?').test('conv1') && !globToRegExp('conv?').test('conv12'));
  const o = getOptimizer('sgd', { groups: [{ name: 'typo', params: 'head.*' }] });
  assert.throws(
    () => o.attach(PARAMS),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && /'typo' selects no parameter/.test(e.message),
  );
  const listed = getOptimizer('sgd', { groups: [{ params: ['W', 'nope'] }] });
  assert.throws(() => listed.attach(PARAMS), /names parameters that are not trainable[\s\S]*found:\s+nope/);
  const first = getOptimizer('sgd', {
    lr: 1,
    groups: [
      { params: /.*/, lr: 0.3 },
      { params: ['b'], lr: 0.7 },
    ],
  });
  assert.throws(() => first.attach(PARAMS), /'group 1' selects no parameter/, 'a parameter belongs to the first group');
});

test('stepping checks gradient sizes', () => {
  const o = attached('sgd', {});
  assert.throws(
    () =>
      o.step({ W: new Float32Array(6), b: new Float32Array(3) }, { W: new Float32Array(5), b: new Float32Array(3) }),
    (e: unknown) => e instanceof GraftError && e.code === 'SHAPE_MISMATCH',
  );
});

test('L2-SP anchor: anchored weights decay towards their anchor, not towards 0; the rest keep weight decay', () => {
  // zero gradients isolate the decay. AdamW (decoupled), lr 0.1, strength 2: p = a + (p - a)(1 - 0.2)
  const anchor = { W: Float32Array.of(1, 1, 1, 1, 1, 1) };
  const o = attached('adamw', { lr: 0.1, weightDecay: 0.5, anchor: { strength: 2, values: anchor } });
  const p = { W: Float32Array.of(2, 0, 1, 3, -1, 1.5), b: Float32Array.of(4, 4, 4) };
  const zero = { W: new Float32Array(6), b: new Float32Array(3) };
  o.step(p, zero);
  close(p.W, [1.8, 0.2, 1, 2.6, -0.6, 1.4], 1e-6, 'W pulled to 1');
  // b is 1-d: no decay by default, and no anchor
  assert.deepEqual([...p.b], [4, 4, 4]);
  // weight decay applies where there is no anchor: a 2-d parameter without an anchor value shrinks to 0
  const o2 = attached('adamw', { lr: 0.1, weightDecay: 0.5, anchor: { strength: 2, values: {} } });
  const q = { W: Float32Array.of(2, 2, 2, 2, 2, 2), b: Float32Array.of(1, 1, 1) };
  o2.step(q, zero);
  close(q.W, [1.9, 1.9, 1.9, 1.9, 1.9, 1.9], 1e-6, 'W decayed by lr * wd');
  // coupled (Adam, SGD): the pull s * (p - a) is added to the gradient
  const sgd = attached('sgd', { lr: 0.1, anchor: { strength: 2, values: anchor } });
  const r = { W: Float32Array.of(2, 0, 1, 3, -1, 1.5), b: Float32Array.of(0, 0, 0) };
  sgd.step(r, { W: Float32Array.of(1, 1, 1, 1, 1, 1), b: new Float32Array(3) });
  // p - 0.1 * (g + 2 (p - 1))
  close(r.W, [1.7, 0.1, 0.9, 2.5, -0.7, 1.3], 1e-6, 'SGD W');
  // an anchor of no trainable parameter, or of the wrong size, is a CONFIG error naming it
  assert.throws(
    () => attached('adamw', { anchor: { strength: 1, values: { nope: new Float32Array(1) } } }),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && /'nope'/.test(e.message),
  );
  assert.throws(() => attached('adamw', { anchor: { strength: 1, values: { W: new Float32Array(2) } } }), /'W'/);
  assert.throws(() => attached('adamw', { anchor: { strength: -1, values: {} } }), /anchor strength/);
  // strength 0 with an anchor: no decay at all for the anchored parameter
  const free = attached('adamw', { lr: 0.1, weightDecay: 0.5, anchor: { strength: 0, values: anchor } });
  const s = { W: Float32Array.of(2, 2, 2, 2, 2, 2), b: Float32Array.of(1, 1, 1) };
  free.step(s, zero);
  assert.deepEqual([...s.W], [2, 2, 2, 2, 2, 2]);
  assert.deepEqual((o.describe() as { anchor: unknown }).anchor, { strength: 2, params: 1 });
});
