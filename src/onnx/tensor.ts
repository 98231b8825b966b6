import { GraftError } from '../errors.js';
import { type DType, type TypedArray, bytesOf, dtypeOfArray, dtypeSize, typedFromBytes } from './dtype.js';

/** Where an initializer's bytes live when they are not inside the model file. */
export interface ExternalRef {
  location: string;
  offset: number;
  /** undefined: to the end of the file */
  length?: number;
  /** other key/value pairs of TensorProto.external_data (e.g. checksum), kept for the round trip */
  extra?: Record<string, string>;
}

/**
 * The most elements one tensor may declare: 2^31 (8 GiB of float32). Larger tensors cannot be held in one
 * JavaScript array buffer on every platform Graft runs on, and a file declaring more is hostile or broken.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;

/**
 * Checks a tensor's declared dims before anything is allocated from them: each a non-negative safe
 * integer, the element count at most MAX_TENSOR_ELEMENTS. Returns the element count.
 */
export function checkTensorDims(name: string, dtype: DType, dims: readonly number[], file?: string): number {
  const shape = `${dtype} [${dims.join(', ')}]`;
  const bad = dims.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined) {
    throw new GraftError('BAD_MODEL', `Tensor '${name}' declares an invalid dimension (${bad})`, {
      file,
      value: name,
      expected: 'dimensions that are whole numbers from 0 to 2^53',
      found: shape,
      fix: 're-export the model; the file is damaged or was not written by an ONNX exporter',
    });
  }
  // Multiplied in floating point: the product only needs comparing with the bound, not to be exact beyond it.
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new GraftError('BAD_MODEL', `Tensor '${name}' declares more elements than Graft can hold`, {
      file,
      value: name,
      expected: `at most ${MAX_TENSOR_ELEMENTS} elements (2^31)`,
      found: `${shape}: ${size.toExponential(2)} elements`,
      fix: "check the tensor's dims in the exporter; a shape this large is a damaged or hostile file",
    });
  }
  return size;
}

/** Resolves external data: returns the whole file named by `location` (relative to the model file). */
export type ExternalDataLoader = (location: string) => Uint8Array;

/**
 * A constant tensor (an initializer or a Constant/attribute value). Numeric data is held as little-endian
 * bytes, loaded on first use when it lives in an external file, so opening a large model costs little.
 */
export class Tensor {
  name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  docString?: string;
  /** where the bytes came from, when external; kept so an untouched model can be written back the same way */
  external?: ExternalRef;
  private raw?: Uint8Array;
  private strings?: Uint8Array[];
  private loader?: ExternalDataLoader;

  constructor(
    name: string,
    dtype: DType,
    dims: readonly number[],
    data: { bytes?: Uint8Array; strings?: Uint8Array[]; external?: ExternalRef; loader?: ExternalDataLoader },
  ) {
    checkTensorDims(name, dtype, dims);
    this.name = name;
    this.dtype = dtype;
    this.dims = dims;
    this.raw = data.bytes;
    this.strings = data.strings;
    this.external = data.external;
    this.loader = data.loader;
    if (this.raw && dtype !== 'string') {
      const want = this.size * dtypeSize(dtype);
      if (this.raw.byteLength !== want) {
        throw new GraftError('BAD_MODEL', `Tensor '${name}' holds the wrong number of bytes`, {
          value: name,
          expected: `${want} bytes (${dtype} [${dims.join(', ')}])`,
          found: `${this.raw.byteLength} bytes`,
          fix: 're-export the model; the file may be truncated',
        });
      }
    }
  }

  /** Builds a tensor from a typed array; the array is used as is (not copied). */
  static from(name: string, data: TypedArray | number[], dims: readonly number[], dtype?: DType): Tensor {
    const arr = Array.isArray(data) ? toTyped(data, dtype ?? 'float32') : data;
    const d = dtype ?? dtypeOfArray(arr);
    return new Tensor(name, d, [...dims], { bytes: bytesOf(arr) });
  }

