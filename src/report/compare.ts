/**
 * The output of `graft compare`: several transfer strategies trained on growing fractions of the
 * labelled data, each with several seeds, all evaluated on the same test split. Written as one
 * study.json; `renderCompareReport` turns it into a self-contained HTML page. Browser-safe.
 */
import type { TopLevelSpec } from 'vega-lite';
import { PALETTE, renderChart } from './charts.js';
import { cards, count, duration, esc, figure, page, pct, section, table, when } from './page.js';
import type { HistoryRow } from './run-folder.js';
import { parseHistory } from './run-folder.js';
import { type Where, array, invalid, join, number, object, optionalString, parseJsonText, string } from './validate.js';

export interface Study {
  /** zoo name or path of the backbone every run started from */
  model: string;
  /** in the order they should be listed */
  strategies: string[];
  /** fractions of the training split used, ascending, in (0, 1] */
  fractions: number[];
  seeds: number[];
  runs: StudyRun[];
  /** data set as given to graft compare */
  data?: string;
  /** settings shared by the runs (input size, epochs, unfreeze, ...), shown in the report */
  settings?: Record<string, string | number>;
  graftVersion?: string;
  /** ISO 8601 */
  createdAt?: string;
}

export interface StudyRun {
  strategy: string;
  fraction: number;
  /** labelled training examples per class at this fraction (the mean over classes when they differ) */
  perClass: number;
  seed: number;
  /** accuracy on the full test split */
  testAcc: number;
  /** one row per epoch, as history.jsonl of a run folder; empty for heads fitted without training */
  history: HistoryRow[];
  /** wall time of the run: features (if not shared), training and evaluation */
  seconds: number;
}

const where = (file: string): Where => ({ file, writer: 'graft compare' });

export function parseStudy(text: string, file = 'study.json'): Study {
  const w = where(file);
  const o = object(parseJsonText(text, w), w, '');
  const strategies = array(o.strategies, w, 'strategies', (v, p) => string(v, w, p));
  const fractions = array(o.fractions, w, 'fractions', (v, p) => number(v, w, p, { min: 0, max: 1 }));
  const seeds = array(o.seeds, w, 'seeds', (v, p) => number(v, w, p, { integer: true }));
  if (strategies.length === 0) invalid(w, 'strategies', 'at least one strategy', o.strategies);
  if (fractions.length === 0) invalid(w, 'fractions', 'at least one fraction', o.fractions);
  if (seeds.length === 0) invalid(w, 'seeds', 'at least one seed', o.seeds);
  const runs = array(o.runs, w, 'runs', (v, p): StudyRun => {
    const r = object(v, w, p);
    const strategy = string(r.strategy, w, join(p, 'strategy'));
    if (!strategies.includes(strategy))
      invalid(w, join(p, 'strategy'), `one of strategies: ${strategies.join(', ')}`, strategy);
    const fraction = number(r.fraction, w, join(p, 'fraction'));
    if (!fractions.includes(fraction))
      invalid(w, join(p, 'fraction'), `one of fractions: ${fractions.join(', ')}`, fraction);
    const seed = number(r.seed, w, join(p, 'seed'), { integer: true });
    if (!seeds.includes(seed)) invalid(w, join(p, 'seed'), `one of seeds: ${seeds.join(', ')}`, seed);
    const history = array(r.history, w, join(p, 'history'), (x) => x);
    return {
      strategy,
      fraction,
      perClass: number(r.perClass, w, join(p, 'perClass'), { min: 0 }),
      seed,
      testAcc: number(r.testAcc, w, join(p, 'testAcc'), { min: 0, max: 1 }),
      history: parseHistory(history.map((h) => JSON.stringify(h)).join('\n'), `${file} ${join(p, 'history')}`),
      seconds: number(r.seconds, w, join(p, 'seconds'), { min: 0 }),
    };
  });
  if (runs.length === 0) invalid(w, 'runs', 'at least one run', o.runs);
  const study: Study = { model: string(o.model, w, 'model'), strategies, fractions, seeds, runs };
  const data = optionalString(o.data, w, 'data');
  if (data !== undefined) study.data = data;
  if (o.settings !== undefined) {
    const settings = object(o.settings, w, 'settings');
    study.settings = {};
    for (const [k, v] of Object.entries(settings)) {
      if (typeof v !== 'string' && typeof v !== 'number') invalid(w, join('settings', k), 'a string or a number', v);
      study.settings[k] = v as string | number;
    }
  }
  const graftVersion = optionalString(o.graftVersion, w, 'graftVersion');
  if (graftVersion !== undefined) study.graftVersion = graftVersion;
  const createdAt = optionalString(o.createdAt, w, 'createdAt');
  if (createdAt !== undefined) study.createdAt = createdAt;
  return study;
}

