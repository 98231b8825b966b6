// The queue backend of `graft compare --queue redis://HOST:PORT` and `graft worker`: every run of a study is a
// BullMQ job on Redis (Debian's redis-server, or any managed Redis). BullMQ brings what a hand-made queue would
// have to get right: atomic hand-out of each job to one worker, a lock the worker renews while it runs, a
// stalled-job check that gives the run of a killed worker to another one, retries with backoff, and events
// the coordinator waits on. Graft adds only the payload (a planned run and the study's settings) and the check
// of what comes back. Workers and the coordinator must see the same files at the same paths (the data, the
// --out folder): a shared file system, as an array job's shards need too.
import { Queue, QueueEvents, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { GraftError, type GraftErrorCode, isGraftError } from '../errors.js';
import { type StudyRun, parseStudy } from '../report/compare.js';
import type { Device } from '../runtime/session.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import type { Backbone } from './backbone.js';
import {
  type CompareEvent,
  type CompareOptions,
  type PlannedRun,
  type StudyPlan,
  type StudyRunSettings,
  executeStudyRun,
  keptStudyRun,
  studyBackbone,
  studyRunName,
  studyRunSettings,
} from './compare.js';
import { isFeatureStrategy } from '../transfer/strategies/index.js';

export const DEFAULT_QUEUE_NAME = 'graft-compare';
const JOB_NAME = 'study-run';
const JOB_VERSION = 1;
/** tries of one run: a run that throws is tried again twice, after 5 s and 10 s */
const ATTEMPTS = 3;
const BACKOFF_MS = 5000;
/** how long the coordinator waits for Redis to answer before it says it cannot reach it */
const CONNECT_TIMEOUT_MS = 10_000;

/** What a job carries: one planned run, the settings every run of its study shares, and where paths start. */
export interface StudyRunJob {
  version: number;
  /** the study's fingerprint (jobs of one study share it) */
  study: string;
  run: PlannedRun;
  settings: StudyRunSettings;
  /** the coordinator's working folder: relative model paths resolve against it on every worker */
  cwd: string;
}

/**
 * redis://[[user]:password@]HOST[:PORT][/DB] or rediss:// (TLS) into BullMQ's connection options. The password
 * is never part of a message (describeQueue names the queue without it).
 */
export function queueConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badQueueUrl('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw badQueueUrl(`the scheme ${u.protocol}`);
  if (!u.hostname) throw badQueueUrl('no host');
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw badQueueUrl('a database that is not a number');
  const port = u.port ? Number(u.port) : 6379;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // the coordinator and the workers wait on Redis for long stretches: keep retrying, never drop a command
    maxRetriesPerRequest: null,
  };
}

/** The queue's address for messages: scheme, host, port and database, never the credentials. */
export function describeQueue(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'the --queue URL';
  }
}

function badQueueUrl(found: string): GraftError {
  return new GraftError('BAD_INPUT', 'Cannot read the --queue URL', {
    expected: 'redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT/DB, rediss:// for TLS)',
    found,
    fix: 'use e.g. --queue redis://127.0.0.1:6379',
  });
}

interface Connectable {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', fn: (e: Error) => void): unknown;
  off(event: 'error', fn: (e: Error) => void): unknown;
}

/**
 * Waits until Redis answers, and fails fast when it cannot: refused or unknown host at once, silence after a
 * timeout (ioredis would otherwise retry forever without a word). Later outages are retried: a worker outlives a
 * Redis restart.
 */
async function reachable(what: Connectable, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: (e: Error) => void = () => {};
  const unreachable = (found: string) =>
    new GraftError('NETWORK', `Cannot reach the queue at ${describeQueue(url)}`, {
      found,
      fix: 'start redis-server there (Debian: apt-get install redis-server), or check the host, port and password',
    });
  const failed = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(unreachable(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    onError = (e) => {
      const known = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|NOAUTH|WRONGPASS/.exec(
        `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`,
      );
      if (known) fail(unreachable(known[0]));
    };
    what.on('error', onError);
  });
  try {
    await Promise.race([what.waitUntilReady(), failed]);
  } finally {
    clearTimeout(timer);
    what.off('error', onError);
  }
}

