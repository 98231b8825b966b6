import { GraftError } from '../errors.js';
import type { TrainingCheckpoint } from './types.js';

/*
 * One self-checking file, browser-safe (bytes in, bytes out):
 *   "GRAFTCKP" | u32 version | u32 header bytes | u64 blob bytes | header JSON (padded to 8) | blobs | u32 crc32 | "DONE"
 * The JSON holds the structure; typed arrays live in the blob area, 8-byte aligned, referenced by offset.
 * The length fields and the trailing checksum let a reader tell a complete file from a half-written one.
 * Array bytes are stored in the platform's order, which is little-endian on every platform onnxruntime runs on.
 */

const MAGIC = 'GRAFTCKP';
const END = 'DONE';
const VERSION = 1;
const PREFIX = 24;
const SUFFIX = 8;
const KIND = 'graft.training-checkpoint';

type ArrayCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const ARRAYS: Record<string, ArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

type AnyTyped = InstanceType<ArrayCtor>;

function arrayTag(v: unknown): string | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return undefined;
  for (const [tag, ctor] of Object.entries(ARRAYS)) if (v instanceof ctor) return tag;
  return undefined;
}

/** Encodes JSON-like data that may contain typed arrays, non-finite numbers and bigints. */
export function encodeRecord(kind: string, value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  let blobBytes = 0;
  const walk = (v: unknown, path: string): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : { $num: String(v) };
    if (typeof v === 'bigint') return { $big: v.toString() };
    const tag = arrayTag(v);
    if (tag) {
      const a = v as AnyTyped;
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      const ref = { $array: tag, offset: blobBytes, length: a.length };
      blobs.push(bytes);
      blobBytes += align8(bytes.byteLength);
      return ref;
    }
    if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : walk(x, `${path}[${i}]`)));
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as object)) {
        if (x !== undefined) out[k] = walk(x, `${path}.${k}`);
      }
      // keep user keys that look like our markers from being read back as markers
      return Object.keys(out).some((k) => k.startsWith('$')) ? { $object: out } : out;
    }
    throw new GraftError('BAD_INPUT', 'Cannot store this value in a checkpoint', {
      value: path,
      expected: 'plain objects, arrays, numbers, strings, booleans, bigints or typed arrays',
      found: typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v,
    });
  };
  const header = new TextEncoder().encode(JSON.stringify({ kind, value: walk(value, '$') }));
  const headerPadded = align8(header.byteLength);
  const total = PREFIX + headerPadded + blobBytes + SUFFIX;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, header.byteLength, true);
  dv.setBigUint64(16, BigInt(blobBytes), true);
  out.set(header, PREFIX);
  let at = PREFIX + headerPadded;
  for (const b of blobs) {
    out.set(b, at);
    at += align8(b.byteLength);
  }
  dv.setUint32(at, crc32(out.subarray(0, at)), true);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = END.charCodeAt(i);
  return out;
}