  static fromStrings(name: string, values: string[], dims: readonly number[]): Tensor {
    const enc = new TextEncoder();
    return new Tensor(name, 'string', [...dims], { strings: values.map((s) => enc.encode(s)) });
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  get isLoaded(): boolean {
    return this.raw !== undefined || this.strings !== undefined;
  }

  /** Little-endian bytes of the data (loads external data on first call). */
  get bytes(): Uint8Array {
    if (this.dtype === 'string') {
      throw new GraftError('BAD_INPUT', `Tensor '${this.name}' holds strings, not bytes`, { value: this.name });
    }
    if (!this.raw) this.raw = this.loadExternal();
    return this.raw;
  }

  get stringData(): Uint8Array[] {
    if (this.dtype !== 'string') {
      throw new GraftError('BAD_INPUT', `Tensor '${this.name}' is ${this.dtype}, not string`, { value: this.name });
    }
    return this.strings ?? [];
  }

  /** A fresh, aligned typed array copy of the data. */
  toArray(): TypedArray {
    return typedFromBytes(this.dtype, this.bytes);
  }

  /** Data as plain numbers (int64 converted with Number()), for small tensors such as shapes and axes. */
  toNumbers(): number[] {
    const a = this.toArray();
    return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
  }

  /** Replaces the data (e.g. with trained weights); drops any external reference. */
  setData(data: TypedArray): void {
    const bytes = bytesOf(data);
    if (bytes.byteLength !== this.size * dtypeSize(this.dtype)) {
      throw new GraftError('SHAPE_MISMATCH', `New data for tensor '${this.name}' has the wrong size`, {
        value: this.name,
        expected: `${this.size} elements of ${this.dtype}`,
        found: `${bytes.byteLength} bytes`,
      });
    }
    this.raw = bytes;
    this.external = undefined;
    this.loader = undefined;
  }

  /** An independent copy; external data not read yet stays lazy (the copy reads it from the same file). */
  clone(name = this.name): Tensor {
    let t: Tensor;
    if (this.dtype === 'string') t = new Tensor(name, 'string', [...this.dims], { strings: [...this.stringData] });
    else if (!this.raw && this.external && this.loader) {
      const external = { ...this.external, extra: this.external.extra && { ...this.external.extra } };
      t = new Tensor(name, this.dtype, [...this.dims], { external, loader: this.loader });
    } else {
      t = new Tensor(name, this.dtype, [...this.dims], { bytes: new Uint8Array(this.bytes) });
      if (this.external) t.external = { ...this.external };
    }
    t.docString = this.docString;
    return t;
  }

  private loadExternal(): Uint8Array {
    const ext = this.external;
    if (!ext || !this.loader) {
      throw new GraftError('BAD_MODEL', `Tensor '${this.name}' has no data`, {
        value: this.name,
        expected: ext ? `a loader for external file '${ext.location}'` : 'raw or typed data in the tensor',
        found: ext ? 'external data but no way to read it' : 'an empty tensor',
        fix: ext
          ? 'open the model from its file path (loadOnnxFile) so external data files beside it can be read'
          : 're-export the model',
      });
    }
    // The declared dims say how many bytes this tensor is; check them against the reference before reading.
    const want = this.size * dtypeSize(this.dtype);
    const declared = ext.length ?? want;
    if (declared !== want) throw externalLengthError(this.name, ext, want);
    const file = this.loader(ext.location);
    if (ext.offset + want > file.byteLength) {
      throw new GraftError('BAD_MODEL', `External data for tensor '${this.name}' runs past the end of its file`, {
        file: ext.location,
        value: this.name,
        expected: `${ext.offset + want} bytes (offset ${ext.offset} + ${want} bytes of ${this.dtype} [${this.dims.join(', ')}])`,
        found: `${file.byteLength} bytes`,
        fix: 'the external data file is truncated or does not belong to this model; copy it again',
      });
    }
    return file.subarray(ext.offset, ext.offset + want);
  }
}

/** The error for an external reference whose `length` disagrees with the tensor's dims. */
export function externalLengthError(name: string, ext: ExternalRef, want: number, file?: string): GraftError {
  return new GraftError('BAD_MODEL', `External data for tensor '${name}' has the wrong length`, {
    file,
    value: name,
    expected: `${want} bytes, as its dims need`,
    found: `length ${ext.length} in the reference to '${ext.location}'`,
    fix: 're-export the model with its external data; the reference does not match the tensor',
  });
}

function toTyped(data: number[], dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(data);
    case 'float64':
      return Float64Array.from(data);
    case 'int64':
      return BigInt64Array.from(data, (v) => BigInt(v));
    case 'int32':
      return Int32Array.from(data);
    case 'int8':
      return Int8Array.from(data);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(data);
    default:
      throw new GraftError('BAD_INPUT', `Cannot build a ${dtype} tensor from a number array`, {
        fix: 'pass a typed array instead',
      });
  }
}