/**
 * The coordinator's side: enqueues every run not kept from an earlier attempt (job ids derive from the study's
 * fingerprint, so a restarted coordinator finds its jobs again, and a failed one is retried), waits for the
 * workers, checks each result, and returns them in study order. The jobs are removed once all are in.
 */
export async function runStudyOnQueue(plan: StudyPlan, opts: CompareOptions): Promise<StudyRun[]> {
  const url = opts.queue!;
  const connection = queueConnection(url);
  const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const emit = (e: CompareEvent) => opts.onEvent?.(e);
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  // a Redis that is down or unreachable makes ioredis retry forever: say so instead of waiting silently
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  try {
    await reachable(queue, url);
    await reachable(events, url);
    const results: (StudyRun | undefined)[] = plan.runs.map((run) => (opts.resume ? keptStudyRun(run) : undefined));
    results.forEach((kept, i) => {
      const run = plan.runs[i]!;
      if (kept) emit({ type: 'run-done', index: run.index, total: run.total, run: kept, resumed: true });
    });
    const settings = studyRunSettings(opts);
    const byJob = new Map<string, PlannedRun>();
    const jobs: { job: Job; run: PlannedRun }[] = [];
    for (const run of plan.runs) {
      if (results[run.index - 1]) continue;
      const jobId = `${plan.fingerprint.slice(0, 24)}-${run.index}`;
      const payload: StudyRunJob = { version: JOB_VERSION, study: plan.fingerprint, run, settings, cwd: plan.cwd };
      let job = await queue.getJob(jobId);
      if (job && (await job.getState()) === 'failed') await job.retry();
      job ??= await queue.add(JOB_NAME, payload, {
        jobId,
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: BACKOFF_MS },
        removeOnComplete: false,
        removeOnFail: false,
      });
      byJob.set(jobId, run);
      jobs.push({ job, run });
    }
    let done = plan.runs.length - jobs.length;
    const active = new Set<string>();
    const progress = async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized');
      emit({
        type: 'queue',
        waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
        active: active.size,
        done,
        total: plan.runs.length,
      });
    };
    events.on('active', ({ jobId }) => {
      const run = byJob.get(jobId);
      if (!run) return;
      active.add(jobId);
      const { index, total, strategy, fraction, seed } = run;
      emit({ type: 'run-start', index, total, strategy, fraction, seed });
    });
    events.on('stalled', ({ jobId }) => active.delete(jobId));
    await progress();
    await Promise.all(
      jobs.map(async ({ job, run }) => {
        let value: unknown;
        try {
          value = await job.waitUntilFinished(events);
        } catch (e) {
          throw new GraftError('RUNTIME', `Run ${studyRunName(run.strategy, run.fraction, run.seed)} failed`, {
            found: (e as Error).message.split('\n')[0],
            fix: `see the worker's output; after fixing the cause, run the same graft compare again (finished runs are kept)`,
          });
        }
        const result = checkReturnedRun(value, run);
        results[run.index - 1] = result;
        active.delete(job.id!);
        done++;
        emit({ type: 'run-done', index: run.index, total: run.total, run: result });
        await progress();
      }),
    );
    for (const { job } of jobs) await job.remove().catch(() => undefined);
    return results as StudyRun[];
  } finally {
    await events.close();
    await queue.close();
  }
}

/** A worker's result, checked as study.json's parser checks a run, and checked to be the run that was asked. */
function checkReturnedRun(value: unknown, want: PlannedRun): StudyRun {
  const probe = {
    model: 'queued',
    strategies: [want.strategy],
    fractions: [want.fraction],
    seeds: [want.seed],
    runs: [value],
  };
  const run = parseStudy(
    JSON.stringify(probe),
    `the queue's result of ${studyRunName(want.strategy, want.fraction, want.seed)}`,
  ).runs[0]!;
  if (run.strategy !== want.strategy || run.fraction !== want.fraction || run.seed !== want.seed) {
    throw new GraftError('RUNTIME', 'A worker returned the result of another run', {
      expected: studyRunName(want.strategy, want.fraction, want.seed),
      found: studyRunName(run.strategy, run.fraction, run.seed),
    });
  }
  return run;
}

