import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GraftError } from '../errors.js';
import { type Study, accuracySpread, lossCurves, parseStudy, renderCompareReport, wallTimes } from './compare.js';
import { writeCompareReport } from './node/command.js';
import { syntheticStudy } from './test-utils/synthetic-study.js';

const root = mkdtempSync(join(tmpdir(), 'graft-compare-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Two strategies, two fractions, two seeds: small enough to check every number by hand. */
function handStudy(): Study {
  const h = (losses: number[]) =>
    losses.map((v, i) => ({ epoch: i + 1, trainLoss: v + 1, valLoss: v, lr: 0.1, seconds: 1 }));
  return {
    model: 'm',
    strategies: ['probe', 'tune'],
    fractions: [0.5, 1],
    seeds: [1, 2],
    runs: [
      { strategy: 'probe', fraction: 0.5, perClass: 5, seed: 1, testAcc: 0.6, history: h([1, 0.8]), seconds: 2 },
      { strategy: 'probe', fraction: 0.5, perClass: 5, seed: 2, testAcc: 0.7, history: h([1.2, 0.6]), seconds: 4 },
      { strategy: 'probe', fraction: 1, perClass: 10, seed: 1, testAcc: 0.75, history: h([0.9, 0.5]), seconds: 3 },
      { strategy: 'probe', fraction: 1, perClass: 10, seed: 2, testAcc: 0.8, history: h([1.1, 0.7]), seconds: 5 },
      { strategy: 'tune', fraction: 0.5, perClass: 5, seed: 1, testAcc: 0.5, history: [], seconds: 10 },
      { strategy: 'tune', fraction: 0.5, perClass: 5, seed: 2, testAcc: 0.55, history: [], seconds: 12 },
      {
        strategy: 'tune',
        fraction: 1,
        perClass: 10,
        seed: 1,
        testAcc: 0.9,
        history: [{ epoch: 1, trainLoss: 2, lr: 0.1, seconds: 1 }],
        seconds: 20,
      },
    ],
  };
}

describe('study aggregates', () => {
  it('accuracy: mean, min and max over seeds per strategy and fraction', () => {
    const points = accuracySpread(handStudy());
    const at = (s: string, f: number) => points.find((p) => p.strategy === s && p.fraction === f)!;
    assert.equal(points.length, 4);
    assert.deepEqual(
      { ...at('probe', 0.5), mean: Number(at('probe', 0.5).mean.toFixed(12)) },
      { strategy: 'probe', fraction: 0.5, perClass: 5, mean: 0.65, min: 0.6, max: 0.7, n: 2 },
    );
    assert.deepEqual(at('tune', 1), {
      strategy: 'tune',
      fraction: 1,
      perClass: 10,
      mean: 0.9,
      min: 0.9,
      max: 0.9,
      n: 1,
    });
  });

  it('loss curves: validation loss per epoch, training loss where no run recorded one', () => {
    const { points, metric } = lossCurves(handStudy(), 1);
    assert.deepEqual(Object.fromEntries(metric), { probe: 'valLoss', tune: 'trainLoss' });
    const probe = points.filter((p) => p.strategy === 'probe');
    assert.deepEqual(
      probe.map((p) => [p.epoch, p.mean, p.min, p.max]),
      [
        [1, 1, 0.9, 1.1],
        [2, 0.6, 0.5, 0.7],
      ],
    );
    assert.deepEqual(
      points.filter((p) => p.strategy === 'tune').map((p) => [p.epoch, p.mean]),
      [[1, 2]],
    );
  });

  it('wall times per strategy and fraction', () => {
    const t = wallTimes(handStudy());
    assert.deepEqual(
      t.map((x) => [x.strategy, x.fraction, x.mean, x.min, x.max]),
      [
        ['probe', 0.5, 3, 2, 4],
        ['probe', 1, 4, 3, 5],
        ['tune', 0.5, 11, 10, 12],
        ['tune', 1, 20, 20, 20],
      ],
    );
  });
});

describe('parseStudy', () => {
  it('round-trips a study', () => {
    const s = syntheticStudy();
    assert.deepEqual(parseStudy(JSON.stringify(s)), s);
  });

  // any: the cases write wrong values into the parsed JSON on purpose
  const cases: [string, (s: any) => void, string[]][] = [
    ['an unknown strategy', (s) => (s.runs[2].strategy = 'lora'), ['runs[2].strategy', 'one of strategies', '"lora"']],
    ['an unlisted fraction', (s) => (s.runs[0].fraction = 0.3), ['runs[0].fraction', 'one of fractions']],
    ['an accuracy above 1', (s) => (s.runs[1].testAcc = 93), ['runs[1].testAcc', '<= 1']],
    ['a bad history row', (s) => (s.runs[1].history[0].epoch = 0), ['runs[1].history', 'epoch', '>= 1']],
    ['no runs', (s) => (s.runs = []), ['runs', 'at least one run']],
  ];
  for (const [what, change, fragments] of cases) {
    it(`names ${what}`, () => {
      const s = JSON.parse(JSON.stringify(handStudy()));
      change(s);
      assert.throws(
        () => parseStudy(JSON.stringify(s), 'study.json'),
        (e: unknown) => {
          assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT');
          for (const f of fragments) assert.ok(e.message.includes(f), `message lacks "${f}":\n${e.message}`);
          return true;
        },
      );
    });
  }
});

describe('renderCompareReport', () => {
  it('has the three charts, the accuracy table with the best strategy in bold, and no external reference', async () => {
    const study = syntheticStudy();
    const html = await renderCompareReport(study);
    const names = [...html.matchAll(/<figure class="chart" data-chart="([\w-]+)"><svg/g)].map((m) => m[1]);
    assert.deepEqual(names, ['accuracy', 'loss', 'time']);
    assert.doesNotMatch(html, /https?:\/\/|<script|<link/);
    for (const s of study.strategies) assert.ok(html.includes(`<td>${s}</td>`), s);
    // the table's bold cell in each column is the highest mean accuracy
    const acc = accuracySpread(study);
    for (const f of study.fractions) {
      const best = acc.filter((p) => p.fraction === f).sort((a, b) => b.mean - a.mean)[0]!;
      assert.ok(html.includes(`<b>${(best.mean * 100).toFixed(1)}%`), `best at ${f}`);
    }
    // one band and one line per strategy in the accuracy chart, one point per strategy and size
    const accSvg = html.slice(html.indexOf('data-chart="accuracy"'), html.indexOf('data-chart="loss"'));
    assert.equal(accSvg.match(/aria-roledescription="area mark"/g)?.length, study.strategies.length);
    assert.equal(accSvg.match(/aria-roledescription="line mark"/g)?.length, study.strategies.length);
    assert.equal(
      accSvg.match(/aria-roledescription="point"/g)?.length,
      study.strategies.length * study.fractions.length,
    );
    const timeSvg = html.slice(html.indexOf('data-chart="time"'));
    assert.equal(
      timeSvg.match(/aria-roledescription="bar"/g)?.length,
      study.strategies.length * study.fractions.length,
    );
  });

  it('says which planned runs are missing', async () => {
    const html = await renderCompareReport(handStudy());
    assert.ok(html.includes('1 of 8 planned runs are missing: tune @ 1 seed 2'));
    assert.ok(html.includes('tune: training loss (no validation loss recorded)'));
  });

  it('writeCompareReport writes compare.html beside study.json', async () => {
    const file = join(root, 'study.json');
    writeFileSync(file, JSON.stringify(syntheticStudy()));
    const out = await writeCompareReport(file);
    assert.equal(out.file, join(root, 'compare.html'));
    const html = readFileSync(out.file, 'utf8');
    assert.equal(Buffer.byteLength(html), out.bytes);
    assert.match(html, /^<!doctype html>/);
    await assert.rejects(writeCompareReport(join(root, 'missing.json')), /Cannot read the study file/);
  });
});
