import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  createReadStream,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { GraftError } from '../../../errors.js';
import { markInUse, processAlive } from '../../../node/in-use.js';

export { processAlive };
import type { SourceSettings } from '../events.js';

/** A file held in the cache (or, for local sources, where it lies), with its content hash. */
export interface CachedFile {
  path: string;
  sha256: string;
  size: number;
}

/**
 * What a check of a cached blob found: intact (its bytes hash to its name), absent, or damaged (truncated,
 * changed, or not a file at all).
 */
export type BlobCheck =
  | { state: 'ok'; file: CachedFile }
  | { state: 'missing' }
  | { state: 'damaged'; path: string; sha256: string; found: string };

/** A blob's identity on disk: any write, truncation, replacement or `touch` changes one of these. */
function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Blobs verified by this process, by path, with the stat key they had then. */
const verifiedHere = new Map<string, string>();

/** How often the "last used" time of a blob (its verification record's mtime) is refreshed. */
const TOUCH_EVERY_MS = 3600_000;

/**
 * The one cache every source writes to. Files live under `blobs/sha256/ab/<hex>`, named by their content,
 * so two sources serving the same bytes share one copy and a name can never point at other bytes.
 * `refs/<kind>/` maps a source (an hf: path at a revision, an npm tarball, a conversion) to blob hashes.
 * Nothing appears under blobs/ or refs/ until it is complete: writers fill a file under `tmp/`, fsync it
 * and rename it into place. Interrupted downloads wait under `partial/` to be resumed.
 *
 * Blobs are verified by sha256, not trusted by name or size. A full hash costs a full read, so it is
 * recorded: `verified/sha256/ab/<hex>.json` holds the blob's (device, inode, size, mtime, ctime) at the
 * last full hash that matched. A blob whose stat still equals that record is trusted without reading it
 * (a stat per use); any write, truncation, replacement or copy changes the ctime or the inode and brings
 * a full hash before the blob is used again. Loaders hash the bytes they actually read as well (see
 * loadPulledModel), so a model is never built from bytes other than its hash, whatever the stat says.
 */
export class ContentCache {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The cache named by settings, else $GRAFT_CACHE_DIR, else $XDG_CACHE_HOME/graft, else ~/.cache/graft. */
  static open(settings: Pick<SourceSettings, 'cacheDir'> = {}, env: NodeJS.ProcessEnv = process.env): ContentCache {
    return new ContentCache(settings.cacheDir ?? defaultCacheDir(env));
  }

