import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
  type PathLike,
} from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GraftError } from '../errors.js';

/*
 * Both writers replace `path` so that a crash at any moment leaves either the old file or the new one,
 * never a mix: write a temporary file in the same directory (same file system, so rename is atomic),
 * fsync it, rename it over the target, then fsync the directory so the rename itself is durable.
 * Temp files are named `.<name>.<pid>.<random>.tmp`; a writer killed mid-write leaves one behind, and the
 * next write of the same target removes those whose process is gone.
 */

/**
 * Synchronous atomic write; creates the parent directory when missing. `chunks` are written in order,
 * so large files need not be concatenated first.
 */
export function writeFileAtomic(path: string, chunks: Uint8Array | Uint8Array[]): void {
  const dir = dirname(path);
  const tmp = tempPath(path);
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'wx', 0o644);
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* the temp file may not exist */
    }
    throw writeError(path, e, 'check that the folder is writable and the disk is not full');
  }
  syncDirectorySync(dir);
  for (const name of staleTemps(path, safeReaddirSync(dir))) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* another writer removed it first */
    }
  }
}

/**
 * Asynchronous atomic write. Unlike the synchronous one it does not create the directory: checkpoint
 * callers treat a missing run folder as an error, not something to paper over.
 */
export async function writeFileAtomicAsync(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(path, e, 'check that the directory exists, is writable and has free space');
  }
  await syncDirectory(dir);
  const names = await readdir(dir).catch(() => []);
  for (const name of staleTemps(path, names)) await unlink(join(dir, name)).catch(() => undefined);
}

function writeError(path: string, e: unknown, fix: string): GraftError {
  return new GraftError('IO', `Could not write ${path}`, { file: path, found: (e as Error).message, fix, cause: e });
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

function tempPath(path: string): string {
  return join(dirname(path), `${tempPrefix(path)}${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Temp files of `path` left by writers that were killed mid-write (their process is gone). */
function staleTemps(path: string, names: string[]): string[] {
  const prefix = tempPrefix(path);
  return names.filter((name) => {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return false;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeReaddirSync(dir: PathLike): string[] {
  try {
    return readdirSync(dir) as string[];
  } catch {
    return [];
  }
}

/** Errors that mean "this platform cannot fsync a directory"; there the rename is as durable as it gets. */
function cannotSyncDirectory(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return process.platform === 'win32' || code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL';
}

function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    if (!cannotSyncDirectory(e)) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!cannotSyncDirectory(e)) throw e;
  } finally {
    await fh?.close();
  }
}
