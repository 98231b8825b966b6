// The study runner on a slice of the committed Fashion-MNIST subset with the tiny test backbone: every
// run lands in study.json, subsets are stratified and seeded, and the test split is shared.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageItem } from '../data/node/images.js';
import { isGraftError } from '../errors.js';
import { parseStudy } from '../report/compare.js';
import { COMPARE_STRATEGIES, checkCompareStrategies, runCompare, subsample } from './compare.js';
import { strategyNames } from '../transfer/strategies/index.js';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';

let dir: string;
let model: string;
let data: string;

before(() => {
  dir = tempDir('graft-compare-');
  model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  data = fashionSlice(join(dir, 'data'), { train: 30, test: 5 });
});
after(removeTempDirs);

function items(perClass: Record<string, number>): ImageItem[] {
  const out: ImageItem[] = [];
  for (const [label, n] of Object.entries(perClass))
    for (let i = 0; i < n; i++) {
      const id = `${label}/${i}.png`;
      out.push({ id, label, hash: id, path: `/x/${id}`, split: 'train' } as ImageItem);
    }
  return out;
}

test('subsample: stratified per class, seeded, at least one image per class, fraction 1 keeps all', () => {
  const pool = items({ a: 100, b: 40, c: 3 });
  const s = subsample(pool, 0.1, 4);
  const count = (xs: ImageItem[], l: string) => xs.filter((x) => x.label === l).length;
  assert.deepEqual([count(s, 'a'), count(s, 'b'), count(s, 'c')], [10, 4, 1]);
  assert.deepEqual(
    subsample(pool, 0.1, 4).map((x) => x.id),
    s.map((x) => x.id),
  );
  assert.notDeepEqual(
    subsample(pool, 0.1, 5).map((x) => x.id),
    s.map((x) => x.id),
    'another seed draws other images',
  );
  assert.equal(subsample(pool, 1, 0).length, pool.length);
});

test('checkCompareStrategies: unknown and repeated names are user errors listing the valid ones', () => {
  assert.throws(
    () => checkCompareStrategies(['linear-probe', 'nope']),
    (e: unknown) => {
      assert.ok(isGraftError(e));
      assert.match(e.message, /Unknown strategy: nope/);
      assert.ok(e.fields.choices?.includes('linear-probe') && e.fields.choices.includes('prototype'));
      return true;
    },
  );
  assert.throws(() => checkCompareStrategies(['knn', 'knn']), /listed twice/);
  assert.deepEqual(COMPARE_STRATEGIES, strategyNames({ data: 'image' }));
  assert.ok(COMPARE_STRATEGIES.includes('scratch') && COMPARE_STRATEGIES.includes('fine-tune'));
});

