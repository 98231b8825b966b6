import { GraftError } from '../errors.js';

/** Element types of ONNX tensors, named as onnxruntime-common names them. */
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'bfloat16';

/** TensorProto.DataType codes, index = code. */
const CODES: readonly (DType | undefined)[] = [
  undefined,
  'float32',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'float64',
  'uint32',
  'uint64',
  undefined, // complex64
  undefined, // complex128
  'bfloat16',
];

export function dtypeFromCode(code: number): DType {
  const d = CODES[code];
  if (!d) {
    throw new GraftError('BAD_MODEL', `Unsupported tensor element type code ${code}`, {
      expected: 'one of float32, float64, float16, bfloat16, (u)int8/16/32/64, bool, string',
      found: `TensorProto.DataType ${code}`,
      fix: 'convert the model to a supported element type',
    });
  }
  return d;
}

export function dtypeCode(d: DType): number {
  return CODES.indexOf(d);
}

export function dtypeSize(d: DType): number {
  switch (d) {
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'float64':
    case 'int64':
    case 'uint64':
      return 8;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      return 2;
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
    case 'string':
      return 0;
  }
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Copies little-endian bytes into a fresh, aligned typed array of the dtype. */
export function typedFromBytes(d: DType, bytes: Uint8Array): TypedArray {
  const size = dtypeSize(d);
  if (size === 0) throw new GraftError('BAD_INPUT', 'string tensors have no numeric view');
  const copy = new Uint8Array(bytes); // aligned copy (ONNX raw data is little-endian, like every platform onnxruntime runs on)
  const n = copy.byteLength / size;
  switch (d) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, n);
    case 'float64':
      return new Float64Array(copy.buffer, 0, n);
    case 'int8':
      return new Int8Array(copy.buffer, 0, n);
    case 'uint8':
    case 'bool':
      return copy;
    case 'int16':
      return new Int16Array(copy.buffer, 0, n);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(copy.buffer, 0, n);
    case 'int32':
      return new Int32Array(copy.buffer, 0, n);
    case 'uint32':
      return new Uint32Array(copy.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, n);
    case 'uint64':
      return new BigUint64Array(copy.buffer, 0, n);
    default:
      throw new GraftError('BAD_INPUT', `no typed array for ${d}`);
  }
}

export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The dtype a typed array naturally holds (Uint8Array is taken as uint8, Uint16Array as uint16). */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigInt64Array) return 'int64';
  return 'uint64';
}
