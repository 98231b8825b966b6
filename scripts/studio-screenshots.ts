// Takes the screenshots of docs/studio.md: `graft studio`'s page in Debian's Chromium, driven through each
// step with the Fashion-MNIST fixture and EfficientNet-B0 from the model cache (`graft zoo pull
// efficientnet_b0.imagenet` first). Writes docs/studio/<step>.png.
//
//   node --import tsx scripts/studio-screenshots.ts
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStudio } from '../src/app/studio.js';
import { CHROMIUM } from '../src/app-web/test-utils/browser.js';

const MODEL = 'efficientnet_b0.imagenet';
const root = fileURLToPath(new URL('../', import.meta.url));
const fixture = join(root, 'fixtures/fashion-mnist-small');
const out = join(root, 'docs/studio');
mkdirSync(out, { recursive: true });

const studio = await startStudio({ port: 0 });
if (!studio.models.some((m) => m.name === MODEL)) throw new Error(`run graft zoo pull ${MODEL} first`);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
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
  await page.fill('#head-epochs', '3');
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
}
