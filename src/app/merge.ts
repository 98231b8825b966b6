// `graft merge`: joins what the shards of an array job wrote. For `graft embed --shard`, the blocks of rows in
// data set order, streamed into the one file a single run writes (the same bytes); for `graft compare --shard`,
// the runs into one study.json and compare.html (compare-shards.ts).
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { BadFile } from '../report/run-folder.js';
import { isShardedStudy, mergeStudyShards, type StudyMergeResult } from './compare-shards.js';
import { csvHeader, npyHeader } from './embed.js';
import {
  type EmbedShardMarker,
  embedShardDir,
  embedShardFile,
  embedShardMarkerFile,
  npyIndexFile,
  readEmbedShardMarker,
} from './embed-shards.js';
import { shardTag } from './shard.js';

export interface EmbedMergeResult {
  kind: 'embed';
  out: string;
  index?: string;
  format: EmbedShardMarker['format'];
  rows: number;
  dim: number;
  model: string;
  featureValue: string;
  shards: number;
  skipped: BadFile[];
}

export type MergeResult = EmbedMergeResult | ({ kind: 'compare' } & StudyMergeResult);

/**
 * TARGET is the --out of the shards: an embedding file (its shards are in TARGET.shards/) or a study folder
 * (its shards left shards/ in it).
 */
export async function mergeShards(target: string, opts: { cwd?: string } = {}): Promise<MergeResult> {
  const path = resolve(opts.cwd ?? process.cwd(), target);
  if (existsSync(embedShardDir(path))) return mergeEmbedShards(path);
  if (existsSync(path) && statSync(path).isDirectory() && isShardedStudy(path))
    return { kind: 'compare', ...(await mergeStudyShards(path)) };
  throw new GraftError('NOT_FOUND', 'No shards to merge here', {
    file: path,
    expected: `${basename(path)}.shards/ (graft embed --shard i/N --out ${basename(path)}) or a study folder with shards/ (graft compare --shard i/N --out DIR)`,
    fix: 'pass the --out the shards were given',
  });
}

async function mergeEmbedShards(out: string): Promise<EmbedMergeResult> {
  const dir = embedShardDir(out);
  const markers = readdirSync(dir)
    .filter((n) => n.endsWith('.done.json'))
    .map((n) => readEmbedShardMarker(join(dir, n))!);
  if (markers.length === 0) {
    throw new GraftError('NOT_FOUND', 'No shard has finished yet', {
      file: dir,
      fix: 'wait for the shards (graft embed --shard i/N) to finish, then merge',
    });
  }
  const first = markers[0]!;
  const count = first.shard.count;
  const same = (m: EmbedShardMarker) =>
    m.shard.count === count &&
    m.settings === first.settings &&
    m.dataset.fingerprint === first.dataset.fingerprint &&
    m.namespace === first.namespace &&
    m.format === first.format &&
    m.dim === first.dim;
  const odd = markers.find((m) => !same(m));
  if (odd) {
    throw new GraftError('BAD_INPUT', 'The shards belong to different jobs', {
      file: embedShardMarkerFile(out, odd.shard),
      expected: `every shard of one split of ${count}, with the same data, model and settings`,
      found: odd.shard.count !== count ? `a split of ${odd.shard.count}` : 'other data, model or settings',
      fix: `remove ${dir} and run the shards again with the same command and --shard i/N`,
    });
  }
  const byIndex = new Map(markers.map((m) => [m.shard.index, m]));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new GraftError('BAD_INPUT', `${missing.length} of ${count} shards have not finished`, {
      file: dir,
      found: `unfinished: ${missing.map((i) => `${i}/${count}`).join(', ')}`,
      fix: `run graft embed with --shard ${missing[0]}/${count} (and the others listed), then merge again`,
    });
  }
  const ordered = Array.from({ length: count }, (_, i) => byIndex.get(i)!);
  // the blocks must tile the data set's items exactly
  let at = 0;
  for (const m of ordered) {
    if (m.range[0] !== at)
      throw new GraftError('IO', 'The shard blocks do not join up', {
        file: dir,
        found: `block ${m.range.join('-')} after ${at}`,
      });
    at = m.range[1];
  }
  if (at !== first.dataset.items)
    throw new GraftError('IO', 'The shard blocks do not cover the data set', { file: dir });

  const rows = ordered.reduce((n, m) => n + m.rows, 0);
  const { format, dim } = first;
  const writer = new MergeWriter();
  try {
    if (format === 'npy') {
      const matrix = writer.open(out);
      matrix.write(npyHeader([rows, dim]));
      for (const m of ordered) {
        const file = embedShardFile(out, 'npy', m.shard);
        await matrix.append(file, npyDataOffset(file), m);
      }
      const index = writer.open(npyIndexFile(out));
      await appendLines(
        index,
        ordered,
        (m) => npyIndexFile(embedShardFile(out, 'npy', m.shard)),
        0,
        rows === 0 ? '\n' : '',
      );
    } else if (format === 'jsonl') {
      const f = writer.open(out);
      await appendLines(f, ordered, (m) => embedShardFile(out, 'jsonl', m.shard), 0, rows === 0 ? '\n' : '');
    } else {
      const f = writer.open(out);
      const head = `${csvHeader(dim)}\n`;
      f.write(new TextEncoder().encode(head));
      await appendLines(f, ordered, (m) => embedShardFile(out, 'csv', m.shard), Buffer.byteLength(head), '');
    }
    writer.commit();
  } catch (e) {
    writer.abort();
    throw e;
  }
  return {
    kind: 'embed',
    out,
    ...(format === 'npy' ? { index: npyIndexFile(out) } : {}),
    format,
    rows,
    dim,
    model: first.model,
    featureValue: first.featureValue,
    shards: count,
    skipped: [...first.scanSkipped, ...ordered.flatMap((m) => m.decodeFailed)],
  };
}

