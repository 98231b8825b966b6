import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { GraftError } from '../../errors.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist, parseIdx } from './idx.js';
import { put, tempDir } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir('graft-idx-')));
after(() => cleanup());

function idx(
  type: number,
  dims: number[],
  body: number[],
  size: number,
  write: (v: DataView, o: number, x: number) => void,
) {
  const head = 4 + 4 * dims.length;
  const buf = new Uint8Array(head + body.length * size);
  const v = new DataView(buf.buffer);
  buf[2] = type;
  buf[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  body.forEach((x, i) => write(v, head + i * size, x));
  return buf;
}

test('parses big-endian IDX of several types, gzipped or not', () => {
  const u8 = idx(0x08, [2, 3], [0, 1, 2, 253, 254, 255], 1, (v, o, x) => v.setUint8(o, x));
  const a = parseIdx(u8);
  assert.deepEqual(a.dims, [2, 3]);
  assert.ok(a.data instanceof Uint8Array);
  assert.deepEqual([...a.data], [0, 1, 2, 253, 254, 255]);
  assert.deepEqual([...parseIdx(gzipSync(u8)).data], [0, 1, 2, 253, 254, 255]);
  const i16 = parseIdx(idx(0x0b, [3], [-2, 300, 7], 2, (v, o, x) => v.setInt16(o, x, false)));
  assert.ok(i16.data instanceof Int16Array);
  assert.deepEqual([...i16.data], [-2, 300, 7]);
  const f32 = parseIdx(idx(0x0d, [2], [1.5, -0.25], 4, (v, o, x) => v.setFloat32(o, x, false)));
  assert.deepEqual([...f32.data], [1.5, -0.25]);
  const i8 = parseIdx(idx(0x09, [2], [-1, 5], 1, (v, o, x) => v.setInt8(o, x)));
  assert.deepEqual([...i8.data], [-1, 5]);
});

test('bad magic, unknown types and wrong lengths are GraftErrors', () => {
  const ok = idx(0x08, [4], [1, 2, 3, 4], 1, (v, o, x) => v.setUint8(o, x));
  assert.throws(
    () => parseIdx(Uint8Array.of(1, 2, 3, 4)),
    (e: unknown) => e instanceof GraftError && /Not an IDX file/.test(e.message),
  );
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 0x42, 1, 0, 0, 0, 0)), /type code 0x42/);
  assert.throws(() => parseIdx(ok.subarray(0, ok.length - 1)), /data bytes/);
});

test('loadFashionMnist reads a folder of the four files and names the apt package when they are missing', () => {
  const n = 3;
  const images = idx(
    0x08,
    [n, 2, 2],
    Array.from({ length: n * 4 }, (_, i) => i),
    1,
    (v, o, x) => v.setUint8(o, x),
  );
  const labels = idx(0x08, [n], [9, 0, 4], 1, (v, o, x) => v.setUint8(o, x));
  put(join(dir, 'fm/t10k-images-idx3-ubyte.gz'), gzipSync(images));
  put(join(dir, 'fm/t10k-labels-idx1-ubyte.gz'), gzipSync(labels));
  const t = loadFashionMnist('test', join(dir, 'fm'));
  assert.deepEqual([t.count, t.height, t.width], [3, 2, 2]);
  assert.deepEqual(
    [...t.labels].map((l) => t.classes[l]),
    ['Ankle boot', 'T-shirt/top', 'Coat'],
  );
  assert.deepEqual([...t.images.subarray(4, 8)], [4, 5, 6, 7]);
  assert.equal(FASHION_MNIST_CLASSES.length, 10);
  assert.throws(
    () => loadFashionMnist('train', join(dir, 'fm')),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && /dataset-fashion-mnist/.test(e.message),
  );
  assert.throws(
    () => loadFashionMnist('train', join(dir, 'nowhere')),
    /apt-get install dataset-fashion-mnist|dataset-fashion-mnist/,
  );
});