export type WorkerEvent =
  | { type: 'ready'; queue: string; name: string }
  | { type: 'run-start'; job: string; run: string; attempt: number }
  | { type: 'run-done'; job: string; run: string; testAcc: number; seconds: number }
  | { type: 'run-failed'; job: string; run: string; error: string; retry: boolean }
  | { type: 'idle'; seconds: number }
  | { type: 'stopping'; reason: 'idle' | 'max-runs' | 'signal' };

export interface QueueWorkerOptions extends SourceSettings {
  /** redis://HOST:PORT (required) */
  queue?: string;
  /** the queue's name (default graft-compare) */
  queueName?: string;
  /** how long a worker may go silent (killed, hung) before its run is given to another worker, in s (default 30) */
  lockSeconds?: number;
  /** stop once the queue has had nothing to do for this many seconds (default: run until stopped) */
  idleExit?: number;
  /** stop after this many runs */
  maxRuns?: number;
  device?: Device;
  threads?: number;
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (e: WorkerEvent) => void;
  onSourceEvent?: SourceEventListener;
  /** stops the worker after its current run */
  signal?: AbortSignal;
}

export interface QueueWorkerResult {
  queue: string;
  name: string;
  /** runs finished here */
  processed: number;
  /** runs that threw here (each is retried by BullMQ, elsewhere or here, until its attempts are spent) */
  failed: number;
  stopped: 'idle' | 'max-runs' | 'signal';
}

/** GraftError codes that no retry can fix: the run fails at once instead of trying again elsewhere. */
const FINAL_CODES: ReadonlySet<GraftErrorCode> = new Set([
  'BAD_INPUT',
  'BAD_MODEL',
  'BAD_GRAPH',
  'CONFIG',
  'NOT_FOUND',
]);

/**
 * A worker process: takes study runs off the queue one at a time and carries them out (training into the shared
 * run folder), until stopped by the signal, after `maxRuns`, or after `idleExit` seconds with nothing queued.
 * Scale by starting more processes (on this machine or others), not by running several runs in one process:
 * onnxruntime already uses every core for one run.
 */
