import { existsSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../../errors.js';
import { type FeatureStore, checkFinite, firstNonFinite } from '../feature-store.js';
import { writeFileAtomic } from '../../node/atomic.js';
import { markInUse } from '../../node/in-use.js';

const MAGIC = 0x54465247; // 'GRFT' little-endian
const VERSION = 1;

/** How often the mtime of a store that is only read is refreshed (it is its "last used" time). */
const TOUCH_EVERY_MS = 3600_000;

/**
 * A feature store persisted as one file per namespace: a JSON header (namespace, dim, keys) followed by the
 * float32 vectors in key order. Flushes rewrite the file atomically, so an interrupted run keeps every
 * vector of the last flush and never a torn file. A store holding a non-finite vector (written before
 * Graft refused them, or damaged) is not reused at all: every vector of it came from the same, suspect
 * model. Opening a store marks it in use (`graft cache clean` leaves it) and refreshes its mtime, which is
 * its last use for `graft cache clean --older-than`.
 */
export class FileFeatureStore implements FeatureStore {
  private map = new Map<string, Float32Array>();
  private dirty = false;
  readonly path: string;
  /** why the stored vectors were dropped on opening, if they were */
  discarded?: string;

  private constructor(
    dir: string,
    readonly namespace: string,
    readonly dim: number,
  ) {
    this.path = join(dir, `${namespace}.features`);
  }

  static open(dir: string, namespace: string, dim: number): FileFeatureStore {
    if (!/^[A-Za-z0-9._-]+$/.test(namespace)) {
      throw new GraftError('BAD_INPUT', `Feature namespace '${namespace}' is not a safe file name`, {
        fix: 'use letters, digits, dot, dash and underscore (a hash)',
      });
    }
    const s = new FileFeatureStore(dir, namespace, dim);
    markInUse(dir, `features:${namespace}`);
    if (existsSync(s.path)) {
      s.load();
      touch(s.path);
    }
    return s;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): Float32Array | undefined {
    return this.map.get(key);
  }

  set(key: string, vector: Float32Array): void {
    if (vector.length !== this.dim) {
      throw new GraftError('SHAPE_MISMATCH', `Feature vector for ${key} has the wrong length`, {
        expected: String(this.dim),
        found: String(vector.length),
      });
    }
    checkFinite(key, vector);
    this.map.set(key, vector);
    this.dirty = true;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.mergeFromDisk();
    const keys = [...this.map.keys()];
    const header = new TextEncoder().encode(JSON.stringify({ namespace: this.namespace, dim: this.dim, keys }));
    const pre = new Uint8Array(12);
    const dv = new DataView(pre.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setUint32(4, VERSION, true);
    dv.setUint32(8, header.byteLength, true);
    const pad = new Uint8Array((4 - ((12 + header.byteLength) % 4)) % 4);
    const data = new Float32Array(keys.length * this.dim);
    keys.forEach((k, i) => data.set(this.map.get(k)!, i * this.dim));
    writeFileAtomic(this.path, [pre, header, pad, new Uint8Array(data.buffer)]);
    this.dirty = false;
  }

  /**
   * What a store file holds, without opening it as a store (no in-use mark, no mtime refresh): for
   * `graft cache ls | verify`. `problem` says why it would not be reused.
   */
  static inspect(path: string): { namespace?: string; dim?: number; vectors?: number; problem?: string } {
    try {
      const f = decodeFeatureFile(readFileSync(path), path);
      const nonFinite = firstNonFinite(f.data);
      return {
        namespace: f.namespace,
        dim: f.dim,
        vectors: f.keys.length,
        problem: nonFinite >= 0 ? 'holds a non-finite vector (not reused; recomputed on next use)' : undefined,
      };
    } catch (e) {
      return { problem: e instanceof GraftError ? `damaged: ${e.fields.found}` : String(e) };
    }
  }

  /**
   * Another process sharing the cache (a shard, a worker) may have flushed since this store was opened: its
   * vectors are taken in before this flush replaces the file, so neither loses the other's work. A file that
   * is damaged or holds a non-finite vector contributes nothing.
   */
  private mergeFromDisk(): void {
    if (this.discarded || !existsSync(this.path)) return;
    let f;
    try {
      f = decodeFeatureFile(readFileSync(this.path), this.path);
    } catch {
      return;
    }
    if (f.dim !== this.dim || firstNonFinite(f.data) >= 0) return;
    f.keys.forEach((k, i) => {
      if (!this.map.has(k)) this.map.set(k, f.data.subarray(i * this.dim, (i + 1) * this.dim));
    });
  }

  private load(): void {
    const f = decodeFeatureFile(readFileSync(this.path), this.path);
    if (f.dim !== this.dim) throw damaged(this.path, `vectors of ${f.dim} values, expected ${this.dim}`);
    const nonFinite = firstNonFinite(f.data);
    if (nonFinite >= 0) {
      // rewritten (empty, then with recomputed vectors) on the next flush
      this.discarded = `a non-finite value in the vector of ${f.keys[Math.floor(nonFinite / this.dim)]}`;
      this.dirty = true;
      return;
    }
    f.keys.forEach((k, i) => this.map.set(k, f.data.subarray(i * this.dim, (i + 1) * this.dim)));
  }
}

function damaged(path: string, found: string): GraftError {
  return new GraftError('IO', 'The feature cache file is damaged', {
    file: path,
    found,
    fix: 'delete the file (or run `graft cache clean --features`); the features will be recomputed',
  });
}

function decodeFeatureFile(
  buf: Buffer,
  path: string,
): { namespace: string; dim: number; keys: string[]; data: Float32Array } {
  if (buf.byteLength < 12) throw damaged(path, `${buf.byteLength} bytes`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== VERSION) throw damaged(path, 'an unknown header');
  const hlen = dv.getUint32(8, true);
  let header: { namespace?: unknown; dim?: unknown; keys?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen))) as typeof header;
  } catch {
    throw damaged(path, 'an unreadable header');
  }
  const keys = header?.keys;
  const dim = header?.dim;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw damaged(path, 'no key list');
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0) throw damaged(path, 'no vector size');
  const start = 12 + hlen + ((4 - ((12 + hlen) % 4)) % 4);
  const need = keys.length * dim * 4;
  if (buf.byteLength - start !== need) throw damaged(path, `${buf.byteLength - start} data bytes, expected ${need}`);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + need));
  return { namespace: String(header.namespace ?? ''), dim, keys: keys as string[], data };
}

function touch(path: string): void {
  try {
    if (Date.now() - statSync(path).mtimeMs < TOUCH_EVERY_MS) return;
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // read-only cache
  }
}