export interface Spread {
  mean: number;
  min: number;
  max: number;
  n: number;
}

export interface AccuracyPoint extends Spread {
  strategy: string;
  fraction: number;
  perClass: number;
}

function spread(values: readonly number[]): Spread {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { mean: sum / values.length, min, max, n: values.length };
}

/** Test accuracy per strategy and fraction over seeds: mean and min/max. */
export function accuracySpread(study: Study): AccuracyPoint[] {
  const out: AccuracyPoint[] = [];
  for (const strategy of study.strategies) {
    for (const fraction of study.fractions) {
      const runs = study.runs.filter((r) => r.strategy === strategy && r.fraction === fraction);
      if (runs.length === 0) continue;
      const perClass = runs.reduce((s, r) => s + r.perClass, 0) / runs.length;
      out.push({ strategy, fraction, perClass, ...spread(runs.map((r) => r.testAcc)) });
    }
  }
  return out;
}

export interface CurvePoint extends Spread {
  strategy: string;
  epoch: number;
}

/**
 * Validation loss per epoch at one fraction, over seeds; falls back to the training loss for a
 * strategy whose runs recorded no validation loss (`metric` says which was used).
 */
export function lossCurves(
  study: Study,
  fraction: number,
): { points: CurvePoint[]; metric: Map<string, 'valLoss' | 'trainLoss'> } {
  const points: CurvePoint[] = [];
  const metric = new Map<string, 'valLoss' | 'trainLoss'>();
  for (const strategy of study.strategies) {
    const runs = study.runs.filter((r) => r.strategy === strategy && r.fraction === fraction);
    const hasVal = runs.some((r) => r.history.some((h) => h.valLoss !== undefined));
    const key = hasVal ? 'valLoss' : 'trainLoss';
    const epochs = new Map<number, number[]>();
    for (const r of runs) {
      for (const h of r.history) {
        const v = h[key];
        if (v === undefined) continue;
        const list = epochs.get(h.epoch) ?? [];
        list.push(v);
        epochs.set(h.epoch, list);
      }
    }
    if (epochs.size === 0) continue;
    metric.set(strategy, key);
    for (const [epoch, values] of [...epochs].sort((a, b) => a[0] - b[0]))
      points.push({ strategy, epoch, ...spread(values) });
  }
  return { points, metric };
}

export function wallTimes(study: Study): (Spread & { strategy: string; fraction: number; perClass: number })[] {
  const out: (Spread & { strategy: string; fraction: number; perClass: number })[] = [];
  for (const strategy of study.strategies) {
    for (const fraction of study.fractions) {
      const runs = study.runs.filter((r) => r.strategy === strategy && r.fraction === fraction);
      if (runs.length === 0) continue;
      const perClass = runs.reduce((s, r) => s + r.perClass, 0) / runs.length;
      out.push({ strategy, fraction, perClass, ...spread(runs.map((r) => r.seconds)) });
    }
  }
  return out;
}

function colorScale(study: Study): { domain: string[]; range: string[] } {
  return { domain: study.strategies, range: study.strategies.map((_, i) => PALETTE[i % PALETTE.length]!) };
}

