// `graft compare --shard i/N`: each shard of an array job runs every N-th run of the study into the shared
// --out folder (run folders, subsets), and writes a marker when it has finished; `graft merge DIR` writes the
// one study.json and compare.html from the runs once every shard has finished.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import type { StudyRun } from '../report/compare.js';
import { writeFileAtomic } from '../node/atomic.js';
import {
  type CompareOptions,
  type CompareResult,
  type StudyHeader,
  STUDY_RUN_FILE,
  COMPARE_STRATEGIES,
  planStudy,
  readStudyRun,
  runOrKeep,
  studyFingerprint,
  studyRunName,
  writeStudy,
} from './compare.js';
import { type Shard, type ShardMarker, readShardMarker, resolveShard, shardTag, writeShardMarker } from './shard.js';

export const COMPARE_SHARD_KIND = 'graft-compare-shard';
/** Beside the shard markers: which study the folder's shards belong to, and how many there are. */
const JOB_FILE = 'job.json';

export interface CompareShardMarker extends ShardMarker {
  /** study.json without its runs: what the merge writes around them */
  header: StudyHeader;
  /** run folders (under runs/) this shard finished */
  runs: string[];
}

export interface CompareShardOptions extends CompareOptions {
  /** 'i/N', 'N' (i from the array-job variable) or a Shard */
  shard: string | Shard;
}

export interface CompareShardResult {
  out: string;
  shard: Shard & { alreadyDone: boolean };
  /** this shard's runs, in study order */
  runs: StudyRun[];
  /** the marker the merge looks for */
  marker: string;
  seconds: number;
}

export function compareShardDir(out: string): string {
  return join(out, 'shards');
}

function markerFile(out: string, s: Shard): string {
  return join(compareShardDir(out), `${shardTag(s)}.done.json`);
}

/**
 * Runs this shard's share of a study (every N-th run, round robin, so each shard gets a mix of strategies):
 * runs another attempt already finished are kept, so a killed shard continues where it stopped, and a
 * shard that finished with the same settings does nothing.
 */
export async function runCompareShard(opts: CompareShardOptions): Promise<CompareShardResult> {
  const started = performance.now();
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const shard = resolveShard(opts.shard, opts.env ?? process.env);
  if (opts.queue !== undefined) {
    throw new GraftError('BAD_INPUT', '--shard and --queue are two ways to split a study: pick one', {
      fix: 'use --shard i/N in an array job (Kubernetes, Slurm, AWS Batch), or --queue with graft worker processes',
    });
  }
  const { hash } = studyFingerprint(opts);
  claimFolder(out, hash, shard.count);
  const marker = markerFile(out, shard);
  const done = readShardMarker<CompareShardMarker>(marker, COMPARE_SHARD_KIND);
  if (done && done.settings === hash && done.shard.index === shard.index && done.shard.count === shard.count) {
    const runs = done.runs.map((name) => readStudyRun(join(out, 'runs', name, STUDY_RUN_FILE), parseRunName(name)));
    return { out, shard: { ...shard, alreadyDone: true }, runs, marker, seconds: 0 };
  }
  const plan = await planStudy(opts);
  const mine = plan.runs.filter((_, p) => p % shard.count === shard.index);
  const runs: StudyRun[] = [];
  for (const run of mine) runs.push(await runOrKeep(plan, run, opts, true));
  const m: CompareShardMarker = {
    kind: COMPARE_SHARD_KIND,
    version: 1,
    shard,
    settings: hash,
    header: plan.header,
    runs: mine.map((r) => studyRunName(r.strategy, r.fraction, r.seed)),
  };
  writeShardMarker(marker, m);
  return { out, shard: { ...shard, alreadyDone: false }, runs, marker, seconds: (performance.now() - started) / 1000 };
}

/**
 * The folder's shards must all belong to one study: the first shard records the study's fingerprint and the
 * shard count, and a shard of another study (or another split) is refused before it mixes its runs in.
 */
function claimFolder(out: string, hash: string, count: number): void {
  const file = join(compareShardDir(out), JOB_FILE);
  const job = readJob(file);
  if (job && (job.settings !== hash || job.count !== count)) {
    throw new GraftError('BAD_INPUT', 'The --out folder holds the shards of another study', {
      file,
      expected: `shards of this study split ${count} ways`,
      found: job.count !== count ? `a study split ${job.count} ways` : 'a study with other settings',
      fix: 'pass another --out, or run every shard with the same settings and --shard i/N',
    });
  }
  if (!job) writeFileAtomic(file, new TextEncoder().encode(JSON.stringify({ settings: hash, count }) + '\n'));
}

