// A store-only ZIP writer for the browser (the studio's transformers.js folder download): no compression,
// because the bulk of a model folder is float weights that deflate saves a few percent of, and storing keeps
// this a hundred lines with no dependency. ZIP64 records are written when an entry or the archive passes
// 4 GiB or 65,535 entries, so a large model still unpacks everywhere.
import { GraftError } from '../errors.js';

export interface ZipEntry {
  /** the path inside the archive, '/'-separated, relative ('onnx/model.onnx') */
  path: string;
  bytes: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as ZIP and gzip use it). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const U32 = 0xffffffff;
/** DOS date 1980-01-01 00:00: fixed, so the same files always make the same archive */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** A ZIP archive of the entries, stored (method 0), as its parts in order (`new Blob(parts)` in a page). */
export function zipStore(entries: readonly ZipEntry[]): Uint8Array[] {
  const enc = new TextEncoder();
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    if (!e.path || e.path.startsWith('/') || e.path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new GraftError('BAD_INPUT', 'A zip entry needs a relative path without empty, . or .. parts', {
        found: JSON.stringify(e.path),
      });
    }
    if (seen.has(e.path)) throw new GraftError('BAD_INPUT', 'Two zip entries share a path', { found: e.path });
    seen.add(e.path);
    const name = enc.encode(e.path);
    const crc = crc32(e.bytes);
    const size = e.bytes.length;
    const big = size >= U32 || offset >= U32;
    // local header: ZIP64 sizes go in an extra field when they do not fit 32 bits
    const localExtra = size >= U32 ? zip64Extra([size, size]) : new Uint8Array(0);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, big ? 45 : 20, true);
    local.setUint16(6, 0x0800, true); // names are UTF-8
    local.setUint16(8, 0, true);
    local.setUint16(10, 0, true);
    local.setUint16(12, DOS_DATE, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, size >= U32 ? U32 : size, true);
    local.setUint32(22, size >= U32 ? U32 : size, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, localExtra.length, true);
    parts.push(new Uint8Array(local.buffer), name, localExtra, e.bytes);

    const centralExtra = big
      ? zip64Extra([...(size >= U32 ? [size, size] : []), ...(offset >= U32 ? [offset] : [])])
      : new Uint8Array(0);
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, (3 << 8) | 45, true); // made by: unix, version 4.5
    c.setUint16(6, big ? 45 : 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint16(10, 0, true);
    c.setUint16(12, 0, true);
    c.setUint16(14, DOS_DATE, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, size >= U32 ? U32 : size, true);
    c.setUint32(24, size >= U32 ? U32 : size, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, centralExtra.length, true);
    c.setUint32(38, (0o100644 << 16) >>> 0, true); // a regular file, rw-r--r--
    c.setUint32(42, offset >= U32 ? U32 : offset, true);
    central.push(new Uint8Array(c.buffer), name, centralExtra);
    offset += 30 + name.length + localExtra.length + size;
  }
  const cdStart = offset;
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  parts.push(...central);
  const count = entries.length;
  if (count >= 0xffff || cdStart >= U32 || cdSize >= U32) {
    const z = new DataView(new ArrayBuffer(56 + 20));
    z.setUint32(0, 0x06064b50, true);
    z.setBigUint64(4, 44n, true);
    z.setUint16(12, 45, true);
    z.setUint16(14, 45, true);
    z.setBigUint64(24, BigInt(count), true);
    z.setBigUint64(32, BigInt(count), true);
    z.setBigUint64(40, BigInt(cdSize), true);
    z.setBigUint64(48, BigInt(cdStart), true);
    z.setUint32(56, 0x07064b50, true);
    z.setBigUint64(64, BigInt(cdStart + cdSize), true);
    z.setUint32(72, 1, true);
    parts.push(new Uint8Array(z.buffer));
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, Math.min(count, 0xffff), true);
  end.setUint16(10, Math.min(count, 0xffff), true);
  end.setUint32(12, Math.min(cdSize, U32), true);
  end.setUint32(16, Math.min(cdStart, U32), true);
  parts.push(new Uint8Array(end.buffer));
  return parts;
}

function zip64Extra(values: number[]): Uint8Array {
  const v = new DataView(new ArrayBuffer(4 + 8 * values.length));
  v.setUint16(0, 0x0001, true);
  v.setUint16(2, 8 * values.length, true);
  values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
  return new Uint8Array(v.buffer);
}
