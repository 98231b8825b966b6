// Graft Studio end to end (issue 14): `graft studio` in a child process, the page in Debian's Chromium
// (playwright-core, never a downloaded browser). The fixture subset goes in through the directory input,
// a backbone through the .onnx input; the page trains a linear probe and a last-block fine-tune in its
// worker, and its test accuracy must be within 2 points of `graft train` on the same data (the same split:
// the page runs the CLI's own split code on the same hashes). The exported model.onnx must give the page's
// top-1 under `graft predict` on 50 images, and Cancel must stop training within a second.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import sharp from 'sharp';
import { encodeModel } from '../onnx/codec.js';
import { CHROMIUM } from '../app-web/test-utils/browser.js';
import { studioSite } from '../app/studio.js';
import { studioBackbone, writeStudioModelsFile } from './test-utils/backbone.js';
import { type StudioProcess, graftJson, startStudioCli } from './test-utils/cli.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/fashion-mnist-small', import.meta.url));
/** the same settings on both sides (the page's fields, graft train's flags) */
const FT = { epochs: 4, probeEpochs: 2, batch: 32 };

interface TrainJson {
  test: { accuracy: number; examples: number };
  counts: Record<string, { train: number; val: number; test: number }>;
  modelPath: string;
}

interface PredictJson {
  predictions?: { path?: string; file?: string; top: { label: string }[] }[];
  [k: string]: unknown;
}

