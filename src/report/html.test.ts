import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { renderHtmlReport } from './html.js';
import { readRunFolder } from './node/run-folder.js';
import type { RunFolder } from './run-folder.js';
import { type SyntheticRunOptions, writeSyntheticRun } from './test-utils/synthetic-run.js';

const root = mkdtempSync(join(tmpdir(), 'graft-html-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function folderFor(options: SyntheticRunOptions = {}, thumbnails = false): Promise<RunFolder> {
  const dir = join(root, `run${n++}`);
  await writeSyntheticRun(dir, options);
  return readRunFolder(dir, { thumbnails: thumbnails ? 96 : false });
}

/** chart name -> its inline SVG */
function charts(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<figure class="chart" data-chart="([\w-]+)">(<svg[\s\S]*?<\/svg>)/g)) {
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The aria-labels Vega writes on each mark of a role-mark group of the given kind, e.g. 'rect'. */
function markLabels(svg: string, kind: string): string[] {
  const labels: string[] = [];
  for (const g of svg.matchAll(new RegExp(`<g class="mark-${kind} role-mark[^"]*"[^>]*>([\\s\\S]*?)</g>`, 'g'))) {
    for (const m of g[1]!.matchAll(/aria-label="([^"]*)"/g)) labels.push(m[1]!.replace(/&quot;/g, '"'));
  }
  return labels;
}

function parseLabel(label: string): Record<string, string> {
  return Object.fromEntries(label.split('; ').map((kv) => kv.split(': ') as [string, string]));
}

describe('renderHtmlReport', () => {
  it('has every section, five charts with marks, and no script or external reference', async () => {
    const folder = await folderFor({}, true);
    const html = await renderHtmlReport(folder);
    for (const id of ['data', 'training', 'evaluation', 'calibration', 'top-losses', 'config']) {
      assert.ok(html.includes(`<section id="${id}">`), `section ${id}`);
      assert.ok(html.includes(`href="#${id}"`), `nav link to ${id}`);
    }
    const found = charts(html);
    assert.deepEqual([...found.keys()], ['counts', 'loss', 'accuracy', 'confusion', 'reliability']);
    assert.equal(html.match(/<svg/g)!.length, 5);
    for (const [name, svg] of found) {
      const marks = svg.match(/role="graphics-symbol"/g)?.length ?? 0;
      assert.ok(marks > 0, `${name} has no marks`);
    }
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /<script|<link|<iframe|@import/i);
    const sources = [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]!);
    assert.equal(sources.length, folder.topLosses.length);
    for (const s of sources) assert.match(s, /^data:image\/jpeg;base64,[A-Za-z0-9+/=]+$/);
    // Vega numbers clip paths from 1 in every view; inlined together they must stay distinct
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(new Set(ids).size, ids.length, 'duplicate element ids');
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(m[1]!), `dangling url(#${m[1]})`);
  });

  it('draws the confusion matrix cell by cell from the report', async () => {
    const folder = await folderFor();
    const report = folder.metrics.test!;
    const svg = charts(await renderHtmlReport(folder)).get('confusion')!;
    const cell = (label: Record<string, string>): [number, number] => [
      report.labelNames.indexOf(label.actual!),
      report.labelNames.indexOf(label.predicted!),
    ];
    const rects = markLabels(svg, 'rect').map(parseLabel);
    assert.equal(rects.length, report.numClasses ** 2);
    for (const r of rects) {
      const [a, p] = cell(r);
      const share = report.confusion[a]![p]! / report.confusion[a]!.reduce((x, y) => x + y, 0);
      assert.equal(r['share of row'], `${Math.round(share * 100)}%`, `${r.actual} -> ${r.predicted}`);
    }
    const texts = markLabels(svg, 'text').map(parseLabel);
    assert.equal(texts.length, report.confusion.flat().filter((v) => v > 0).length);
    for (const t of texts) {
      const [a, p] = cell(t);
      assert.equal(Number(t.n), report.confusion[a]![p], `${t.actual} -> ${t.predicted}`);
    }
  });

  it('plots one point per epoch and series on the learning curves', async () => {
    const folder = await folderFor({ epochs: 7 });
    const found = charts(await renderHtmlReport(folder));
    const points = markLabels(found.get('loss')!, 'symbol').map(parseLabel);
    assert.equal(points.length, 14);
    const val5 = points.find((p) => p.series === 'validation' && p.epoch === '5')!;
    assert.ok(Math.abs(Number(val5.loss) - folder.history[4]!.valLoss!) < 1e-9, JSON.stringify(val5));
    assert.equal(markLabels(found.get('accuracy')!, 'symbol').length, 14);
  });

  it('shows the summary numbers and the calibration before/after', async () => {
    const folder = await folderFor();
    const html = await renderHtmlReport(folder);
    const test = folder.metrics.test!;
    const cal = folder.metrics.calibration!;
    assert.ok(html.includes(`${(test.accuracy * 100).toFixed(1)}%`));
    assert.ok(html.includes(`${cal.eceBefore.toFixed(3)} → ${cal.eceAfter.toFixed(3)}`));
    assert.ok(cal.eceAfter < cal.eceBefore, 'the synthetic classifier is over-confident');
    assert.ok(html.includes('lowers the expected calibration error on the test split'));
    assert.ok(html.includes('(the raw model was over-confident)'));
    const svg = charts(html).get('reliability')!;
    assert.ok(svg.includes(`Before temperature scaling · ECE ${cal.eceBefore.toFixed(3)}`));
    // three significant digits: a small temperature never shows as "T = 0.00"
    assert.ok(svg.includes(`After, T = ${Number(cal.temperature.toPrecision(3))} · ECE ${cal.eceAfter.toFixed(3)}`));
    // one bar per non-empty bin in each panel
    const filled = cal.binsBefore!.filter((b) => b.count > 0).length + cal.binsAfter!.filter((b) => b.count > 0).length;
    assert.equal(markLabels(svg, 'rect').length, 2 * filled);
    assert.ok(html.includes('3</b> files were left out'));
  });

  it('is deterministic', async () => {
    const folder = await folderFor();
    const a = await renderHtmlReport(folder);
    const b = await renderHtmlReport(folder);
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    assert.ok(a === b, `renders differ from character ${i}: ${a.slice(i, i + 80)} / ${b.slice(i, i + 80)}`);
  });

  it('escapes class names, file names and config values', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const folder = await folderFor({ classes: ['a&b', evil, '"quoted"'] });
    folder.run.config.note = '</style><script>alert(2)</script>';
    const html = await renderHtmlReport(folder);
    assert.ok(!html.includes(evil));
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('a&amp;b'));
  });

  it('handles a run with no validation split: no temperature, one reliability panel', async () => {
    const folder = await folderFor({ val: false });
    const html = await renderHtmlReport(folder);
    assert.ok(html.includes('No temperature was fitted'));
    const svg = charts(html).get('reliability')!;
    assert.ok(svg.includes(`test split · ECE ${folder.metrics.test!.calibration.ece.toFixed(3)}`));
    assert.ok(!html.includes('Validation and test'));
  });

  it('handles a head fitted without epochs, and a run without evaluation splits', async () => {
    const folder = await folderFor({ epochs: 0, val: false, test: false });
    const html = await renderHtmlReport(folder);
    assert.ok(html.includes('No training epochs'));
    assert.ok(html.includes('no validation or test split'));
    assert.ok(html.includes('No top-loss list'));
    assert.deepEqual([...charts(html).keys()], ['counts']);
  });

  it('keeps many classes readable: confusion limited to the most confused, tables scroll', async () => {
    const classes = Array.from({ length: 60 }, (_, i) => `class-${String(i).padStart(2, '0')}`);
    const folder = await folderFor({ classes, perClass: 4 });
    const html = await renderHtmlReport(folder);
    const found = charts(html);
    assert.ok(!found.has('counts'), 'the per-class count chart is left out above 40 classes');
    assert.ok(html.includes('the 40 of 60 classes with the most errors'));
    assert.equal(markLabels(found.get('confusion')!, 'rect').length, 40 * 40);
    assert.ok((html.match(/<div class="scroll">/g) ?? []).length >= 2);
  });

  it('shows text snippets instead of thumbnails for text runs', async () => {
    const folder = await folderFor({ kind: 'text' });
    const html = await renderHtmlReport(folder);
    assert.ok(html.includes('<div class="snippet">Example '));
    assert.ok(!html.includes('<img'));
    assert.ok(html.includes('Texts from'));
  });
});