/** Decodes what `encodeRecord` wrote; any damage is a GraftError('CHECKPOINT') naming `file`. */
export function decodeRecord(bytes: Uint8Array, expectKind: string, file?: string): unknown {
  const fail = (what: string, expected: string, found: string, fix: string): never => {
    throw new GraftError('CHECKPOINT', `${file ? `Checkpoint ${file}` : 'Checkpoint'} ${what}`, {
      file,
      expected,
      found,
      fix,
    });
  };
  const restart = 'delete it and resume from an older checkpoint, or start training afresh';
  if (bytes.byteLength < PREFIX + SUFFIX || ascii(bytes, 0, 8) !== MAGIC) {
    fail(
      'is not a Graft checkpoint',
      `a file starting with '${MAGIC}'`,
      bytes.byteLength < 8 ? `${bytes.byteLength} bytes` : `'${printable(bytes.subarray(0, 8))}'`,
      'pass a checkpoint written by Graft (graft train --checkpoint)',
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version > VERSION) {
    fail(
      `was written by a newer Graft (format ${version})`,
      `format <= ${VERSION}`,
      String(version),
      'upgrade graft to read it',
    );
  }
  const headerBytes = dv.getUint32(12, true);
  const blobBytes = Number(dv.getBigUint64(16, true));
  const want = PREFIX + align8(headerBytes) + blobBytes + SUFFIX;
  if (bytes.byteLength !== want) {
    fail(
      bytes.byteLength < want ? 'is incomplete (cut off while being written or copied)' : 'has trailing bytes',
      `${want} bytes`,
      `${bytes.byteLength} bytes`,
      restart,
    );
  }
  const at = want - SUFFIX;
  if (ascii(bytes, at + 4, 4) !== END || dv.getUint32(at, true) !== crc32(bytes.subarray(0, at))) {
    fail('is corrupt (checksum mismatch)', 'a CRC-32 matching the contents', 'a different checksum', restart);
  }
  let parsed: { kind?: unknown; value?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerBytes)));
  } catch (e) {
    return fail('has an unreadable header', 'JSON', (e as Error).message, restart);
  }
  if (parsed.kind !== expectKind) {
    fail('holds something else', expectKind, String(parsed.kind), 'pass the right file');
  }
  const blobStart = PREFIX + align8(headerBytes);
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$num === 'string') return Number(o.$num);
    if (typeof o.$big === 'string') return BigInt(o.$big);
    if (typeof o.$array === 'string') {
      const ctor = ARRAYS[o.$array];
      const offset = o.offset as number;
      const length = o.length as number;
      if (!ctor || !Number.isInteger(offset) || !Number.isInteger(length)) {
        return fail('has a bad array reference', 'a known array type', JSON.stringify(o), restart);
      }
      const start = blobStart + offset;
      const end = start + length * ctor.BYTES_PER_ELEMENT;
      if (end > at) return fail('has an array past its data area', `<= ${at}`, String(end), restart);
      // copy into a fresh buffer: the source may be unaligned, and Node's Buffer.slice would not copy
      const copy = new Uint8Array(end - start);
      copy.set(bytes.subarray(start, end));
      return new ctor(copy.buffer);
    }
    const wrapped = typeof o.$object === 'object' && o.$object !== null && Object.keys(o).length === 1;
    const src = wrapped ? (o.$object as Record<string, unknown>) : o;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(src)) out[k] = revive(x);
    return out;
  };
  return revive(parsed.value);
}

export function encodeCheckpoint(ckpt: TrainingCheckpoint): Uint8Array {
  return encodeRecord(KIND, ckpt);
}

/** Reads a training checkpoint; `file` is named in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file?: string): TrainingCheckpoint {
  const v = decodeRecord(bytes, KIND, file) as Partial<TrainingCheckpoint> | null;
  const missing: string[] = [];
  const has = (k: keyof TrainingCheckpoint, ok: (x: unknown) => boolean) => {
    if (!v || !ok(v[k])) missing.push(k);
  };
  const isObj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  has('epoch', Number.isInteger);
  has('step', Number.isInteger);
  has('params', (x) => isObj(x) && Object.values(x as object).every((a) => a instanceof Float32Array));
  has('optimizer', (x) => isObj(x) && typeof (x as { kind?: unknown }).kind === 'string');
  has('rng', (x) => Array.isArray(x) && x.length === 4);
  has('history', Array.isArray);
  has('config', isObj);
  has('callbacks', isObj);
  if (missing.length) {
    throw new GraftError('CHECKPOINT', `${file ? `Checkpoint ${file}` : 'Checkpoint'} lacks required fields`, {
      file,
      expected: 'epoch, step, params, optimizer, rng, history, config, callbacks',
      found: `missing or malformed: ${missing.join(', ')}`,
      fix: 'the file was not written by this trainer; start fresh or pass the right file',
    });
  }
  return v as TrainingCheckpoint;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

function printable(b: Uint8Array): string {
  return Array.from(b, (c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : '.')).join('');
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320). */
export function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const t = CRC_TABLE;
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
