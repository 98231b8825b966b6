import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { type RawImage, resizeToModel } from '../image.js';
import { type Preprocessing, type ResizeMode, planResize } from '../preprocessing.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { GraftError } from '../../errors.js';
import {
  PixelBudget,
  decodeForAugment,
  decodeForModel,
  imageSizeProblem,
  openImage,
  probeImage,
  verifyDecodes,
} from './decode.js';
import { gifBomb, pngBomb } from './test-utils/bombs.js';
import { pattern, raw, smooth, tempDir } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

const p = (h: number, w: number, resize: ResizeMode = 'squash', extra: Partial<Preprocessing> = {}): Preprocessing => ({
  size: [h, w],
  resize,
  scale: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  layout: 'NCHW',
  channels: 3,
  ...extra,
});

function px(img: RawImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

test('EXIF orientation is applied: a rotated-tagged file decodes upright', async () => {
  const W = 6;
  const H = 4;
  const data = pattern(W, H);
  const file = join(dir, 'o6.png');
  // orientation 6: the stored pixels must be turned 90 degrees clockwise for display
  await raw(data, W, H).png().withMetadata({ orientation: 6 }).toFile(file);
  const probe = await probeImage(file);
  assert.deepEqual([probe.width, probe.height, probe.orientation], [H, W, 6]);
  const img = await decodeForModel(file, p(W, H));
  assert.deepEqual([img.width, img.height], [H, W]);
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < H; x++) {
      // displayed (x, y) comes from stored (y, H - 1 - x)
      const i = ((H - 1 - x) * W + y) * 3;
      assert.deepEqual(px(img, x, y), [data[i]!, data[i + 1]!, data[i + 2]!], `(${x},${y})`);
    }
  }
});

