// Sharded jobs on the array-job engines users already run (Kubernetes Indexed Jobs, Slurm job arrays, AWS
// Batch array jobs): each process of the array is told its index by the engine and does its share of the work;
// `graft merge` joins the shares. Graft schedules nothing itself.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { GraftError } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';

/** This process's share of a job split N ways: 0 <= index < count. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The variables array-job engines set to a process's index, in the order they are consulted. Slurm numbers
 * tasks from --array's first value (often 1), so its index is taken relative to SLURM_ARRAY_TASK_MIN.
 */
export const SHARD_INDEX_VARIABLES: readonly string[] = [
  'JOB_COMPLETION_INDEX',
  'SLURM_ARRAY_TASK_ID',
  'AWS_BATCH_JOB_ARRAY_INDEX',
];

/**
 * `--shard i/N` (or `--shard N`, the index from the array-job variables): which share of the job this process
 * does. A Shard object is checked and returned as it is.
 */
export function resolveShard(spec: string | Shard, env: NodeJS.ProcessEnv = process.env): Shard {
  if (typeof spec !== 'string') return checkShard(spec.index, spec.count, `${spec.index}/${spec.count}`);
  const m = /^\s*(?:(\d+)\s*\/\s*)?(\d+)\s*$/.exec(spec);
  if (!m) {
    throw new GraftError('BAD_INPUT', 'Cannot read the shard', {
      found: spec,
      expected: 'i/N (this is shard i of N, counted from 0), or N with the index from the array-job variable',
      fix: `use e.g. --shard 0/4, or --shard 4 in a job that sets ${SHARD_INDEX_VARIABLES.join(', ')}`,
    });
  }
  const count = Number(m[2]);
  if (m[1] !== undefined) return checkShard(Number(m[1]), count, spec);
  const fromEnv = indexFromEnv(env);
  if (!fromEnv) {
    throw new GraftError('BAD_INPUT', `--shard ${count} needs the shard index`, {
      expected: `one of ${SHARD_INDEX_VARIABLES.join(', ')} set by the array job, or --shard i/${count}`,
      found: 'none of them set',
      fix: `pass --shard i/${count} with i from 0 to ${count - 1}`,
    });
  }
  return checkShard(fromEnv.index, count, `${fromEnv.variable}=${fromEnv.raw} of ${count}`);
}

function indexFromEnv(env: NodeJS.ProcessEnv): { index: number; variable: string; raw: string } | undefined {
  for (const variable of SHARD_INDEX_VARIABLES) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw)) {
      throw new GraftError('BAD_INPUT', `The array-job index ${variable} is not a whole number`, {
        found: raw,
        fix: `unset ${variable}, or pass the shard as --shard i/N`,
      });
    }
    let index = Number(raw);
    if (variable === 'SLURM_ARRAY_TASK_ID') {
      const min = env.SLURM_ARRAY_TASK_MIN?.trim();
      if (min && /^\d+$/.test(min)) index -= Number(min);
    }
    return { index, variable, raw };
  }
  return undefined;
}

function checkShard(index: number, count: number, found: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new GraftError('BAD_INPUT', 'The shard index must lie in 0..N-1', {
      found,
      expected: 'i/N with N >= 1 and 0 <= i < N',
      fix: 'number shards from 0 (Slurm: --array=0-3 for 4 shards, or set SLURM_ARRAY_TASK_MIN)',
    });
  }
  return { index, count };
}

/** `3-of-8`: how shard files are named, sortable by index. */
export function shardTag(s: Shard): string {
  return `${s.index}-of-${s.count}`;
}

/** The contiguous block [start, end) of `total` items that shard `s` takes; blocks differ by at most one item. */
export function shardRange(total: number, s: Shard): [number, number] {
  return [Math.floor((s.index * total) / s.count), Math.floor(((s.index + 1) * total) / s.count)];
}

/** sha256 of a value's JSON: equal fingerprints mean shards worked on the same job. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** What every shard marker holds: which job and which share of it; the rest is the job's own. */
export interface ShardMarker {
  kind: string;
  version: 1;
  shard: Shard;
  /** fingerprint of the settings that decide the output: shards of one job agree on it */
  settings: string;
}

/**
 * Reads a shard's marker (written last, atomically, when the shard finished): undefined when the shard has not
 * finished. A marker of another kind, version or shape is an error naming the file.
 */
export function readShardMarker<M extends ShardMarker>(file: string, kind: string): M | undefined {
  if (!existsSync(file)) return undefined;
  let m: Partial<ShardMarker>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShardMarker>;
  } catch {
    throw badMarker(file, 'not valid JSON');
  }
  if (m?.kind !== kind || m.version !== 1 || typeof m.settings !== 'string') throw badMarker(file, 'another kind');
  const s = m.shard;
  if (!s || !Number.isSafeInteger(s.index) || !Number.isSafeInteger(s.count) || s.index < 0 || s.index >= s.count)
    throw badMarker(file, 'no valid shard index');
  return m as M;
}

export function writeShardMarker(file: string, marker: ShardMarker): void {
  writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(marker, null, 1) + '\n'));
}

function badMarker(file: string, found: string): GraftError {
  return new GraftError('IO', 'The shard marker is damaged or was written by something else', {
    file,
    found,
    fix: 'delete it and run that shard again',
  });
}
