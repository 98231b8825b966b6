// Node-only: checkpoint files on disk. The browser-safe part (encode/decode) lives in checkpoint.ts.
import { randomBytes } from 'node:crypto';
import { appendFile, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GraftError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { checkpointEvery } from './callbacks/checkpoint.js';
import type { Callback } from './events.js';
import type { TrainingCheckpoint } from './types.js';

/**
 * Replaces `path` with `bytes` so that a crash at any moment leaves either the old file or the new one,
 * never a mix: write a temporary file in the same directory (same file system, so rename is atomic),
 * fsync it, rename it over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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
    throw new GraftError('IO', `Could not write ${path}`, {
      file: path,
      found: (e as Error).message,
      fix: 'check that the directory exists, is writable and has free space',
      cause: e,
    });
  }
  await syncDirectory(dir);
  await removeStaleTemps(path);
}

/** Writes a checkpoint atomically. */
export async function saveCheckpointFile(path: string, ckpt: TrainingCheckpoint | Uint8Array): Promise<void> {
  await writeFileAtomic(path, ckpt instanceof Uint8Array ? ckpt : encodeCheckpoint(ckpt));
}

/** Reads and checks a checkpoint file; damage is a GraftError('CHECKPOINT') naming the file. */
export async function loadCheckpointFile(path: string): Promise<TrainingCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GraftError(missing ? 'NOT_FOUND' : 'IO', `Cannot read checkpoint ${path}`, {
      file: path,
      found: (e as Error).message,
      fix: missing ? 'check the path, or start training without --resume' : 'check the file permissions',
      cause: e,
    });
  }
  return decodeCheckpoint(bytes, path);
}

/** The checkpoint at `path`, or undefined when there is none yet (a fresh run). */
export async function loadCheckpointIfPresent(path: string): Promise<TrainingCheckpoint | undefined> {
  try {
    return await loadCheckpointFile(path);
  } catch (e) {
    if (e instanceof GraftError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}

/** A callback that writes the checkpoint to `path` (atomically) after every `every` epochs. */
export function fileCheckpoint(path: string, opts: { every?: number; name?: string } = {}): Callback {
  return checkpointEvery({ ...opts, write: (bytes) => writeFileAtomic(path, bytes) });
}

/** A writer for historyLogger that appends to a file. */
export function appendToFile(path: string): (text: string) => Promise<void> {
  return (text) => appendFile(path, text);
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Windows cannot open or fsync a directory; there the rename is as durable as it gets.
    const code = (e as NodeJS.ErrnoException).code;
    if (process.platform !== 'win32' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw e;
  } finally {
    await fh?.close();
  }
}

/** Temp files left by writers that were killed mid-write (their process is gone). */
async function removeStaleTemps(path: string): Promise<void> {
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
