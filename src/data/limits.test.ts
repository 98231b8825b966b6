import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { DEFAULT_DATA_LIMITS, dataLimits, formatBytes, formatPixels, limitsFromOptions } from './limits.js';

test('dataLimits fills the defaults and refuses anything but positive integers', () => {
  assert.deepEqual(dataLimits(), DEFAULT_DATA_LIMITS);
  assert.equal(dataLimits({ maxImagePixels: 10 }).maxImagePixels, 10);
  assert.equal(dataLimits({ maxImagePixels: 10 }).maxImageBytes, 64 * 1024 ** 2);
  for (const v of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => dataLimits({ maxTableRows: v }),
      (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
    );
  }
});

test('limitsFromOptions maps the CLI flags; tables are never capped below their default by --max-file-mb', () => {
  assert.deepEqual(limitsFromOptions({}), DEFAULT_DATA_LIMITS);
  const big = limitsFromOptions({ maxFileMb: 500, maxPixels: 200_000_000, maxInputPixels: 4096 * 4096 });
  assert.deepEqual(
    [big.maxImageBytes, big.maxTextBytes, big.maxTableBytes, big.maxImagePixels, big.maxInputPixels],
    [500 * 1024 ** 2, 500 * 1024 ** 2, 500 * 1024 ** 2, 200_000_000, 4096 * 4096],
  );
  const small = limitsFromOptions({ maxFileMb: 0.5 });
  assert.deepEqual([small.maxImageBytes, small.maxTableBytes], [512 * 1024, 256 * 1024 ** 2]);
  assert.throws(() => limitsFromOptions({ maxFileMb: 0 }), /--max-file-mb/);
  assert.throws(() => limitsFromOptions({ maxPixels: 1.5 }), /maxImagePixels/);
});

test('sizes and pixel counts read well in messages', () => {
  assert.deepEqual(
    [formatBytes(12), formatBytes(3 * 1024), formatBytes(64 * 1024 ** 2), formatBytes(20 * 1024 ** 3)],
    ['12 bytes', '3 KiB', '64 MiB', '20 GiB'],
  );
  assert.deepEqual([formatPixels(96), formatPixels(8192 * 8192)], ['96 pixels', '67.1 megapixels']);
});