test('16-bit, greyscale, CMYK, alpha and animated GIF all become 8-bit sRGB', async () => {
  const v16 = new Uint16Array(2 * 1 * 3);
  v16.set([65535, 32896, 0, 257, 65535, 65535]);
  const f16 = join(dir, 'deep.png');
  await sharp(v16, { raw: { width: 2, height: 1, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(f16);
  assert.equal((await probeImage(f16)).depth, 'ushort');
  assert.deepEqual([...(await decodeForModel(f16, p(1, 2))).data], [255, 128, 0, 1, 255, 255]);

  const fg = join(dir, 'grey.png');
  await raw(Uint8Array.of(10, 200), 2, 1, 1).toColourspace('b-w').png().toFile(fg);
  assert.equal((await probeImage(fg)).channels, 1);
  assert.deepEqual([...(await decodeForModel(fg, p(1, 2))).data], [10, 10, 10, 200, 200, 200]);

  const fc = join(dir, 'cmyk.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .toColourspace('cmyk')
    .jpeg()
    .toFile(fc);
  assert.equal((await probeImage(fc)).space, 'cmyk');
  const red = px(await decodeForModel(fc, p(8, 8)), 4, 4);
  assert.ok(red[0]! > 200 && red[1]! < 60 && red[2]! < 60, `CMYK red decoded as ${red}`);

  const fa = join(dir, 'alpha.png');
  await raw(Uint8Array.of(0, 0, 0, 0, 0, 0, 255, 255), 2, 1, 4)
    .png()
    .toFile(fa);
  assert.deepEqual([...(await decodeForModel(fa, p(1, 2))).data], [255, 255, 255, 0, 0, 255]);
  assert.deepEqual([...(await decodeForModel(fa, p(1, 2, 'squash', { alpha: 'drop' }))).data], [0, 0, 0, 0, 0, 255]);

  const frame = (r: number, b: number) =>
    sharp({ create: { width: 4, height: 4, channels: 3, background: { r, g: 0, b } } })
      .png()
      .toBuffer();
  const fgif = join(dir, 'anim.gif');
  await sharp([await frame(255, 0), await frame(0, 255)], { join: { animated: true } })
    .gif()
    .toFile(fgif);
  const first = await decodeForModel(fgif, p(4, 4));
  assert.deepEqual([first.height, ...px(first, 0, 0)], [4, 255, 0, 0]);
});

test('sharp resize modes land where the pure-JS (browser) path does', async () => {
  const W = 90;
  const H = 60;
  const data = smooth(W, H);
  const file = join(dir, 'smooth.png');
  await raw(data, W, H).png().toFile(file);
  const src: RawImage = { data, width: W, height: H, channels: 3 };
  for (const mode of ['squash', 'center-crop', 'pad', 'shorter-side-then-crop'] as const) {
    for (const extra of [{}, { cropFraction: 0.7 }]) {
      const spec = p(24, 32, mode, { padValue: 40, ...extra });
      const a = await decodeForModel(file, spec);
      const b = resizeToModel(src, planResize(W, H, spec), spec);
      assert.deepEqual([a.width, a.height], [32, 24]);
      let sum = 0;
      for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
      const mad = sum / a.data.length;
      assert.ok(mad < 4, `${mode} ${JSON.stringify(extra)}: mean abs difference ${mad.toFixed(2)}`);
    }
  }
  // the letterbox border really is the pad value
  const padded = await decodeForModel(file, p(40, 30, 'pad', { padValue: 40 }));
  assert.deepEqual(px(padded, 15, 0), [40, 40, 40]);
});

test('the augmentation decode shrinks to about twice the model size and never enlarges', async () => {
  const file = join(dir, 'big.png');
  await raw(smooth(300, 200), 300, 200).png().toFile(file);
  const base = await decodeForAugment(file, p(32, 32));
  assert.deepEqual([base.width, base.height], [96, 64]);
  const small = await decodeForAugment(file, p(224, 224));
  assert.deepEqual([small.width, small.height], [300, 200]);
});

test('corrupt input rejects (the loader turns this into a report entry)', async () => {
  await assert.rejects(decodeForModel(Buffer.from('not an image'), p(4, 4)));
  await assert.rejects(probeImage(Buffer.alloc(0)));
});

// Bombs: without the header check and sharp's pixel limit each of these decodes (1.1 GB for the GIF, ~250 MB
// for the PNG) and the assertions fail; with them nothing is allocated.
test('a GIF or PNG whose header declares too many pixels is refused before decoding', { timeout: 20_000 }, async () => {
  const gif = gifBomb();
  assert.equal(gif.length, 35);
  const probe = await probeImage(gif);
  assert.deepEqual([probe.format, probe.width, probe.height], ['gif', 16383, 16383]);
  assert.match(imageSizeProblem(probe)!, /^16383x16383 \(268.4 megapixels\), over the 67.1 megapixels limit/);
  const png = await pngBomb(9000, 9000);
  for (const bomb of [gif, png]) {
    for (const decode of [decodeForModel, decodeForAugment]) {
      await assert.rejects(decode(bomb, p(32, 32)), (e: unknown) => {
        assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT');
        assert.match(e.message, /^Image too large: \d+x\d+ .*limit[\s\S]*--max-pixels/);
        return true;
      });
    }
    await assert.rejects(verifyDecodes(bomb), /Image too large/);
    await assert.rejects(openImage(bomb), /Image too large/);
  }
  // the same file from a path
  const f = join(dir, 'bomb.gif');
  writeFileSync(f, gif);
  await assert.rejects(decodeForModel(f, p(32, 32)), /Image too large[\s\S]*bomb\.gif/);
});

test('the pixel limit can be lowered and raised; unsupported formats and stale sizes are refused', async () => {
  const small = await raw(pattern(12, 8), 12, 8).png().toBuffer();
  await assert.rejects(decodeForModel(small, p(4, 4), undefined, { maxImagePixels: 95 }), /12x8 \(96 pixels\)/);
  assert.equal((await decodeForModel(small, p(4, 4), undefined, { maxImagePixels: 96 })).width, 4);
  assert.equal(imageSizeProblem({ ...(await probeImage(gifBomb())) }, { maxImagePixels: 16383 * 16383 }), undefined);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
  await assert.rejects(decodeForModel(svg, p(4, 4)), /Unsupported image format: svg/);
  await assert.rejects(
    decodeForModel(small, p(4, 4), { width: 8, height: 12 }),
    /changed since the data set was scanned/,
  );
  assert.equal((await decodeForModel(small, p(4, 4), { width: 12, height: 8 })).height, 4);
  const thumb = await (await openImage(small)).resize(6, 4).jpeg().toBuffer();
  assert.equal((await probeImage(thumb)).width, 6);
});

test(
  'a path is read as a bounded regular file: a FIFO or device is refused, not waited on',
  { timeout: 10_000 },
  async () => {
    const fifo = join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(decodeForModel(fifo, p(4, 4)), /Image not read: a FIFO/);
    await assert.rejects(probeImage(fifo), /Image not read: a FIFO/);
    await assert.rejects(decodeForAugment('/dev/zero', p(4, 4)), /character device/);
    const f = join(dir, 'small.png');
    await raw(pattern(12, 8), 12, 8).png().toFile(f);
    await assert.rejects(decodeForModel(f, p(4, 4), undefined, { maxImageBytes: 10 }), /over the 10 bytes limit/);
  },
);

test('a multi-page TIFF decodes its first page only', async () => {
  const page = (r: number) =>
    sharp({ create: { width: 4, height: 4, channels: 3, background: { r, g: 0, b: 255 - r } } })
      .png()
      .toBuffer();
  const tiff = await sharp([await page(255), await page(0), await page(0)], { join: { animated: true } })
    .tiff()
    .toBuffer();
  assert.equal((await sharp(tiff, { pages: -1 }).metadata()).pages, 3);
  assert.equal((await probeImage(tiff)).height, 4);
  const img = await decodeForModel(tiff, p(4, 4));
  const [r, g, b] = px(img, 1, 1);
  assert.ok(img.height === 4 && r! > 240 && g! < 15 && b! < 15, `first page is red: ${[r, g, b]}`);
});

test('decodes in flight share a pixel budget; an image over it runs alone', async () => {
  const budget = new PixelBudget(100);
  let running = 0;
  let peak = 0;
  const job = (pixels: number) =>
    budget.run(pixels, async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    });
  await Promise.all([job(40), job(40), job(40), job(40)]);
  assert.equal(peak, 2);
  peak = 0;
  await Promise.all([job(10), job(1000), job(10)]);
  assert.equal(peak, 1, 'the large one waits for the first and holds the whole budget');
  peak = 0;
  await Promise.all(Array.from({ length: 10 }, () => job(10)));
  assert.equal(peak, 10);
});

test("libvips' operation cache is off once Graft decodes, so decoded inputs are not kept alive", async () => {
  await decodeForModel(await raw(pattern(12, 8), 12, 8).png().toBuffer(), p(4, 4));
  const c = sharp.cache();
  assert.deepEqual([c.memory.max, c.files.max, c.items.max], [0, 0, 0]);
});