test('runCompare: every strategy x fraction x seed in study.json, one shared test split, the HTML report', async () => {
  const events: string[] = [];
  const r = await runCompare({
    data,
    out: join(dir, 'study'),
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['linear-probe', 'prototype'],
    fractions: [1, 0.1],
    seeds: [0, 1],
    epochs: 15,
    env: { HOME: dir },
    cwd: dir,
    onEvent: (e) => {
      if (e.type === 'run-done') events.push(`${e.run.strategy}@${e.run.fraction}/${e.run.seed}`);
      if (e.type === 'train' && e.event.type === 'extract-done')
        events.push(`extract computed=${e.event.computed} reused=${e.event.reused}`);
    },
  });
  const study = parseStudy(readFileSync(r.studyFile, 'utf8'), r.studyFile);
  assert.deepEqual(study.fractions, [0.1, 1]);
  assert.equal(study.runs.length, 2 * 2 * 2);
  for (const s of ['linear-probe', 'prototype'])
    for (const f of [0.1, 1])
      for (const seed of [0, 1])
        assert.ok(study.runs.some((x) => x.strategy === s && x.fraction === f && x.seed === seed));
  const lp = study.runs.filter((x) => x.strategy === 'linear-probe');
  assert.ok(lp.every((x) => x.history.length === 15 && x.history.every((h) => h.valLoss !== undefined)));
  assert.ok(study.runs.filter((x) => x.strategy === 'prototype').every((x) => x.history.length === 0));
  assert.deepEqual([...new Set(study.runs.filter((x) => x.fraction === 0.1).map((x) => x.perClass))], [3]);
  assert.deepEqual([...new Set(study.runs.filter((x) => x.fraction === 1).map((x) => x.perClass))], [30]);
  // 10 classes: chance is 10%; the tiny backbone separates them well above it with all the data
  const full = lp.filter((x) => x.fraction === 1);
  assert.ok(
    full.every((x) => x.testAcc > 0.3),
    JSON.stringify(full.map((x) => x.testAcc)),
  );
  // each of the 350 images is embedded once in the whole study; every other use reads the cache
  const extracts = events.filter((e) => e.startsWith('extract'));
  assert.equal(extracts.length, 8);
  const computed = extracts.map((e) => Number(/computed=(\d+)/.exec(e)![1]));
  assert.equal(
    computed.reduce((a, b) => a + b, 0),
    350,
    extracts.join('\n'),
  );
  assert.equal(extracts[1], 'extract computed=0 reused=80', 'the second strategy on the same subset reuses all');
  // every run scored on the same 50 test images
  for (const x of study.runs) {
    const metrics = JSON.parse(
      readFileSync(
        join(dir, 'study', 'runs', `${x.strategy}-f${x.fraction * 100}-seed${x.seed}`, 'metrics.json'),
        'utf8',
      ),
    ) as { test: { numExamples: number } };
    assert.equal(metrics.test.numExamples, 50);
    assert.equal(
      existsSync(join(dir, 'study', 'runs', `${x.strategy}-f${x.fraction * 100}-seed${x.seed}`, 'model.onnx')),
      false,
    );
  }
  assert.ok(existsSync(r.reportFile));
  const html = readFileSync(r.reportFile, 'utf8');
  const charts = [...html.matchAll(/<figure class="chart" data-chart="([\w-]+)"><svg/g)].map((m) => m[1]);
  assert.deepEqual(charts, ['accuracy', 'loss', 'time']);
  assert.doesNotMatch(html, /Incomplete study/);
});

test('runCompare with auto: the study trains it beside the probe and fine-tune, and auto scores as the one it kept', async () => {
  const out = join(dir, 'auto');
  const r = await runCompare({
    data,
    out,
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['linear-probe', 'fine-tune', 'auto'],
    fractions: [1],
    seeds: [0],
    unfreeze: 'last:1',
    env: { HOME: dir },
    cwd: dir,
  });
  assert.deepEqual(
    r.study.runs.map((x) => x.strategy),
    ['linear-probe', 'fine-tune', 'auto'],
  );
  const acc = (s: string) => r.study.runs.find((x) => x.strategy === s)!.testAcc;
  const run = JSON.parse(readFileSync(join(out, 'runs', 'auto-f100-seed0', 'run.json'), 'utf8')) as {
    kept: { phase: string; reason: string; selection: { method: string; candidates: { name: string }[] } };
  };
  // 270 training images hold 30 for validation, fewer than a decision needs: cross-validation decided
  assert.equal(run.kept.selection.method, 'cross-validation');
  assert.deepEqual(
    run.kept.selection.candidates.map((c) => c.name),
    ['probe', 'fine-tune'],
  );
  assert.match(run.kept.reason, new RegExp(`^kept ${run.kept.phase}: accuracy`));
  // the same seed trains the same probe and the same fine-tune: auto's test accuracy is its kept one's (no
  // --epochs here: a study's --epochs would also set linear-probe's epochs, not those of auto's probe phase)
  assert.equal(
    acc('auto'),
    acc(run.kept.phase === 'probe' ? 'linear-probe' : 'fine-tune'),
    JSON.stringify([run.kept, r.study.runs.map((x) => [x.strategy, x.testAcc, x.history.length])]),
  );
  // the auto run's history holds both phases, as the report's curves shade them
  const phases = new Set(r.study.runs.find((x) => x.strategy === 'auto')!.history.map((h) => h.phase));
  assert.deepEqual([...phases], ['probe', 'fine-tune']);
});