function readJob(file: string): { settings: string; count: number } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { settings?: unknown; count?: unknown };
    if (typeof j.settings === 'string' && typeof j.count === 'number') return { settings: j.settings, count: j.count };
  } catch {
    // reported below
  }
  throw new GraftError('IO', 'The shard folder record is damaged', {
    file,
    fix: 'delete the shards/ folder and run the shards again (finished runs are kept)',
  });
}

/** strategy-f10-seed2 -> the slot readStudyRun checks a result against */
function parseRunName(name: string): { strategy: string; fraction: number; seed: number } {
  const m = /^([a-z0-9-]+)-f([\d.]+)-seed(-?\d+)$/.exec(name);
  if (!m) throw new GraftError('IO', 'A shard marker names a run folder Graft did not write', { found: name });
  return { strategy: m[1]!, fraction: Number(m[2]) / 100, seed: Number(m[3]) };
}

export interface StudyMergeResult extends CompareResult {
  shards: number;
}

/** Whether `dir` holds the shards of a sharded study. */
export function isShardedStudy(dir: string): boolean {
  return existsSync(join(compareShardDir(dir), JOB_FILE));
}

/**
 * Joins a sharded study: every shard must have finished (the error names those that have not), then the runs'
 * results are collected in study order into one study.json and compare.html, as one `graft compare` writes.
 */
export async function mergeStudyShards(dir: string): Promise<StudyMergeResult> {
  const started = performance.now();
  const job = readJob(join(compareShardDir(dir), JOB_FILE));
  if (!job) {
    throw new GraftError('NOT_FOUND', 'No sharded study in this folder', {
      file: dir,
      expected: `shards/${JOB_FILE}, written by graft compare --shard i/N --out DIR`,
      fix: 'pass the --out folder the shards wrote to',
    });
  }
  const markers: CompareShardMarker[] = [];
  const missing: number[] = [];
  for (let index = 0; index < job.count; index++) {
    const m = readShardMarker<CompareShardMarker>(markerFile(dir, { index, count: job.count }), COMPARE_SHARD_KIND);
    if (!m || m.settings !== job.settings) missing.push(index);
    else markers.push(m);
  }
  if (missing.length) {
    throw new GraftError('BAD_INPUT', `${missing.length} of ${job.count} shards have not finished`, {
      file: dir,
      found: `unfinished: ${missing.map((i) => `${i}/${job.count}`).join(', ')}`,
      fix: `run graft compare with --shard ${missing[0]}/${job.count} (and the others listed), then merge again`,
    });
  }
  const header = markers[0]!.header;
  // the header names the run folders read below: only the registry's strategies, fractions and whole seeds
  const ok =
    header &&
    Array.isArray(header.strategies) &&
    Array.isArray(header.fractions) &&
    Array.isArray(header.seeds) &&
    header.strategies.every((x) => (COMPARE_STRATEGIES as readonly unknown[]).includes(x)) &&
    header.fractions.every((f) => typeof f === 'number' && f > 0 && f <= 1) &&
    header.seeds.every((x) => Number.isSafeInteger(x));
  if (!ok) {
    throw new GraftError('IO', 'The shard marker is damaged or was written by something else', {
      file: markerFile(dir, markers[0]!.shard),
      found: 'no valid study settings',
      fix: 'delete it and run that shard again',
    });
  }
  const runs: StudyRun[] = [];
  for (const fraction of header.fractions)
    for (const seed of header.seeds)
      for (const strategy of header.strategies) {
        const name = studyRunName(strategy, fraction, seed);
        const file = join(dir, 'runs', name, STUDY_RUN_FILE);
        if (!existsSync(file)) {
          throw new GraftError('NOT_FOUND', `The result of run ${name} is missing`, {
            file,
            fix: 'run its shard again: a finished shard keeps its other runs and reruns only this one',
          });
        }
        runs.push(readStudyRun(file, { strategy, fraction, seed }));
      }
  const written = await writeStudy(header, runs, dir);
  return { ...written, shards: job.count, seconds: (performance.now() - started) / 1000 };
}