  blobPath(sha256: string): string {
    return join(this.root, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Where the record of the blob's last successful full hash lives. */
  verificationPath(sha256: string): string {
    return join(this.root, 'verified', 'sha256', sha256.slice(0, 2), `${sha256}.json`);
  }

  /**
   * Checks a blob: absent, intact, or damaged. Hashes it fully unless this process or the verification
   * record already saw it with the same stat. Marks it in use first, so `graft cache clean` leaves it be.
   * `audit`: hash in full whatever the record says, and do not mark the blob in use (graft cache verify).
   */
  async check(sha256: string, size?: number, opts: { audit?: boolean } = {}): Promise<BlobCheck> {
    const path = this.blobPath(sha256);
    if (!opts.audit) markInUse(this.root, `blob:${sha256}`);
    let st: BigIntStats;
    try {
      st = statSync(path, { bigint: true });
    } catch {
      return { state: 'missing' };
    }
    if (!st.isFile()) return { state: 'damaged', path, sha256, found: 'not a regular file' };
    const bytes = Number(st.size);
    if (size !== undefined && bytes !== size) {
      return {
        state: 'damaged',
        path,
        sha256,
        found: `${bytes} bytes where ${size} were stored (truncated or changed)`,
      };
    }
    const key = statKey(st);
    const file: CachedFile = { path, sha256, size: bytes };
    if (!opts.audit) {
      if (verifiedHere.get(path) === key) return { state: 'ok', file };
      if (this.readVerification(sha256) === key) {
        verifiedHere.set(path, key);
        this.touchVerification(sha256);
        return { state: 'ok', file };
      }
    }
    const hashed = await hashFile(path);
    if (hashed.sha256 !== sha256) {
      verifiedHere.delete(path);
      return { state: 'damaged', path, sha256, found: `sha256 ${hashed.sha256} (${hashed.size} bytes)` };
    }
    this.recordVerification(sha256, st);
    return { state: 'ok', file };
  }

  /** The blob when present and intact; undefined when absent or damaged (a damaged blob is removed). */
  async blob(sha256: string, size?: number): Promise<CachedFile | undefined> {
    const c = await this.check(sha256, size);
    if (c.state === 'damaged') await this.remove(sha256);
    return c.state === 'ok' ? c.file : undefined;
  }

  /** Deletes a blob and its verification record (the caller fetches it again, or refuses). */
  async remove(sha256: string): Promise<void> {
    verifiedHere.delete(this.blobPath(sha256));
    await rm(this.blobPath(sha256), { force: true, recursive: true });
    await rm(this.verificationPath(sha256), { force: true });
  }

  /** Drops the verification record, so the next use hashes the blob in full. */
  forget(sha256: string): void {
    verifiedHere.delete(this.blobPath(sha256));
    rmSync(this.verificationPath(sha256), { force: true });
  }

  /** The stat key recorded at the blob's last full hash, if any. */
  private readVerification(sha256: string): string | undefined {
    try {
      const v = JSON.parse(readFileSync(this.verificationPath(sha256), 'utf8')) as { sha256?: string; stat?: string };
      return v.sha256 === sha256 && typeof v.stat === 'string' ? v.stat : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records a successful full hash; written atomically (tmp + rename). A lost record only costs a re-hash. */
  private recordVerification(sha256: string, before: BigIntStats): void {
    const path = this.blobPath(sha256);
    let after: BigIntStats;
    try {
      after = statSync(path, { bigint: true });
    } catch {
      return;
    }
    // changed while it was being hashed: what was hashed may not be what is there now
    if (statKey(after) !== statKey(before)) return;
    verifiedHere.set(path, statKey(after));
    const record = this.verificationPath(sha256);
    try {
      const tmp = this.tempPath('verified');
      writeFileSync(tmp, JSON.stringify({ sha256, stat: statKey(after), verifiedAt: new Date().toISOString() }));
      mkdirSync(dirname(record), { recursive: true });
      renameSync(tmp, record);
    } catch {
      // a read-only cache: every process hashes on first use instead
    }
  }

  /** The record's mtime is the blob's last use (for `graft cache clean --older-than`); refreshed hourly. */
  private touchVerification(sha256: string): void {
    const record = this.verificationPath(sha256);
    try {
      if (Date.now() - statSync(record).mtimeMs < TOUCH_EVERY_MS) return;
      const now = new Date();
      utimesSync(record, now, now);
    } catch {
      // read-only or removed meanwhile
    }
  }

  /** A fresh path under tmp/ for a file that will be adopted or deleted. */
  tempPath(hint: string): string {
    const dir = join(this.root, 'tmp');
    mkdirSync(dir, { recursive: true });
    return join(
      dir,
      `${hint.replace(/[^A-Za-z0-9._-]/g, '_').slice(-40)}.${process.pid}.${randomBytes(6).toString('hex')}`,
    );
  }

  /** Moves a complete, fsynced file into blobs/ under its hash. The source file is gone afterwards. */
  async adopt(tempFile: string, sha256: string, size: number): Promise<CachedFile> {
    const path = this.blobPath(sha256);
    const existing = await this.check(sha256, size);
    if (existing.state === 'ok') {
      await rm(tempFile, { force: true });
      return existing.file;
    }
    // absent, or damaged: the fresh copy replaces it in one rename
    if (existing.state === 'damaged') await rm(path, { force: true, recursive: true });
    mkdirSync(dirname(path), { recursive: true });
    await rename(tempFile, path);
    await fsyncDir(dirname(path));
    // the bytes were hashed as they were written
    try {
      const st = statSync(path, { bigint: true });
      this.recordVerification(sha256, st);
    } catch {
      // removed meanwhile by a concurrent clean: the next use fetches it again
    }
    return { path, sha256, size };
  }

  /** Stores bytes as a blob (atomically). */
  async putBytes(bytes: Uint8Array, hint = 'blob'): Promise<CachedFile> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const hit = await this.check(sha256, bytes.byteLength);
    if (hit.state === 'ok') return hit.file;
    const tmp = this.tempPath(hint);
    const w = await HashingWriter.create(tmp);
    try {
      await w.write(bytes);
      await w.finish();
    } catch (e) {
      await w.abort();
      throw cacheWriteError(this.root, e);
    }
    return this.adopt(tmp, sha256, bytes.byteLength);
  }

  /** A ref (JSON) recorded for `key`, or undefined. */
  readRef<T>(kind: string, key: string): T | undefined {
    try {
      const data = JSON.parse(readFileSync(this.refPath(kind, key), 'utf8')) as { key?: string; value?: T };
      return data.key === key ? data.value : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(kind: string, key: string, value: unknown): Promise<void> {
    const path = this.refPath(kind, key);
    const tmp = this.tempPath(`ref-${kind}`);
    const w = await HashingWriter.create(tmp);
    try {
      await w.write(new TextEncoder().encode(JSON.stringify({ key, value }, null, 1)));
      await w.finish();
      mkdirSync(dirname(path), { recursive: true });
      await rename(tmp, path);
      await fsyncDir(dirname(path));
    } catch (e) {
      await w.abort();
      throw cacheWriteError(this.root, e);
    }
  }

  /** Where an interrupted download of `key` keeps its bytes between attempts (and between runs). */
  partialPath(key: string): string {
    const dir = join(this.root, 'partial');
    mkdirSync(dir, { recursive: true });
    return join(dir, sha256Hex(key).slice(0, 40));
  }

  /** Removes temp files left by processes that no longer run (a crash or a kill -9 mid-write). */
  sweepTemp(): void {
    const dir = join(this.root, 'tmp');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const pid = Number(/\.(\d+)\.[0-9a-f]{12}$/.exec(n)?.[1]);
      if (pid && pid !== process.pid && !processAlive(pid)) rmSync(join(dir, n), { recursive: true, force: true });
    }
  }

  private refPath(kind: string, key: string): string {
    return join(this.root, 'refs', kind, `${sha256Hex(key).slice(0, 40)}.json`);
  }
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GRAFT_CACHE_DIR) return env.GRAFT_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'graft');
  return join(homedir(), '.cache', 'graft');
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Streams a file through sha256. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  // 1 MiB reads: a third of the time 64 KiB reads take on a 20 MB model
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: h.digest('hex'), size };
}

/** Writes a file while hashing it; `finish()` fsyncs so a later rename publishes complete bytes only. */
export class HashingWriter {
  private hash = createHash('sha256');
  size = 0;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
  ) {}

