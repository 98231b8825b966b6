import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { type RawImage, resizeToModel } from '../image.js';
import { type Preprocessing, type ResizeMode, planResize } from '../preprocessing.js';
import { decodeForAugment, decodeForModel, probeImage } from './decode.js';
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