function accuracySpec(study: Study, points: AccuracyPoint[]): TopLevelSpec {
  const xs = points.map((p) => p.perClass).filter((v) => v > 0);
  const log = xs.length > 0 && Math.max(...xs) / Math.min(...xs) >= 8;
  const lo = Math.min(...points.map((p) => p.min));
  const color = {
    field: 'strategy',
    type: 'nominal',
    title: null,
    scale: colorScale(study),
    legend: { orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  };
  const x = {
    field: 'perClass',
    type: 'quantitative',
    title: 'labelled examples per class',
    scale: log
      ? { type: 'log', nice: false, domain: [Math.min(...xs), Math.max(...xs)] }
      : { zero: false, nice: false },
    axis: { values: [...new Set(points.map((p) => p.perClass))], format: '~r' },
  };
  const y = {
    type: 'quantitative',
    scale: { domain: [Math.max(0, Math.floor(lo * 10) / 10), 1] },
    axis: { format: '.0%' },
  };
  return {
    width: 720,
    height: 320,
    title: 'Test accuracy vs labelled examples per class',
    data: { values: points.filter((p) => !log || p.perClass > 0) },
    layer: [
      {
        mark: { type: 'area', opacity: 0.14 },
        encoding: {
          x,
          y: { ...y, field: 'min', title: 'test accuracy' },
          y2: { field: 'max' },
          color,
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: { x, y: { ...y, field: 'mean', title: 'test accuracy' }, color },
      },
    ],
  } as TopLevelSpec;
}

function lossSpec(study: Study, points: CurvePoint[], title: string): TopLevelSpec {
  const color = {
    field: 'strategy',
    type: 'nominal',
    title: null,
    scale: colorScale(study),
    legend: { orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  };
  const last = Math.max(...points.map((p) => p.epoch));
  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'epoch',
    scale: { domain: [1, Math.max(2, last)], nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  return {
    width: 720,
    height: 320,
    title,
    data: { values: points },
    layer: [
      {
        mark: { type: 'area', opacity: 0.14 },
        encoding: {
          x,
          y: { field: 'min', type: 'quantitative', title: 'loss', scale: { zero: false } },
          y2: { field: 'max' },
          color,
        },
      },
      {
        mark: { type: 'line', point: last <= 40 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'loss' }, color },
      },
    ],
  } as TopLevelSpec;
}

function timeSpec(study: Study, times: ReturnType<typeof wallTimes>): TopLevelSpec {
  const color = {
    field: 'strategy',
    type: 'nominal',
    title: null,
    scale: colorScale(study),
    legend: { orient: 'right' },
  };
  const labels = [...new Set(times.map((t) => label(t.perClass)))];
  const x = {
    field: 'group',
    type: 'ordinal',
    title: 'labelled examples per class',
    sort: labels,
    axis: { labelAngle: 0 },
  };
  const values = times.map((t) => ({ ...t, group: label(t.perClass) }));
  return {
    width: 720,
    height: 260,
    title: 'Wall time per run (mean over seeds; whiskers: min to max)',
    data: { values },
    encoding: { x, xOffset: { field: 'strategy', type: 'nominal', sort: study.strategies } },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusTopLeft: 2, cornerRadiusTopRight: 2 },
        encoding: { y: { field: 'mean', type: 'quantitative', title: 'seconds' }, color },
      },
      {
        mark: { type: 'rule', color: '#334155', strokeWidth: 1.2 },
        encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
      },
    ],
  } as TopLevelSpec;
}

function label(perClass: number): string {
  return Number.isInteger(perClass) ? String(perClass) : perClass.toFixed(1);
}

/** One self-contained HTML page comparing the strategies of a study (charts as inline SVG, no script). */
/**
 * The study's key chart (test accuracy against labelled examples per class) as a standalone SVG file,
 * e.g. for a README.
 */
export async function studyAccuracySvg(study: Study): Promise<string> {
  const svg = await renderChart(
    accuracySpec(study, accuracySpread(study)),
    'acc',
    'Test accuracy vs labelled examples per class',
  );
  return svg.replace(/^<svg /, '<svg xmlns="http://www.w3.org/2000/svg" ') + '\n';
}