  /** `append`: continue a partial file, hashing what it already holds first. */
  static async create(path: string, append = false): Promise<HashingWriter> {
    mkdirSync(dirname(path), { recursive: true });
    const w = new HashingWriter(path, await open(path, append ? 'a' : 'w'));
    if (append) {
      for await (const chunk of createReadStream(path)) {
        w.hash.update(chunk as Buffer);
        w.size += (chunk as Buffer).byteLength;
      }
    }
    return w;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.byteLength) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.byteLength - off);
      off += bytesWritten;
    }
    this.hash.update(chunk);
    this.size += chunk.byteLength;
  }

  /** fsyncs and closes; returns the content hash. */
  async finish(): Promise<string> {
    await this.fh.sync();
    await this.fh.close();
    return this.hash.digest('hex');
  }

  /** Flushes what was written so far (kept for resuming) and closes. */
  async close(): Promise<void> {
    try {
      await this.fh.sync();
    } finally {
      await this.fh.close().catch(() => undefined);
    }
  }

  /** Closes and deletes the file. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // some file systems cannot fsync a directory; the rename itself is still atomic
  }
}

export function cacheWriteError(root: string, e: unknown): GraftError {
  if (e instanceof GraftError) return e;
  return new GraftError('IO', `Cannot write to the model cache ${root}`, {
    file: root,
    found: (e as Error).message,
    fix: 'check that the folder is writable and the disk has room, or choose another with --cache-dir / GRAFT_CACHE_DIR',
    cause: e,
  });
}
