import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GraftError } from '../../errors.js';

/** An IDX array (the MNIST file format): a typed array in row-major order and its dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, { name: string; size: number }> = {
  0x08: { name: 'uint8', size: 1 },
  0x09: { name: 'int8', size: 1 },
  0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 },
  0x0d: { name: 'float32', size: 4 },
  0x0e: { name: 'float64', size: 8 },
};

/**
 * Parses IDX bytes (gzip-compressed or not): two zero bytes, a type code, the number of dimensions, the
 * dimensions as big-endian uint32, then big-endian values.
 */
export function parseIdx(bytes: Uint8Array, file?: string): IdxArray {
  let b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
  const bad = (found: string): never => {
    throw new GraftError('BAD_INPUT', 'Not an IDX file', {
      file,
      expected: 'magic 00 00 <type> <ndims>, then ndims big-endian sizes and the values',
      found,
      fix: 'pass an MNIST-style *-idx?-ubyte(.gz) file',
    });
  };
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) bad(`first bytes ${[...b.subarray(0, 4)].join(' ')}`);
  const type = IDX_TYPES[b[2]!];
  if (!type) return bad(`type code 0x${b[2]!.toString(16)}`);
  const nd = b[3]!;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const header = 4 + 4 * nd;
  if (b.length < header) bad(`${b.length} bytes, shorter than the header`);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, d) => a * d, 1);
  if (b.length !== header + count * type.size) {
    bad(`${b.length - header} data bytes for dims [${dims.join(', ')}] of ${type.name} (want ${count * type.size})`);
  }
  let data: IdxArray['data'];
  switch (type.name) {
    case 'uint8':
      data = b.slice(header);
      break;
    case 'int8':
      data = new Int8Array(b.slice(header).buffer);
      break;
    default: {
      const out =
        type.name === 'int16'
          ? new Int16Array(count)
          : type.name === 'int32'
            ? new Int32Array(count)
            : type.name === 'float32'
              ? new Float32Array(count)
              : new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const o = header + i * type.size;
        out[i] =
          type.name === 'int16'
            ? view.getInt16(o, false)
            : type.name === 'int32'
              ? view.getInt32(o, false)
              : type.name === 'float32'
                ? view.getFloat32(o, false)
                : view.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { dims, data };
}

export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new GraftError('IO', 'Cannot read IDX file', { file, found: String(e), cause: e });
  }
  return parseIdx(bytes, file);
}

/** Where Debian's dataset-fashion-mnist package installs the four IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST class names, in label order (0 = T-shirt/top ... 9 = Ankle boot). */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

export interface MnistSplit {
  /** N x 28 x 28 grey values, 0 = background */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  classes: readonly string[];
}

/**
 * Reads Fashion-MNIST's train (60,000) or test (10,000) split from the Debian package's IDX files (or the
 * same file names under `dir`). Missing files are a GraftError naming the package to install.
 */
export function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): MnistSplit {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const labelsFile = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  for (const f of [imagesFile, labelsFile]) {
    if (!existsSync(f)) {
      throw new GraftError('NOT_FOUND', 'Fashion-MNIST is not installed', {
        file: f,
        fix:
          dir === FASHION_MNIST_DIR
            ? 'install the Debian package: apt-get install dataset-fashion-mnist'
            : `put the four *-idx?-ubyte.gz files in ${dir}, or install the Debian package dataset-fashion-mnist`,
      });
    }
  }
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  const [n, h, w] = images.dims;
  if (
    images.dims.length !== 3 ||
    !(images.data instanceof Uint8Array) ||
    labels.dims[0] !== n ||
    !(labels.data instanceof Uint8Array)
  ) {
    throw new GraftError('BAD_INPUT', 'Fashion-MNIST files do not match', {
      file: imagesFile,
      expected: 'uint8 images [N, 28, 28] and N uint8 labels',
      found: `images [${images.dims.join(', ')}], labels [${labels.dims.join(', ')}]`,
    });
  }
  return { images: images.data, labels: labels.data, count: n!, height: h!, width: w!, classes: FASHION_MNIST_CLASSES };
}