export async function runQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorkerResult> {
  if (!opts.queue) {
    throw new GraftError('BAD_INPUT', "'graft worker' needs --queue redis://HOST:PORT", {
      expected: 'the Redis the coordinator (graft compare --queue) enqueued its runs on',
      found: 'no --queue',
      fix: 'run e.g. `graft worker --queue redis://127.0.0.1:6379`',
    });
  }
  const url = opts.queue;
  const connection = queueConnection(url);
  const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const lockMs = Math.round(1000 * (opts.lockSeconds ?? 30));
  if (!(lockMs >= 1000)) {
    throw new GraftError('BAD_INPUT', '--lock-seconds must be at least 1', { found: String(opts.lockSeconds) });
  }
  const emit = (e: WorkerEvent) => opts.onEvent?.(e);
  const where = describeQueue(url);
  let processed = 0;
  let failed = 0;
  let stopped: QueueWorkerResult['stopped'] = 'signal';
  let busy = false;
  const backbones = new Map<string, Backbone>();
  const host = {
    device: opts.device,
    threads: opts.threads,
    cacheDir: opts.cacheDir,
    offline: opts.offline,
    refresh: opts.refresh,
    modelsFile: opts.modelsFile,
    env: opts.env,
    onSourceEvent: opts.onSourceEvent,
  };

  const processRun = async (job: Job): Promise<StudyRun> => {
    const payload = checkJob(job.data, job.id ?? '?');
    const runName = studyRunName(payload.run.strategy, payload.run.fraction, payload.run.seed);
    busy = true;
    emit({ type: 'run-start', job: job.id ?? '?', run: runName, attempt: job.attemptsMade + 1 });
    try {
      const runHost = { ...host, cwd: payload.cwd };
      let backbone: Backbone | undefined;
      if (isFeatureStrategy(payload.run.strategy)) {
        // one backbone per study setting is kept: the runs of a study share it, as in a local study
        const key = JSON.stringify([
          payload.cwd,
          payload.settings.model,
          payload.settings.cut,
          payload.settings.inputSize,
        ]);
        backbone = backbones.get(key);
        if (!backbone) {
          backbones.clear();
          backbone = await studyBackbone(payload.settings, runHost);
          backbones.set(key, backbone);
        }
      }
      const result = await executeStudyRun(payload.run, payload.settings, { ...runHost, backbone });
      processed++;
      emit({ type: 'run-done', job: job.id ?? '?', run: runName, testAcc: result.testAcc, seconds: result.seconds });
      return result;
    } catch (e) {
      failed++;
      const final = isGraftError(e) && FINAL_CODES.has(e.code);
      const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      emit({ type: 'run-failed', job: job.id ?? '?', run: runName, error: message, retry: !final });
      // a user error fails the same way on every worker: no retries
      if (final) throw new UnrecoverableError(e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      busy = false;
    }
  };

  const worker = new Worker(name, processRun, {
    connection,
    concurrency: 1,
    autorun: false,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
  });
  worker.on('error', () => undefined);
  try {
    await reachable(worker, url);
  } catch (e) {
    await worker.close(true).catch(() => undefined);
    throw e;
  }
  emit({ type: 'ready', queue: where, name });

  const queue = new Queue(name, { connection });
  queue.on('error', () => undefined);
  const stop = async (reason: QueueWorkerResult['stopped']) => {
    stopped = reason;
    emit({ type: 'stopping', reason });
    await worker.close();
  };
  const onAbort = () => void stop('signal');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.maxRuns !== undefined) {
    worker.on('completed', () => {
      if (processed >= opts.maxRuns!) void stop('max-runs');
    });
  }
  let idleTimer: NodeJS.Timeout | undefined;
  if (opts.idleExit !== undefined) {
    let idleSince = Date.now();
    idleTimer = setInterval(() => {
      void queue
        .getJobCounts('waiting', 'delayed', 'prioritized', 'active')
        .then((c) => {
          const pending = (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0);
          if (pending > 0 || busy) idleSince = Date.now();
          else if (Date.now() - idleSince >= opts.idleExit! * 1000) {
            clearInterval(idleTimer);
            void stop('idle');
          }
        })
        .catch(() => undefined);
    }, 250);
  }
  try {
    if (!opts.signal?.aborted) await worker.run();
  } finally {
    clearInterval(idleTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    await worker.close();
    await queue.close();
  }
  return { queue: where, name, processed, failed, stopped };
}

/** A job's payload, checked before anything of it is used: a queue is input like any file. */
function checkJob(data: unknown, id: string): StudyRunJob {
  const bad = (found: string) =>
    new UnrecoverableError(
      new GraftError('BAD_INPUT', `Job ${id} on the queue is not a Graft study run`, {
        found,
        fix: 'enqueue runs with graft compare --queue; use a queue name of its own for other work',
      }).message,
    );
  const j = data as Partial<StudyRunJob> | null;
  if (!j || typeof j !== 'object') throw bad('no payload');
  if (j.version !== JOB_VERSION) throw bad(`payload version ${String(j.version)}`);
  const r = j.run as Partial<PlannedRun> | undefined;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (
    !r ||
    !str(r.strategy) ||
    !num(r.fraction) ||
    !num(r.seed) ||
    !num(r.perClass) ||
    !num(r.index) ||
    !num(r.total) ||
    !str(r.manifest) ||
    !str(r.runDir)
  )
    throw bad('a run without its strategy, fraction, seed, subset or folder');
  if (!str(j.cwd) || !str(j.study) || !j.settings || typeof j.settings !== 'object') throw bad('no study settings');
  return j as StudyRunJob;
}