/**
 * Appends each shard's text file from `skip` bytes on, leaving out shards without rows (their file holds only a
 * header or an empty line); `whenEmpty` is what a run with no rows at all writes.
 */
async function appendLines(
  f: MergeFile,
  ordered: EmbedShardMarker[],
  fileOf: (m: EmbedShardMarker) => string,
  skip: number,
  whenEmpty: string,
): Promise<void> {
  for (const m of ordered) if (m.rows > 0) await f.append(fileOf(m), skip, m);
  if (whenEmpty) f.write(new TextEncoder().encode(whenEmpty));
}

/** Where the float32 data of an .npy file starts (v1: a 2-byte header length, v2/3: 4 bytes). */
function npyDataOffset(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 10 || head.readUInt32BE(0) !== 0x934e554d)
      throw new GraftError('IO', 'A shard matrix is not an .npy file', { file });
    return head[6] === 1 ? 10 + head.readUInt16LE(8) : 12 + head.readUInt32LE(8);
  } finally {
    closeSync(fd);
  }
}

interface MergeFile {
  write(bytes: Uint8Array): void;
  /** streams `file` from byte `skip` on, checking the whole file against the hash its marker recorded */
  append(file: string, skip: number, m: EmbedShardMarker): Promise<void>;
}

/**
 * Writes the merged files as temporary files beside their targets and renames them over the targets only when
 * every one is complete and fsynced: a merge that fails or is killed leaves no half-written output.
 */
class MergeWriter {
  private files: { fd: number; tmp: string; target: string }[] = [];

  open(target: string): MergeFile {
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.merge.tmp`);
    const fd = openSync(tmp, 'w', 0o644);
    this.files.push({ fd, tmp, target });
    const write = (bytes: Uint8Array) => {
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    };
    return {
      write,
      append: async (file, skip, m) => {
        const want = m.files.find((f) => f.name === basename(file));
        const h = createHash('sha256');
        let pos = 0;
        for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          h.update(chunk);
          const from = Math.max(0, skip - pos);
          if (from < chunk.length) write(chunk.subarray(from));
          pos += chunk.length;
        }
        if (!want || h.digest('hex') !== want.sha256 || pos !== want.bytes) {
          throw new GraftError('INTEGRITY', 'A shard file changed since its shard finished', {
            file,
            fix: `delete ${shardTag(m.shard)}.done.json beside it and run shard ${m.shard.index}/${m.shard.count} again`,
          });
        }
      },
    };
  }

  commit(): void {
    for (const f of this.files) {
      fsyncSync(f.fd);
      closeSync(f.fd);
    }
    for (const f of this.files) renameSync(f.tmp, f.target);
    this.files = [];
  }

  abort(): void {
    for (const f of this.files) {
      try {
        closeSync(f.fd);
      } catch {
        // already closed
      }
      rmSync(f.tmp, { force: true });
    }
    this.files = [];
  }
}
