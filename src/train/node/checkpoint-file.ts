// Node-only: checkpoint files on disk (the train layer's Node adapter). The browser-safe part (encode/decode) lives in ../checkpoint.ts.
import { appendFile, readFile } from 'node:fs/promises';
import { GraftError } from '../../errors.js';
import { writeFileAtomicAsync } from '../../node/atomic.js';
import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint.js';
import { checkpointEvery } from '../callbacks/checkpoint.js';
import type { Callback } from '../events.js';
import type { TrainingCheckpoint } from '../types.js';

// The checkpoint callers and the kill tests import the async writer under this name.
export { writeFileAtomicAsync as writeFileAtomic };

/** Writes a checkpoint atomically. */
export async function saveCheckpointFile(path: string, ckpt: TrainingCheckpoint | Uint8Array): Promise<void> {
  await writeFileAtomicAsync(path, ckpt instanceof Uint8Array ? ckpt : encodeCheckpoint(ckpt));
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
  return checkpointEvery({ ...opts, write: (bytes) => writeFileAtomicAsync(path, bytes) });
}

/** A writer for historyLogger that appends to a file. */
export function appendToFile(path: string): (text: string) => Promise<void> {
  return (text) => appendFile(path, text);
}
