// Takes the screenshots of docs/studio.md: `graft studio`'s page in Debian's Chromium, driven through each
// step with a part of the Fashion-MNIST fixture (the first 30 training and 10 test images of each class, so
// EfficientNet-B0 at 224x224 runs over them in a minute or two on wasm) and EfficientNet-B0 from the model
// cache (`graft zoo pull efficientnet_b0.imagenet` first). Writes docs/studio/<step>.png.
//
//   node --import tsx scripts/studio-screenshots.ts
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStudio } from '../src/app/studio.js';
import { CHROMIUM } from '../src/app-web/test-utils/browser.js';

const MODEL = 'efficientnet_b0.imagenet';
const root = fileURLToPath(new URL('../', import.meta.url));
const full = join(root, 'fixtures/fashion-mnist-small');
const out = join(root, 'docs/studio');
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'graft-studio-shots-'));
const fixture = join(work, 'fashion-mnist-small');
for (const [split, n] of [
  ['train', 30],
  ['test', 10],
] as const) {
  for (const c of readdirSync(join(full, split))) {
    mkdirSync(join(fixture, split, c), { recursive: true });
    for (const f of readdirSync(join(full, split, c))
      .sort()
      .slice(0, n)) {
      cpSync(join(full, split, c, f), join(fixture, split, c, f));
    }
  }
}

const studio = await startStudio({ port: 0 });
if (!studio.models.some((m) => m.name === MODEL)) throw new Error(`run graft zoo pull ${MODEL} first`);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(studio.url);
  await page.waitForSelector('body[data-ready="true"]');
  const shot = (step: string) => page.locator(`#step-${step}`).screenshot({ path: join(out, `${step}.png`) });

  await page.setInputFiles('#data-input', fixture);
  await page.waitForSelector('#class-table');
  await page.waitForTimeout(500);
  await shot('data');

  await page.selectOption('#model-select', MODEL);
  await page.waitForSelector('#model-blocks', { timeout: 120_000 });
  await shot('model');

  await page.selectOption('#strategy', 'fine-tune');
  await page.fill('#epochs', '3');
  await page.fill('#probe-epochs', '3');
  await page.click('#train');
  await page.waitForSelector('#test-accuracy', { timeout: 900_000 });
  await shot('train');
  await shot('evaluate');

  const tryImages = readdirSync(join(fixture, 'test'))
    .sort()
    .slice(0, 6)
    .map((c) => join(fixture, 'test', c, readdirSync(join(fixture, 'test', c)).sort()[0]!));
  await page.setInputFiles('#try-file', tryImages);
  await page.waitForSelector('#try-table');
  await shot('try');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-onnx')]);
  await download.cancel();
  await shot('export');
  console.log(`screenshots in ${out}: ${(await page.textContent('#train-status')) ?? ''}`);
} finally {
  await browser.close();
  await studio.close();
  rmSync(work, { recursive: true, force: true });
}
