import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { type RawImage, batchDims, boxDownsample, resizeToModel, toRgb, writeNormalized } from './image.js';
import { type Preprocessing, checkPreprocessing, planResize, preprocessingKey } from './preprocessing.js';

const base: Preprocessing = {
  size: [20, 20],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  channels: 3,
};

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('checkPreprocessing rejects bad specs with a CONFIG GraftError', () => {
  assert.equal(checkPreprocessing(base), base);
  const cases: Partial<Preprocessing>[] = [
    { size: [0, 10] },
    { resize: 'stretch' as never },
    { cropFraction: 1.5 },
    { scale: 0 },
    { mean: [0, 0] },
    { std: [1, 0, 1] },
    { layout: 'CHW' as never },
    { channels: 2 as never },
    { alpha: 'keep' as never },
  ];
  for (const c of cases) {
    assert.throws(
      () => checkPreprocessing({ ...base, ...c }),
      (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
      JSON.stringify(c),
    );
  }
  // a one-channel model takes one mean and one std
  assert.throws(() => checkPreprocessing({ ...base, channels: 1 }), GraftError);
  checkPreprocessing({ ...base, channels: 1, mean: [0.5], std: [0.5] });
});

test('checkPreprocessing caps the input size, needs finite numbers, and never shows strings from the spec', () => {
  // 30000 x 30000 cost 13 GB in predict before onnxruntime gave up
  const huge = { ...base, size: [30000, 30000] as [number, number] };
  assert.throws(
    () => checkPreprocessing(huge),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'CONFIG' &&
      /Invalid preprocessing: size[\s\S]*at most 4.2 megapixels[\s\S]*found: +\[30000, 30000\]/.test(e.message),
  );
  assert.equal(checkPreprocessing(huge, { maxInputPixels: 30000 * 30000 }), huge);
  checkPreprocessing({ ...base, size: [2048, 2048] });
  assert.throws(() => checkPreprocessing({ ...base, size: [2048, 2049] }), /at most 4.2 megapixels/);
  const secret = 'PREPROCESSING-SECRET';
  const cases: unknown[] = [
    { ...base, size: [224, 1e400] },
    { ...base, size: [224, 224.5] },
    { ...base, size: secret },
    { ...base, size: [secret, 3] },
    { ...base, size: [1, 2, 3] },
    { ...base, scale: Infinity },
    { ...base, scale: secret },
    { ...base, mean: [0, NaN, 0] },
    { ...base, mean: [0, secret, 0] },
    { ...base, std: [1, 1, Infinity] },
    { ...base, resize: secret },
    { ...base, layout: secret },
    { ...base, cropFraction: NaN },
    { ...base, padValue: secret },
    null,
    secret,
    [base],
  ];
  for (const c of cases) {
    assert.throws(
      () => checkPreprocessing(c as Preprocessing),
      (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && !JSON.stringify(e.toJSON()).includes(secret),
      String(JSON.stringify(c)),
    );
  }
});

test('preprocessingKey is stable and sensitive to output-changing fields', () => {
  assert.equal(preprocessingKey(base), preprocessingKey({ ...base, mean: [...base.mean] }));
  assert.notEqual(preprocessingKey(base), preprocessingKey({ ...base, layout: 'NHWC' }));
  // default crop fraction spelled out or not is the same preprocessing
  const s = { ...base, resize: 'shorter-side-then-crop' as const };
  assert.equal(preprocessingKey(s), preprocessingKey({ ...s, cropFraction: 0.875 }));
});

test('planResize geometry for each mode (100x50 source)', () => {
  assert.deepEqual(planResize(100, 50, { ...base, size: [20, 30] }), {
    src: { x: 0, y: 0, w: 100, h: 50 },
    dst: { x: 0, y: 0, w: 30, h: 20 },
  });
  // largest centred square is 50x50
  assert.deepEqual(planResize(100, 50, { ...base, resize: 'center-crop' }).src, { x: 25, y: 0, w: 50, h: 50 });
  // half of it: 25x25, centred
  assert.deepEqual(planResize(100, 50, { ...base, resize: 'center-crop', cropFraction: 0.5 }).src, {
    x: 37,
    y: 12,
    w: 25,
    h: 25,
  });
  // letterbox: 20x10 in the middle of 20x20
  assert.deepEqual(planResize(100, 50, { ...base, resize: 'pad' }), {
    src: { x: 0, y: 0, w: 100, h: 50 },
    dst: { x: 0, y: 5, w: 20, h: 10 },
  });
  // shorter side to floor(20 / 0.8) = 25 -> 50x25, crop 20x20 at (15, round-half-even(2.5) = 2)
  const s = planResize(100, 50, { ...base, resize: 'shorter-side-then-crop', cropFraction: 0.8 });
  assert.deepEqual(s.intermediate, { w: 50, h: 25, cropX: 15, cropY: 2 });
  assert.deepEqual(s.src, { x: 30, y: 4, w: 40, h: 40 });
  // ImageNet default: 224 from 256
  const im = planResize(500, 375, { ...base, size: [224, 224], resize: 'shorter-side-then-crop' });
  assert.deepEqual(im.intermediate, { w: 341, h: 256, cropX: 58, cropY: 16 });
});

test('writeNormalized: scale, mean, std and layout against hand-computed values', () => {
  const img: RawImage = { data: Uint8Array.of(10, 20, 30, 40, 50, 60), width: 2, height: 1, channels: 3 };
  const p: Preprocessing = { ...base, size: [1, 2], scale: 0.5, mean: [1, 2, 3], std: [2, 4, 5] };
  const nchw = new Float32Array(12);
  writeNormalized(img, p, nchw, 1);
  close(nchw, [0, 0, 0, 0, 0, 0, 2, 9.5, 2, 5.75, 2.4, 5.4]);
  const nhwc = new Float32Array(6);
  writeNormalized(img, { ...p, layout: 'NHWC' }, nhwc, 0);
  close(nhwc, [2, 2, 2.4, 9.5, 5.75, 5.4]);
  // luminance: Y = 18.15 and 48.15
  const grey = new Float32Array(2);
  writeNormalized(img, { ...p, channels: 1, mean: [1], std: [2] }, grey, 0);
  close(grey, [4.0375, 11.5375]);
  assert.deepEqual(batchDims(4, p), [4, 3, 1, 2]);
  assert.deepEqual(batchDims(4, { ...p, layout: 'NHWC' }), [4, 1, 2, 3]);
  assert.throws(() => writeNormalized(img, p, new Float32Array(6), 1), GraftError);
  assert.throws(() => writeNormalized(img, { ...p, size: [2, 2] }, nchw, 0), GraftError);
});

test('toRgb replicates grey and flattens alpha on white (or drops it)', () => {
  const ga: RawImage = { data: Uint8Array.of(100, 255, 100, 0, 100, 51), width: 3, height: 1, channels: 2 };
  close(toRgb(ga).data, [100, 100, 100, 255, 255, 255, 224, 224, 224]);
  close(toRgb(ga, 'drop').data, [100, 100, 100, 100, 100, 100, 100, 100, 100]);
  const rgba: RawImage = { data: Uint8Array.of(0, 50, 200, 128), width: 1, height: 1, channels: 4 };
  const a = 128 / 255;
  close(toRgb(rgba).data, [255 * (1 - a), 50 * a + 255 * (1 - a), 200 * a + 255 * (1 - a)], 1e-4);
  assert.throws(() => toRgb({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }), GraftError);
});

test('resizeToModel: same size is exact, pad fills outside the box, big shrinks average', () => {
  const w = 4;
  const h = 2;
  const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 11) % 256);
  const img: RawImage = { data, width: w, height: h, channels: 3 };
  const p = { ...base, size: [2, 4] as [number, number] };
  close(resizeToModel(img, planResize(w, h, p), p).data, [...data]);
  // 4x2 into 4x4 letterbox: rows 0 and 3 are the pad value, rows 1-2 the image
  const padP: Preprocessing = { ...base, size: [4, 4], resize: 'pad', padValue: 7 };
  const out = resizeToModel(img, planResize(w, h, padP), padP).data;
  close(out.subarray(0, 12), new Array(12).fill(7));
  close(out.subarray(12, 36), [...data]);
  close(out.subarray(36, 48), new Array(12).fill(7));
  // an 8x8 checkerboard of 0/255 squashed to 1x1 averages to 127.5 (box pre-shrink, no aliasing)
  const board = Uint8Array.from({ length: 64 * 3 }, (_, i) => {
    const px = Math.floor(i / 3);
    return ((px % 8) + Math.floor(px / 8)) % 2 ? 255 : 0;
  });
  const oneP = { ...base, size: [1, 1] as [number, number] };
  close(
    resizeToModel({ data: board, width: 8, height: 8, channels: 3 }, planResize(8, 8, oneP), oneP).data,
    [127.5, 127.5, 127.5],
  );
  close(boxDownsample({ data: Uint8Array.of(1, 3, 5, 7, 9), width: 5, height: 1, channels: 1 }, 2).data, [2, 6, 9]);
});
