import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { GraftError } from '../../../errors.js';
import type { SourceSettings } from '../events.js';

/** A file held in the cache (or, for local sources, where it lies), with its content hash. */
export interface CachedFile {
  path: string;
  sha256: string;
  size: number;
}

/**
 * The one cache every source writes to. Files live under `blobs/sha256/ab/<hex>`, named by their content,
 * so two sources serving the same bytes share one copy and a name can never point at other bytes.
 * `refs/<kind>/` maps a source (an hf: path at a revision, an npm tarball, a conversion) to blob hashes.
 * Nothing appears under blobs/ or refs/ until it is complete: writers fill a file under `tmp/`, fsync it
 * and rename it into place. Interrupted downloads wait under `partial/` to be resumed.
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

  /** The blob when present (size checked, not the hash: re-hashing every hit would cost a full read). */
  blob(sha256: string, size?: number): CachedFile | undefined {
    const path = this.blobPath(sha256);
    try {
      const st = statSync(path);
      if (!st.isFile() || (size !== undefined && st.size !== size)) return undefined;
      return { path, sha256, size: st.size };
    } catch {
      return undefined;
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
    const existing = this.blob(sha256, size);
    if (existing) {
      await rm(tempFile, { force: true });
      return existing;
    }
    mkdirSync(dirname(path), { recursive: true });
    await rename(tempFile, path);
    await fsyncDir(dirname(path));
    return { path, sha256, size };
  }

  /** Stores bytes as a blob (atomically). */
  async putBytes(bytes: Uint8Array, hint = 'blob'): Promise<CachedFile> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const hit = this.blob(sha256, bytes.byteLength);
    if (hit) return hit;
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
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: h.digest('hex'), size };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
