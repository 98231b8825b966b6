import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { GraftError } from '../../errors.js';
import { formatBytes } from '../limits.js';

/** Why a data file was not read; the kinds are data set issue kinds, so a scan reports them as they are. */
export interface ReadRefusal {
  kind: 'not-a-file' | 'too-large' | 'unreadable' | 'empty-file';
  detail: string;
}

export type BoundedRead = { bytes: Buffer } | { refused: ReadRefusal };

/** 'a FIFO (named pipe)', 'a character device' ...: what a non-regular file is, for reports. */
export function describeFileType(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

// O_NONBLOCK: opening a FIFO would otherwise wait for a writer (forever, holding a thread of libuv's pool);
// it changes nothing for regular files. O_NOCTTY: a terminal named like an image never becomes ours.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Reads a data file only if it is a regular file of at most `maxBytes`, and never more than `maxBytes` of it.
 * The type is checked with stat before opening (so devices are never opened), then again with the size on
 * the open descriptor (fstat), which must be the same file: a path swapped for a FIFO or a device in between
 * is refused, and the open itself cannot block. A file that grows while read is refused once it passes the
 * limit, so /dev/zero behind a symlink, a FIFO named x.png or a 100 GB file cost nothing.
 */
export async function readBounded(path: string, maxBytes: number): Promise<BoundedRead> {
  const tooLarge = (size: number): BoundedRead =>
    refuse('too-large', `${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit for one file`);
  const opened = await openRegular(path);
  if ('refused' in opened) return opened;
  const { fh, st } = opened;
  try {
    if (st.size > maxBytes) return tooLarge(st.size);
    // one byte over the limit is enough to know the file is too large
    let buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) return tooLarge(n);
        const grown = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(2 * buf.length, 64 * 1024)));
        buf.copy(grown, 0, 0, n);
        buf = grown;
      }
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) return tooLarge(n);
    if (n === 0) return refuse('empty-file', '0 bytes');
    return { bytes: buf.subarray(0, n) };
  } catch (e) {
    return refuse('unreadable', errorCode(e));
  } finally {
    await fh.close();
  }
}

/**
 * The first `maxBytes` bytes (or fewer) of a regular file of any size, e.g. to sniff a table's header row;
 * refused like readBounded for anything that is not a regular file.
 */
export async function readHead(path: string, maxBytes: number): Promise<BoundedRead> {
  const opened = await openRegular(path);
  if ('refused' in opened) return opened;
  try {
    const buf = Buffer.alloc(Math.min(maxBytes, opened.st.size + 1));
    const { bytesRead } = await opened.fh.read(buf, 0, buf.length, 0);
    return { bytes: buf.subarray(0, bytesRead) };
  } catch (e) {
    return refuse('unreadable', errorCode(e));
  } finally {
    await opened.fh.close();
  }
}

function refuse(kind: ReadRefusal['kind'], detail: string): { refused: ReadRefusal } {
  return { refused: { kind, detail } };
}

/** stat, then open without blocking, then fstat: the same regular file at both ends, or a refusal. */
async function openRegular(path: string): Promise<{ fh: FileHandle; st: Stats } | { refused: ReadRefusal }> {
  let before: Stats;
  try {
    before = await stat(path);
  } catch (e) {
    return refuse('unreadable', errorCode(e));
  }
  if (!before.isFile()) return refuse('not-a-file', `${describeFileType(before)}, not a regular file`);
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (e) {
    return refuse('unreadable', errorCode(e));
  }
  let now: Stats;
  try {
    now = await fh.stat();
  } catch (e) {
    await fh.close();
    return refuse('unreadable', errorCode(e));
  }
  if (now.isFile() && now.dev === before.dev && now.ino === before.ino) return { fh, st: now };
  await fh.close();
  if (!now.isFile()) return refuse('not-a-file', `${describeFileType(now)}, not a regular file`);
  return refuse('unreadable', 'replaced while being opened');
}

/**
 * readBounded for callers that want an error: a GraftError (BAD_INPUT) naming the file and the reason,
 * e.g. for `graft predict FILES`.
 */
export async function readDataFile(path: string, maxBytes: number, what = 'Data file'): Promise<Buffer> {
  const r = await readBounded(path, maxBytes);
  if ('bytes' in r) return r.bytes;
  const { kind, detail } = r.refused;
  throw new GraftError('BAD_INPUT', `${what} not read: ${kind === 'empty-file' ? 'empty' : detail}`, {
    file: path,
    expected: `a regular file of at most ${formatBytes(maxBytes)}`,
    found: detail,
    fix:
      kind === 'too-large'
        ? 'raise the limit (graft: --max-file-mb) if the file is genuine'
        : kind === 'not-a-file'
          ? 'point at a regular file (FIFOs, devices and sockets are never read)'
          : 'check the path and its permissions',
  });
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.name : 'error');
}