describe('graft studio in Chromium', { timeout: 600_000 }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let studio: StudioProcess;
  let browser: Browser;
  let page: Page;
  let probe: TrainJson;
  let fineTune: TrainJson;
  let fewShot: Record<'knn' | 'prototype', TrainJson>;
  const errors: string[] = [];
  const model = () => join(dir, 'tiny.onnx');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-studio-'));
    writeFileSync(model(), encodeModel(studioBackbone()));
    env = { GRAFT_CACHE_DIR: join(dir, 'cache'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
    writeStudioModelsFile(join(dir, 'config'), model());
    const train = (out: string, extra: string[]) =>
      graftJson<TrainJson>(
        ['train', FIXTURE, '--model', model(), '--out', join(dir, out), '--seed', '0', ...extra],
        env,
      );
    let knn: TrainJson;
    let prototype: TrainJson;
    // the server first, on its own: if a CLI run below fails, after() must still find it to stop it
    studio = await startStudioCli(['--port', '0'], env);
    [probe, fineTune, knn, prototype] = await Promise.all([
      train('lp', []),
      train('ft', [
        '--strategy',
        'fine-tune',
        '--unfreeze',
        'last:1',
        '--epochs',
        String(FT.epochs),
        '--probe-epochs',
        String(FT.probeEpochs),
        '--batch',
        String(FT.batch),
      ]),
      train('knn', ['--strategy', 'knn']),
      train('prototype', ['--strategy', 'prototype']),
    ]);
    fewShot = { knn, prototype };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // a generated camera picture, and no permission prompt, for the webcam
      args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
    const context = await browser.newContext({ acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    // nothing but the studio server is reached
    await page.route('**/*', (route) =>
      route.request().url().startsWith(`http://127.0.0.1:${studio.port}/`) ? route.continue() : route.abort(),
    );
    await page.goto(studio.url);
    await page.waitForSelector('body[data-ready="true"]');
  });

  after(async () => {
    await browser?.close();
    const code = await studio?.stop();
    assert.equal(code, 0, 'graft studio did not stop cleanly on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page bound to loopback, cross-origin isolated, from its own files only', async () => {
    assert.match(studio.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(studio.tokenRequired, false);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  });

  it('labels every control, and Tab walks the enabled ones in the order of the steps', async () => {
    const unlabelled = await page.$$eval('input, select, button, progress', (els) =>
      els
        .filter((e) => {
          const labels = (e as HTMLInputElement).labels;
          return !labels?.length && !e.getAttribute('aria-label') && !(e.textContent ?? '').trim();
        })
        .map((e) => e.id),
    );
    assert.deepEqual(unlabelled, []);
    const order: string[] = [];
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    // before any data or model, training, trying and exporting are disabled, and skipped
    assert.deepEqual(order, [
      'drop',
      'data-input',
      'class-name',
      'class-images',
      'class-add',
      'model-select',
      'model-file',
      'model-url',
      'model-url-load',
      'strategy',
      'epochs',
      'batch',
      'seed',
      'threads',
    ]);
  });

  it('loads the fixture subset through the directory input with the counts graft train found', async () => {
    await page.setInputFiles('#data-input', FIXTURE);
    await page.waitForSelector('#class-table');
    const rows = await page.$$eval('#class-table tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? '')),
    );
    const counts = Object.fromEntries(rows.map((r) => [r[0], { train: +r[1]!, val: +r[2]!, test: +r[3]! }]));
    assert.deepEqual(counts, probe.counts);
    assert.equal(await page.locator('#class-table img').count(), 40, 'four thumbnails per class');
    // README.md, LICENSE, classes.json sit beside train/ and test/: listed as left out, training goes on
    assert.match((await page.textContent('#issues')) ?? '', /README\.md/);
  });

  it('offers the models of the cache and loads one from the studio server', async () => {
    assert.match(
      (await page.textContent('#model-select option[value="tiny.studio"]')) ?? '',
      /tiny\.studio \(0\.0 MB\)/,
    );
    await page.selectOption('#model-select', 'tiny.studio');
    await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'tiny.studio is ready.');
    assert.match((await page.textContent('#model-blocks')) ?? '', /^4: .*top/);
  });

  it('reads the backbone from an .onnx file and shows its input size and blocks', async () => {
    await page.setInputFiles('#model-file', model());
    await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'tiny.onnx is ready.');
    await page.waitForSelector('#model-blocks');
    assert.equal(await page.textContent('#model-input'), '28x28 (NCHW)');
    assert.match((await page.textContent('#model-blocks')) ?? '', /^4: .*top/);
  });

  const trainInPage = async (strategy: string, fields: Record<string, number> = {}) => {
    await page.selectOption('#strategy', strategy);
    for (const [id, v] of Object.entries(fields)) await page.fill(`#${id}`, String(v));
    await page.click('#train');
    await page.waitForSelector('#test-accuracy', { timeout: 300_000 });
    return Number(await page.getAttribute('#test-accuracy', 'data-value'));
  };

  it('trains a linear probe in the page within 2 points of graft train', async (t) => {
    const acc = await trainInPage('linear-probe', { epochs: 0 });
    t.diagnostic(`page ${acc}, graft train ${probe.test.accuracy}; ${await page.textContent('#train-status')}`);
    assert.ok(Math.abs(acc - probe.test.accuracy) <= 0.02, `page ${acc} vs graft train ${probe.test.accuracy}`);
    assert.ok(acc > 0.5, 'the probe learned something');
    for (const chart of ['#confusion', '#calibration', '#loss-chart']) {
      // an SVG element (not markup text in another namespace) that takes room on the page
      const drawn = await page.$eval(
        `${chart} svg`,
        (s) => s.namespaceURI === 'http://www.w3.org/2000/svg' && s.getBoundingClientRect().height > 100,
      );
      assert.equal(drawn, true, `${chart} is drawn`);
    }
    assert.equal(await page.locator('#top-losses li').count(), 12);
    assert.equal(await page.locator('#per-class tbody tr').count(), 10);
  });

  for (const strategy of ['knn', 'prototype'] as const) {
    it(`${strategy} in the page matches graft train within 2 points`, async (t) => {
      const acc = await trainInPage(strategy);
      const cli = fewShot[strategy].test.accuracy;
      t.diagnostic(`page ${acc}, graft train ${cli}`);
      assert.ok(Math.abs(acc - cli) <= 0.02, `page ${acc} vs graft train ${cli}`);
    });
  }

  it('fine-tunes the last block in the page within 2 points of graft train', async (t) => {
    const acc = await trainInPage('fine-tune', {
      blocks: 1,
      epochs: FT.epochs,
      'probe-epochs': FT.probeEpochs,
      batch: FT.batch,
    });
    t.diagnostic(`page ${acc}, graft train ${fineTune.test.accuracy}; ${await page.textContent('#train-status')}`);
    assert.ok(Math.abs(acc - fineTune.test.accuracy) <= 0.02, `page ${acc} vs graft train ${fineTune.test.accuracy}`);
    assert.equal(await page.locator('#loss-chart svg').count(), 1, 'the loss curve is drawn');
  });

  it("exports model.onnx whose top-1 under graft predict is the page's on 50 test images", async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-onnx')]);
    assert.equal(download.suggestedFilename(), 'model.onnx');
    const exported = join(dir, 'exported.onnx');
    await download.saveAs(exported);
    const images: string[] = [];
    for (const c of readdirSync(join(FIXTURE, 'test')).sort()) {
      for (const f of readdirSync(join(FIXTURE, 'test', c))
        .sort()
        .slice(0, 5))
        images.push(join(FIXTURE, 'test', c, f));
    }
    assert.equal(images.length, 50);
    await page.setInputFiles('#try-file', images);
    await page.waitForFunction(() => document.querySelectorAll('#try-table tbody tr').length === 50);
    const inPage = await page.$$eval('#try-table tbody tr', (trs) =>
      trs.map((tr) => tr.querySelector('.top1')!.textContent),
    );
    const cli = await graftJson<PredictJson>(['predict', exported, ...images, '--top', '1'], env);
    const rows = (cli.predictions ?? (cli as unknown as PredictJson['predictions']))!;
    assert.equal(rows.length, 50);
    assert.deepEqual(
      inPage,
      rows.map((r) => r.top[0]!.label),
    );
    const [zip] = await Promise.all([page.waitForEvent('download'), page.click('#export-zip')]);
    assert.equal(zip.suggestedFilename(), 'graft-transformers-js.zip');
  });

  it("classifies the webcam's picture live, and stops it", async () => {
    await page.click('#webcam');
    await page.waitForFunction(() =>
      /^webcam: \S+ \d+\.\d%/.test(document.getElementById('try-status')!.textContent ?? ''),
    );
    assert.equal(await page.isVisible('#video'), true);
    await page.click('#webcam');
    assert.equal(await page.isVisible('#video'), false);
  });

  it('cancel stops training within a second', async (t) => {
    await page.selectOption('#strategy', 'fine-tune');
    await page.fill('#epochs', '200');
    await page.click('#train');
    await page.waitForSelector('#last-epoch', { timeout: 120_000 });
    const t0 = Date.now();
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('train-status')!.textContent === 'Cancelled.');
    const stopped = Date.now() - t0;
    t.diagnostic(`cancelled after ${stopped} ms: ${await page.textContent('#last-epoch')}`);
    assert.ok(stopped < 1000, `cancel took ${stopped} ms`);
    const epochs = await page.textContent('#last-epoch');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await page.textContent('#last-epoch'), epochs, 'no epoch finished after cancel');
    // the page can train again (a fresh worker took the model back)
    await page.waitForFunction(() => !(document.getElementById('train') as HTMLButtonElement).disabled);
    assert.deepEqual(errors, []);
  });
});

