// Where the shards of `graft embed --shard i/N` put their work, and the marker that says a shard finished: a
// folder `<out>.shards/` beside the final output holds `<i>-of-<N>.<ext>` (and `.rows.jsonl` for npy) and,
// written last, `<i>-of-<N>.done.json`. `graft merge <out>` joins them (merge.ts).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GraftError } from '../errors.js';
import type { BadFile } from '../report/run-folder.js';
import { type Shard, type ShardMarker, readShardMarker, shardTag } from './shard.js';

export const EMBED_SHARD_KIND = 'graft-embed-shard';

/** A finished embedding shard: what it wrote, and what the merge needs to check shards belong together. */
export interface EmbedShardMarker extends ShardMarker {
  /** the data set every shard scanned: item count and a hash of (id, label, split, content hash) per item */
  dataset: { items: number; fingerprint: string };
  /** the block of the data set's items this shard embedded */
  range: [number, number];
  format: 'npy' | 'jsonl' | 'csv';
  rows: number;
  dim: number;
  model: string;
  featureValue: string;
  /** feature-store namespace: model hash, cut, pooling, preprocessing */
  namespace: string;
  computed: number;
  reused: number;
  /** files the scan left out (the same in every shard) */
  scanSkipped: BadFile[];
  /** files of this shard's block that failed to decode */
  decodeFailed: BadFile[];
  /** the shard's output files (names inside the shard folder) with their size and sha256 */
  files: { name: string; bytes: number; sha256: string }[];
}

export function embedShardDir(out: string): string {
  return `${out}.shards`;
}

export function embedShardFile(out: string, format: string, s: Shard): string {
  return join(embedShardDir(out), `${shardTag(s)}.${format}`);
}

/** The row index beside an .npy matrix: `x.npy` -> `x.rows.jsonl`. */
export function npyIndexFile(npy: string): string {
  return `${npy.replace(/\.npy$/i, '')}.rows.jsonl`;
}

export function embedShardMarkerFile(out: string, s: Shard): string {
  return join(embedShardDir(out), `${shardTag(s)}.done.json`);
}

/**
 * A finished shard's marker, checked field by field: its names and numbers decide which files are read and
 * written, so a hostile marker (format '../x', a file name with a slash) is refused, not followed.
 */
export function readEmbedShardMarker(file: string): EmbedShardMarker | undefined {
  const m = readShardMarker<EmbedShardMarker>(file, EMBED_SHARD_KIND);
  if (!m) return undefined;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const text = (v: unknown) => typeof v === 'string';
  const badFiles = (v: unknown) =>
    !Array.isArray(v) || !v.every((b: Partial<BadFile>) => b && text(b.path) && text(b.reason));
  const problem = !['npy', 'jsonl', 'csv'].includes(m.format as string)
    ? 'an unknown format'
    : !count(m.rows) || !count(m.dim) || !count(m.computed) || !count(m.reused)
      ? 'counts that are not whole numbers'
      : !Array.isArray(m.range) || m.range.length !== 2 || !m.range.every(count) || m.range[0] > m.range[1]
        ? 'no valid block of items'
        : !m.dataset || !count(m.dataset.items) || !text(m.dataset.fingerprint)
          ? 'no data set record'
          : ![m.model, m.featureValue, m.namespace].every(text)
            ? 'no model record'
            : badFiles(m.scanSkipped) || badFiles(m.decodeFailed)
              ? 'a bad list of skipped files'
              : !Array.isArray(m.files) ||
                  !m.files.every(
                    (f) => f && /^[\w.-]+$/.test(f.name) && count(f.bytes) && /^[0-9a-f]{64}$/.test(f.sha256),
                  )
                ? 'a bad list of output files'
                : undefined;
  if (problem) {
    throw new GraftError('IO', 'The shard marker is damaged or was written by something else', {
      file,
      found: problem,
      fix: 'delete it and run that shard again',
    });
  }
  return m;
}

/** Size and sha256 of each output file, for the marker (and to check a finished shard's files are intact). */
export async function describeFiles(paths: readonly string[]): Promise<EmbedShardMarker['files']> {
  const out: EmbedShardMarker['files'] = [];
  for (const p of paths) out.push({ name: basename(p), bytes: statSync(p).size, sha256: await sha256File(p) });
  return out;
}

/** Whether every file a marker lists is in `dir` with the recorded size and hash. */
export async function filesIntact(dir: string, files: EmbedShardMarker['files']): Promise<boolean> {
  for (const f of files) {
    const p = join(dir, f.name);
    if (!existsSync(p) || statSync(p).size !== f.bytes || (await sha256File(p)) !== f.sha256) return false;
  }
  return true;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', fail)
      .on('end', () => done(h.digest('hex')));
  });
}