export async function renderCompareReport(study: Study): Promise<string> {
  const acc = accuracySpread(study);
  const largest = Math.max(...study.fractions.filter((f) => study.runs.some((r) => r.fraction === f)));
  const curves = lossCurves(study, largest);
  const times = wallTimes(study);
  const parts: string[] = [];

  const total = study.runs.reduce((s, r) => s + r.seconds, 0);
  const bestAt = (fraction: number): AccuracyPoint | undefined =>
    acc.filter((p) => p.fraction === fraction).sort((a, b) => b.mean - a.mean)[0];
  const fracs = study.fractions.filter((f) => acc.some((p) => p.fraction === f));
  const small = bestAt(fracs[0]!);
  const big = bestAt(fracs.at(-1)!);
  parts.push(
    cards([
      {
        label: 'Runs',
        value: count(study.runs.length),
        detail: `${study.strategies.length} strategies × ${fracs.length} sizes × ${study.seeds.length} seeds`,
      },
      { label: 'Compute time', value: duration(total), detail: 'all runs' },
      ...(small
        ? [{ label: `Best at ${label(small.perClass)} / class`, value: pct(small.mean), detail: small.strategy }]
        : []),
      ...(big && fracs.length > 1
        ? [{ label: `Best at ${label(big.perClass)} / class`, value: pct(big.mean), detail: big.strategy }]
        : []),
    ]),
  );

  const missing = study.strategies.flatMap((s) =>
    study.fractions.flatMap((f) =>
      study.seeds
        .filter((seed) => !study.runs.some((r) => r.strategy === s && r.fraction === f && r.seed === seed))
        .map((seed) => `${s} @ ${f} seed ${seed}`),
    ),
  );
  if (missing.length > 0) {
    parts.push(
      `<section class="warnings" id="warnings"><h2>Incomplete study</h2><p>${count(missing.length)} of ${count(
        study.strategies.length * study.fractions.length * study.seeds.length,
      )} planned runs are missing: ${esc(missing.slice(0, 8).join(', '))}${missing.length > 8 ? ', …' : ''}.</p></section>`,
    );
  }

  const accSvg = await renderChart(accuracySpec(study, acc), 'acc', 'Test accuracy vs labelled examples per class');
  parts.push(
    section(
      'accuracy',
      'Label efficiency',
      figure(
        accSvg,
        `Line: mean over ${study.seeds.length} seed${study.seeds.length === 1 ? '' : 's'}; band: min to max.`,
        'accuracy',
      ) + accuracyTable(study, acc),
      'How test accuracy grows with the number of labelled examples, per strategy.',
    ),
  );

  const usedTrain = [...curves.metric].filter(([, m]) => m === 'trainLoss').map(([s]) => s);
  const lossBody =
    curves.points.length > 0
      ? figure(
          await renderChart(
            lossSpec(study, curves.points, `Validation loss per epoch at ${pct(largest, 0)} of the training data`),
            'loss',
            'Validation loss per epoch',
          ),
          `Mean over seeds; band: min to max.` +
            (usedTrain.length ? ` ${esc(usedTrain.join(', '))}: training loss (no validation loss recorded).` : ''),
          'loss',
        )
      : `<p class="note">No run recorded epochs (every strategy fits its head without training).</p>`;
  parts.push(
    section('convergence', 'Convergence', lossBody, 'How fast each strategy converges on the largest training set.'),
  );

  const timeSvg = await renderChart(timeSpec(study, times), 'time', 'Wall time per strategy');
  parts.push(
    section(
      'time',
      'Cost',
      figure(timeSvg, undefined, 'time'),
      'Wall time of one run, by strategy and training-set size.',
    ),
  );

  const nav = [
    { id: 'accuracy', label: 'Label efficiency' },
    { id: 'convergence', label: 'Convergence' },
    { id: 'time', label: 'Cost' },
  ];
  const subtitle =
    `${study.strategies.map((s) => `<b>${esc(s)}</b>`).join(', ')} · ` +
    (study.data ? `data <span class="mono">${esc(study.data)}</span> · ` : '') +
    `seeds ${esc(study.seeds.join(', '))}` +
    Object.entries(study.settings ?? {})
      .map(([k, v]) => ` · ${esc(k)} ${esc(String(v))}`)
      .join('');
  const generated =
    `Generated by graft${study.graftVersion ? ` ${esc(study.graftVersion)}` : ''}` +
    (study.createdAt ? ` · study started ${esc(when(study.createdAt))}` : '');
  return page(
    { kicker: 'graft · strategy comparison', title: study.model, subtitle, nav, generated },
    parts.join('\n'),
  );
}

function accuracyTable(study: Study, acc: AccuracyPoint[]): string {
  const fracs = study.fractions.filter((f) => acc.some((p) => p.fraction === f));
  const head = [
    'strategy',
    ...fracs.map((f) => {
      const p = acc.find((a) => a.fraction === f)!;
      return `${label(p.perClass)} / class (${pct(f, 0)})`;
    }),
  ];
  const best = new Map(fracs.map((f) => [f, Math.max(...acc.filter((p) => p.fraction === f).map((p) => p.mean))]));
  const rows = study.strategies.map((s) => [
    esc(s),
    ...fracs.map((f) => {
      const p = acc.find((a) => a.strategy === s && a.fraction === f);
      if (!p) return '–';
      const cell = `${pct(p.mean)}${p.n > 1 ? ` <span class="note">${pct(p.min, 0)}–${pct(p.max, 0)}</span>` : ''}`;
      return p.mean === best.get(f) ? `<b>${cell}</b>` : cell;
    }),
  ]);
  return `<h3>Test accuracy (mean, min–max over seeds)</h3>${table(
    head,
    rows,
    fracs.map((_, i) => i + 1),
  )}`;
}
