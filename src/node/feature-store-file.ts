import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import type { FeatureStore } from '../transfer/feature-store.js';
import { writeFileAtomic } from './atomic.js';

const MAGIC = 0x54465247; // 'GRFT' little-endian
const VERSION = 1;

/**
 * A feature store persisted as one file per namespace: a JSON header (namespace, dim, keys) followed by the
 * float32 vectors in key order. Flushes rewrite the file atomically, so an interrupted run keeps every
 * vector of the last flush and never a torn file.
 */
export class FileFeatureStore implements FeatureStore {
  private map = new Map<string, Float32Array>();
  private dirty = false;
  readonly path: string;

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
    if (existsSync(s.path)) s.load();
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
    this.map.set(key, vector);
    this.dirty = true;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
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

  private load(): void {
    const buf = readFileSync(this.path);
    const bad = (found: string) =>
      new GraftError('IO', 'The feature cache file is damaged', {
        file: this.path,
        found,
        fix: 'delete the file; the features will be recomputed',
      });
    if (buf.byteLength < 12) throw bad(`${buf.byteLength} bytes`);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== VERSION) throw bad('an unknown header');
    const hlen = dv.getUint32(8, true);
    let header: { namespace: string; dim: number; keys: string[] };
    try {
      header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen)));
    } catch {
      throw bad('an unreadable header');
    }
    if (header.dim !== this.dim) throw bad(`vectors of ${header.dim} values, expected ${this.dim}`);
    const start = 12 + hlen + ((4 - ((12 + hlen) % 4)) % 4);
    const need = header.keys.length * this.dim * 4;
    if (buf.byteLength - start !== need) throw bad(`${buf.byteLength - start} data bytes, expected ${need}`);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + need));
    header.keys.forEach((k, i) => this.map.set(k, data.subarray(i * this.dim, (i + 1) * this.dim)));
  }
}
