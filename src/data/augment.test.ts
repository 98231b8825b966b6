import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { mulberry32 } from '../util/rng.js';
import {
  type AugmentParams,
  applyAugment,
  augmentImage,
  checkAugment,
  jitterColour,
  sampleAugment,
  standardAugment,
} from './augment.js';
import { type RawImage, flipHorizontal } from './image.js';
import type { Preprocessing } from './preprocessing.js';

const identity: AugmentParams = { crop: null, flip: false, angle: 0, brightness: 1, contrast: 1, saturation: 1 };

function pre(h: number, w: number): Preprocessing {
  return { size: [h, w], resize: 'squash', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW', channels: 3 };
}

function ramp(w: number, h: number): RawImage {
  return { data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 251), width: w, height: h, channels: 3 };
}

function pixel(img: RawImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

test('same seed gives the same draws and pixels; another seed does not', () => {
  const img = ramp(40, 30);
  const p = pre(16, 16);
  const a = augmentImage(img, standardAugment, p, mulberry32(7));
  const b = augmentImage(img, standardAugment, p, mulberry32(7));
  const c = augmentImage(img, standardAugment, p, mulberry32(8));
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const draws = (seed: number) => {
    const r = mulberry32(seed);
    return Array.from({ length: 50 }, () => sampleAugment(standardAugment, 640, 480, r));
  };
  assert.deepEqual(draws(3), draws(3));
});

test('flipping twice is the identity, and the augment flip matches an exact mirror', () => {
  const img = ramp(7, 5);
  assert.deepEqual(flipHorizontal(flipHorizontal(img)).data, img.data);
  const p = pre(5, 7);
  const once = applyAugment(img, { ...identity, flip: true }, p);
  assert.deepEqual([...once.data], [...flipHorizontal(img).data]);
  const twice = applyAugment(once, { ...identity, flip: true }, p);
  assert.deepEqual([...twice.data], [...img.data]);
  // no-op parameters give back the pixels exactly
  assert.deepEqual([...applyAugment(img, identity, p).data], [...img.data]);
});

test('random crops stay inside the image, within the area and aspect-ratio ranges', () => {
  const spec = { crop: { scale: [0.2, 0.9] as const, ratio: [0.5, 2] as const } };
  const rng = mulberry32(11);
  for (const [W, H] of [
    [100, 80],
    [64, 64],
    [300, 40],
  ] as const) {
    for (let i = 0; i < 500; i++) {
      const c = sampleAugment(spec, W, H, rng).crop!;
      assert.ok(c.x >= 0 && c.y >= 0 && c.x + c.w <= 1 + 1e-12 && c.y + c.h <= 1 + 1e-12, JSON.stringify(c));
      const ratio = (c.w * W) / (c.h * H);
      assert.ok(ratio >= 0.5 - 1e-9 && ratio <= 2 + 1e-9, `ratio ${ratio}`);
      if (W !== 300) assert.ok(c.w * c.h >= 0.2 - 1e-9 && c.w * c.h <= 0.9 + 1e-9, `area ${c.w * c.h}`);
    }
  }
});

test('a crop resamples exactly the chosen region', () => {
  const img = ramp(8, 4);
  // columns 2..5, all rows, to a 4x4 output at scale 1: exact copies
  const out = applyAugment(img, { ...identity, crop: { x: 0.25, y: 0, w: 0.5, h: 1 } }, pre(4, 4));
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.deepEqual(pixel(out, x, y), pixel(img, x + 2, y));
});

test('a 90 degree rotation turns the content counter-clockwise', () => {
  const img = ramp(3, 3);
  const out = applyAugment(img, { ...identity, angle: 90 }, pre(3, 3));
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      const want = pixel(img, 2 - y, x);
      const got = pixel(out, x, y);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(got[c]! - want[c]!) < 1e-9, `(${x},${y}) ${got} vs ${want}`);
    }
  }
});

test('colour jitter against hand-computed values', () => {
  const px = Float32Array.of(100, 100, 100, 200, 200, 200);
  jitterColour(px, 1.1, 0.5, 1);
  // brightness: 110, 220; contrast towards mean luminance 165
  assert.deepEqual(
    [...px].map((v) => Math.round(v * 1e4) / 1e4),
    [137.5, 137.5, 137.5, 192.5, 192.5, 192.5],
  );
  const grey = Float32Array.of(200, 100, 0);
  jitterColour(grey, 1, 1, 0);
  for (const v of grey) assert.ok(Math.abs(v - 118.5) < 1e-4);
  const vivid = Float32Array.of(200, 100, 0);
  jitterColour(vivid, 1, 1, 2);
  assert.deepEqual(
    [...vivid].map((v) => Math.round(v * 1e4) / 1e4),
    [255, 81.5, 0],
  );
});

test('without a crop, augmentation keeps the pad geometry and fills the border', () => {
  const img = ramp(4, 2);
  const p: Preprocessing = { ...pre(4, 4), resize: 'pad', padValue: 9 };
  const out = applyAugment(img, identity, p);
  assert.deepEqual([...out.data.subarray(0, 12)], new Array(12).fill(9));
  assert.deepEqual([...out.data.subarray(12, 36)], [...img.data]);
});

test('bad specs and non-RGB inputs are rejected', () => {
  assert.throws(() => checkAugment({ hflip: 2 }), GraftError);
  assert.throws(() => checkAugment({ crop: { scale: [0.9, 0.1] } }), GraftError);
  assert.throws(() => checkAugment({ brightness: 1.5 }), GraftError);
  assert.throws(
    () => applyAugment({ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, identity, pre(2, 2)),
    GraftError,
  );
});