test('scratch and full: trained through the fine-tuning recipe', async () => {
  const opts = {
    data,
    out: join(dir, 'weights'),
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['full', 'scratch'],
    fractions: [1],
    seeds: [0],
    epochs: 2,
    env: { HOME: dir },
    cwd: dir,
  };
  const r = await runCompare(opts);
  assert.deepEqual(
    r.study.runs.map((x) => [x.strategy, x.history.length]),
    [
      ['full', 2],
      ['scratch', 2],
    ],
  );
  assert.ok(r.study.runs.every((x) => x.testAcc >= 0 && x.seconds > 0));
  assert.ok(existsSync(r.reportFile));
});

test('runCompare: scratch settings and --unfreeze reach the runs, settings land in study.json, resume keeps finished runs', async () => {
  const out = join(dir, 'resume');
  const opts = {
    data,
    out,
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['fine-tune', 'full', 'scratch'],
    fractions: [1],
    seeds: [0],
    epochs: 2,
    scratchEpochs: 3,
    scratchInputSize: 16,
    inputSize: 24,
    unfreeze: 'last:1',
    env: { HOME: dir },
    cwd: dir,
  };
  const first = await runCompare(opts);
  const scratch = first.study.runs.find((x) => x.strategy === 'scratch')!;
  assert.equal(scratch.history.length, 3, 'scratch trains --scratch-epochs');
  // run.json records the input size each run trained at
  const size = (s: string) =>
    JSON.stringify(JSON.parse(readFileSync(join(out, 'runs', `${s}-f100-seed0`, 'run.json'), 'utf8')))
      .match(/"inputSize":\[(\d+),(\d+)\]/)
      ?.slice(1)
      .map(Number);
  assert.deepEqual(size('scratch'), [16, 16]);
  assert.deepEqual(size('fine-tune'), [24, 24]);
  const unfrozen = (s: string) =>
    (JSON.parse(readFileSync(join(out, 'runs', `${s}-f100-seed0`, 'finetune.json'), 'utf8')) as { unfreeze: string })
      .unfreeze;
  assert.deepEqual(
    ['fine-tune', 'full', 'scratch'].map(unfrozen),
    ['last:1', 'last:1', 'all'],
    '--unfreeze reaches fine-tune and full; scratch trains everything',
  );
  const saved = parseStudy(readFileSync(first.studyFile, 'utf8'), first.studyFile);
  assert.deepEqual(saved.settings, {
    'input size': 24,
    'scratch input size': 16,
    epochs: 2,
    'scratch epochs': 3,
    unfreeze: 'last:1',
    'val split': 0.1,
  });
  assert.match(readFileSync(first.reportFile, 'utf8'), /scratch input size 16/);

  // an interrupted study: one run's result is gone, the other kept
  rmSync(join(out, 'runs', 'scratch-f100-seed0', 'study-run.json'));
  const resumed: string[] = [];
  const second = await runCompare({
    ...opts,
    resume: true,
    onEvent: (e) => {
      if (e.type === 'run-done') resumed.push(`${e.run.strategy}:${e.resumed ? 'kept' : 'ran'}`);
    },
  });
  assert.deepEqual(resumed, ['fine-tune:kept', 'full:kept', 'scratch:ran']);
  const kept = second.study.runs.find((x) => x.strategy === 'fine-tune')!;
  assert.deepEqual(
    kept,
    first.study.runs.find((x) => x.strategy === 'fine-tune'),
  );
  // a result file that does not belong to its slot is refused, not silently reused
  writeFileSync(
    join(out, 'runs', 'fine-tune-f100-seed0', 'study-run.json'),
    JSON.stringify({ ...kept, strategy: 'scratch' }),
  );
  await assert.rejects(runCompare({ ...opts, resume: true }), /strategy/);
});
