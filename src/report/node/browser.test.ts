// Opens the HTML reports in a real headless Chromium: they must show their charts with no script
// errors and without asking the network for anything.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { syntheticStudy } from '../test-utils/synthetic-study.js';
import { writeSyntheticRun } from '../test-utils/synthetic-run.js';
import { writeCompareReport, writeHtmlReport } from './command.js';

const CHROMIUM = process.env.GRAFT_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const root = mkdtempSync(join(tmpdir(), 'graft-browser-'));
let context: BrowserContext | undefined;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is needed for the HTML report browser test and is not at ${CHROMIUM}. ` +
        'Install it with: apt-get update && apt-get install -y --no-install-recommends chromium ' +
        '(or point GRAFT_CHROMIUM at a Chromium binary).',
    );
  }
  // a fresh profile each run: no cached state, no extensions, nothing carried between runs
  context = await chromium.launchPersistentContext(join(root, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1366, height: 900 },
  });
});

after(async () => {
  await context?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Visit {
  page: Page;
  errors: string[];
  external: string[];
}

async function visit(file: string, width = 1366): Promise<Visit> {
  const page = await context!.newPage();
  await page.setViewportSize({ width, height: 900 });
  const errors: string[] = [];
  const external: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, external };
}

interface ChartBox {
  name: string;
  marks: number;
  width: number;
  height: number;
}

function chartBoxes(page: Page): Promise<ChartBox[]> {
  return page.$$eval('figure.chart > svg', (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      return {
        name: (svg.parentElement as HTMLElement).dataset.chart ?? '',
        marks: svg.querySelectorAll('[role="graphics-symbol"]').length,
        width: box.width,
        height: box.height,
      };
    }),
  );
}

/** Saves a full-page screenshot in the temp folder (and in GRAFT_SCREENSHOTS, when set, to keep). */
async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(root, name);
  await page.screenshot({ path: file, fullPage: true });
  const keep = process.env.GRAFT_SCREENSHOTS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    copyFileSync(file, join(keep, name));
  }
  return file;
}

describe('HTML reports in headless Chromium', () => {
  it('the run report renders its five charts and thumbnails, with no errors and no network', async (t) => {
    const dir = join(root, 'run');
    const written = await writeSyntheticRun(dir);
    const { file } = await writeHtmlReport(dir);
    const { page, errors, external } = await visit(file);
    try {
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      const boxes = await chartBoxes(page);
      assert.deepEqual(
        boxes.map((b) => b.name),
        ['counts', 'loss', 'accuracy', 'confusion', 'reliability'],
      );
      for (const b of boxes) {
        assert.ok(b.marks > 0, `${b.name} has no marks`);
        assert.ok(b.width > 200 && b.height > 100, `${b.name} is ${b.width}x${b.height}`);
      }
      const classes = written.run.data.classes.length;
      assert.equal(boxes.find((b) => b.name === 'confusion')!.marks >= classes * classes, true);
      const images = await page.$$eval('.thumb img', (imgs) =>
        (imgs as HTMLImageElement[]).map((i) => ({ ok: i.complete, w: i.naturalWidth, h: i.naturalHeight })),
      );
      assert.equal(images.length, written.topLosses!.length);
      for (const i of images) assert.deepEqual(i, { ok: true, w: 96, h: 72 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      const title = await page.textContent('h1');
      assert.equal(title, written.run.model);
      t.diagnostic(`screenshot: ${await screenshot(page, 'report-1366.png')}`);
    } finally {
      await page.close();
    }
  });

  it('the run report fits a small laptop and a phone without sideways scrolling', async (t) => {
    const dir = join(root, 'run-narrow');
    await writeSyntheticRun(dir, { classes: ['a very long class name indeed', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] });
    const { file } = await writeHtmlReport(dir);
    for (const width of [1024, 390]) {
      const { page, errors } = await visit(file, width);
      try {
        assert.deepEqual(errors, []);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `at ${width}px the page scrolls sideways by ${overflow}px`);
        t.diagnostic(`screenshot: ${await screenshot(page, `report-${width}.png`)}`);
      } finally {
        await page.close();
      }
    }
  });

  it('the comparison report renders its three charts', async (t) => {
    const studyFile = join(root, 'study.json');
    writeFileSync(studyFile, JSON.stringify(syntheticStudy()));
    const { file } = await writeCompareReport(studyFile);
    const { page, errors, external } = await visit(file);
    try {
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      const boxes = await chartBoxes(page);
      assert.deepEqual(
        boxes.map((b) => b.name),
        ['accuracy', 'loss', 'time'],
      );
      for (const b of boxes) assert.ok(b.marks > 0 && b.width > 300, `${b.name}: ${JSON.stringify(b)}`);
      t.diagnostic(`screenshot: ${await screenshot(page, 'compare-1366.png')}`);
    } finally {
      await page.close();
    }
  });
});