/** Runs `body` on the page of a `graft studio` started for it (stopped after, with its browser). */
async function withStudioPage(env: NodeJS.ProcessEnv, body: (page: Page) => Promise<void>): Promise<void> {
  const studio = await startStudioCli(['--port', '0'], env);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(studio.url);
    await page.waitForSelector('body[data-ready="true"]');
    await body(page);
  } finally {
    await browser.close();
    await studio.stop();
  }
}

describe('graft studio escapes names from the files', { timeout: 300_000 }, () => {
  it('class and file names holding HTML show as text, never as markup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-studio-names-'));
    const env = { GRAFT_CACHE_DIR: join(dir, 'cache'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
    const hostile = '<img src=x onerror="window.pwned=1">';
    // (no '/' in names: a file name cannot hold one)
    const classes = [hostile, '<b>plain<b>'];
    for (const [k, c] of classes.entries()) {
      mkdirSync(join(dir, 'data', c), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const px = Buffer.alloc(28 * 28, k === 0 ? 40 * i : 255 - 40 * i);
        await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toFile(join(dir, 'data', c, `<svg onload=window.pwned=2>${i}.png`));
      }
    }
    // a PNG whose header is whole and whose pixels are cut off: it passes the scan, fails to decode in the worker
    const whole = await sharp(Buffer.alloc(28 * 28, 128), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'data', hostile, 'cut.png'), whole.subarray(0, 45));
    writeFileSync(join(dir, 'tiny.onnx'), encodeModel(studioBackbone()));
    try {
      await withStudioPage(env, async (page) => {
        await page.setInputFiles('#data-input', join(dir, 'data'));
        await page.waitForSelector('#class-table');
        await page.setInputFiles('#model-file', join(dir, 'tiny.onnx'));
        await page.waitForSelector('#model-blocks');
        await page.selectOption('#strategy', 'prototype');
        await page.click('#train');
        await page.waitForSelector('#test-accuracy', { timeout: 120_000 });
        const names = await page.$$eval('#class-table tbody th', (ths) => ths.map((t) => t.textContent));
        assert.deepEqual(names.sort(), [...classes].sort());
        const perClass = await page.$$eval('#per-class tbody th', (ths) => ths.map((t) => t.textContent));
        assert.deepEqual(perClass.sort(), [...classes].sort());
        // no element was made from a name: no <img src=x>, no <b>, no <svg onload>, no handler ran
        assert.equal(await page.locator('img[src="x"], b, svg[onload]').count(), 0);
        assert.equal(await page.evaluate(() => (window as { pwned?: number }).pwned), undefined);
        assert.match((await page.textContent('#top-losses')) ?? '', /<svg onload=window\.pwned=2>\d\.png/);
        // one bad file never stops a run: it is named, with why, and the rest trained
        assert.match(
          (await page.textContent('#train-status')) ?? '',
          /1 file did not decode and was left out: .*cut\.png \(decode failed/,
        );
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('graft studio builds a data set from loose images and class names', { timeout: 300_000 }, () => {
  it('adds picked images under a typed class name, renames clashing file names, refuses bad names, and trains', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-studio-loose-'));
    const env = { GRAFT_CACHE_DIR: join(dir, 'cache'), HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
    const png = (value: number, noise: number) =>
      sharp(
        Buffer.from(
          Uint8Array.from({ length: 28 * 28 }, (_, i) => Math.max(0, Math.min(255, value + ((i * noise) % 23)))),
        ),
        { raw: { width: 28, height: 28, channels: 1 } },
      )
        .png()
        .toBuffer();
    // two flat folders of loose images, with the same file names in both
    const loose: Record<string, string[]> = { dark: [], light: [] };
    for (const [name, value] of [
      ['dark', 30],
      ['light', 220],
    ] as const) {
      mkdirSync(join(dir, name));
      for (let i = 0; i < 6; i++) {
        const file = join(dir, name, `img${i}.png`);
        writeFileSync(file, await png(value, i + 1));
        loose[name]!.push(file);
      }
    }
    writeFileSync(join(dir, 'tiny.onnx'), encodeModel(studioBackbone()));
    try {
      await withStudioPage(env, async (page) => {
        const add = async (name: string, files: string[]) => {
          await page.fill('#class-name', name);
          if (files.length) await page.setInputFiles('#class-images', files);
          await page.click('#class-add');
        };
        await add('a/b', loose.dark!);
        await page.waitForFunction(() =>
          /cannot hold \//.test(document.getElementById('data-status')?.textContent ?? ''),
        );
        await add('dark', loose.dark!);
        await add('light', loose.light!);
        await page.waitForFunction(() => document.querySelectorAll('#class-table tbody tr').length === 2);
        // the same file name again in a class: renamed, kept
        mkdirSync(join(dir, 'more'));
        writeFileSync(join(dir, 'more', 'img1.png'), await png(200, 17));
        await add('light', [join(dir, 'more', 'img1.png')]);
        await page.waitForFunction(() =>
          /13 images in 2 classes/.test(document.getElementById('data-status')?.textContent ?? ''),
        );
        const names = await page.$$eval('#class-table tbody th', (ths) => ths.map((t) => t.textContent));
        assert.deepEqual(names.sort(), ['dark', 'light']);
        await page.setInputFiles('#model-file', join(dir, 'tiny.onnx'));
        await page.waitForSelector('#model-blocks');
        await page.selectOption('#strategy', 'prototype');
        await page.click('#train');
        await page.waitForSelector('#test-accuracy', { timeout: 120_000 });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the studio as static files from another web server', { timeout: 300_000 }, () => {
  it('loads a model from a URL and trains with no studio server (and no cross-origin isolation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-studio-static-'));
    const files = new Map((await studioSite()).map((f) => [`/${f.path}`, { bytes: f.bytes, type: f.type }]));
    files.set('/', files.get('/index.html')!);
    files.set('/models/tiny.onnx', { bytes: encodeModel(studioBackbone()), type: 'application/octet-stream' });
    // a plain file server: no COOP/COEP headers, no /api
    const server = createServer((req, res) => {
      const f = files.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (!f) res.writeHead(404).end();
      else res.writeHead(200, { 'Content-Type': f.type }).end(f.bytes);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [k, c] of ['dark', 'light'].entries()) {
      mkdirSync(join(dir, 'data', c), { recursive: true });
      for (let i = 0; i < 6; i++) {
        await sharp(Buffer.alloc(28 * 28, k === 0 ? 20 * i : 255 - 20 * i), {
          raw: { width: 28, height: 28, channels: 1 },
        })
          .png()
          .toFile(join(dir, 'data', c, `${i}.png`));
      }
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.evaluate(() => crossOriginIsolated), false);
      await page.waitForFunction(() =>
        /No studio server here/.test(document.getElementById('model-status')!.textContent ?? ''),
      );
      assert.equal(await page.isDisabled('#model-select'), true);
      await page.fill('#model-url', `${origin}/models/tiny.onnx`);
      await page.click('#model-url-load');
      await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'tiny.onnx is ready.');
      await page.setInputFiles('#data-input', join(dir, 'data'));
      await page.waitForSelector('#class-table');
      await page.selectOption('#strategy', 'linear-probe');
      await page.click('#train');
      await page.waitForSelector('#test-accuracy', { timeout: 120_000 });
      assert.match((await page.textContent('#train-status')) ?? '', /^Done: linear-probe on wasm \(1 thread\)/);
    } finally {
      await browser.close();
      await new Promise((ok) => server.close(ok));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
