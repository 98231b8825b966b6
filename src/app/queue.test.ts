// A study over the queue: the coordinator (runCompare with --queue) enqueues every run on a private redis-server,
// two `graft worker` processes take them, one is killed (SIGKILL) in the middle of its first run, and its run is
// given to the other worker once its lock expires. The study completes with every run and the numbers of a local
// study with the same seeds. Also: the queue URL's parsing (the password never shows), an unreachable Redis,
// a job that is not a Graft run.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { isGraftError } from '../errors.js';
import { runCompare } from './compare.js';
import { describeQueue, queueConnection, runQueueWorker } from './queue.js';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';
import { type TestRedis, redisMissing, startRedis } from './test-utils/redis.js';
import { studyNumbers } from './test-utils/study.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const missing = redisMissing();
let redis: TestRedis | undefined;
let dir: string;
let base: Parameters<typeof runCompare>[0];
const children: ChildProcess[] = [];

before(async () => {
  dir = tempDir('graft-queue-');
  const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  const data = fashionSlice(join(dir, 'data'), { train: 8, test: 3, classes: 5 });
  base = {
    data,
    out: join(dir, 'local'),
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['linear-probe', 'prototype'],
    fractions: [0.5, 1],
    seeds: [0, 1],
    epochs: 5,
    env: { HOME: dir },
    cwd: dir,
  };
  if (!missing) redis = await startRedis();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  removeTempDirs();
});

interface Worker {
  child: ChildProcess;
  log: () => string;
  /** resolves with the first line matching, or rejects when the worker exits first */
  waitFor: (re: RegExp) => Promise<string>;
  exited: Promise<number | null>;
}

function startWorker(url: string, name: string, cacheDir: string): Worker {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/graft.js'),
      'worker',
      '--queue',
      url,
      '--queue-name',
      name,
      '--lock-seconds',
      '2',
      '--idle-exit',
      '3',
      '--cache-dir',
      cacheDir,
    ],
    { cwd: dir, env: { ...process.env, HOME: dir, GRAFT_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let text = '';
  const waiters: { re: RegExp; done: (l: string) => void }[] = [];
  const onData = (b: Buffer) => {
    text += b.toString();
    for (const w of [...waiters]) {
      const line = text.split('\n').find((l) => w.re.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(line);
      }
    }
  };
  child.stderr!.on('data', onData);
  child.stdout!.on('data', onData);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    log: () => text,
    exited,
    waitFor: (re) =>
      new Promise((done, fail) => {
        const line = text.split('\n').find((l) => re.test(l));
        if (line) return done(line);
        waiters.push({ re, done });
        void exited.then(() => fail(new Error(`worker exited before ${re}:\n${text}`)));
      }),
  };
}

test(
  'a study over the queue, two workers, one killed mid-run: every run, the numbers of the local study',
  { skip: missing },
  async () => {
    const local = await runCompare(base);
    const url = redis!.url;
    const name = 'study-kill';
    const events: string[] = [];
    const study = runCompare({
      ...base,
      out: join(dir, 'queued'),
      queue: url,
      queueName: name,
      onEvent: (e) => {
        if (e.type === 'run-done') events.push(`${e.run.strategy}@${e.run.fraction}/${e.run.seed}`);
      },
    });
    // each worker has a cache of its own, as on a machine of its own
    const a = startWorker(url, name, join(dir, 'cache-a'));
    const b = startWorker(url, name, join(dir, 'cache-b'));
    // A is killed as soon as it says it has taken a run: its first run loads the backbone and embeds every image
    // into an empty cache, so it is still running
    const taken = await a.waitFor(/\] run \S+ \(job \S+, attempt/);
    a.child.kill('SIGKILL');
    const job = /\(job (\S+),/.exec(taken)![1]!;
    const result = await study;
    assert.equal(result.study.runs.length, 8);
    assert.deepEqual(studyNumbers(result.study.runs), studyNumbers(local.study.runs));
    assert.equal(events.length, 8);
    // the killed worker's run was taken again by B, and finished there
    assert.doesNotMatch(a.log(), new RegExp(`done .*\\n?.*${job}`));
    assert.match(b.log(), new RegExp(`run \\S+ \\(job ${job}, attempt`), b.log());
    assert.equal(await b.exited, 0, b.log());
    assert.match(b.log(), /stopping \(idle\)/);
    // the coordinator removed its jobs
    const q = new Queue(name, { connection: queueConnection(url) });
    try {
      const counts = await q.getJobCounts('completed', 'failed', 'waiting', 'active');
      assert.deepEqual(counts, { completed: 0, failed: 0, waiting: 0, active: 0 });
    } finally {
      await q.close();
    }
  },
);

test(
  'a job that is not a Graft study run fails at once, without retries; the worker goes on',
  { skip: missing },
  async () => {
    const url = redis!.url;
    const name = 'study-junk';
    const q = new Queue(name, { connection: queueConnection(url) });
    try {
      const junk = await q.add('study-run', { version: 1, run: { strategy: 'x' } }, { attempts: 3 });
      const seen: string[] = [];
      const r = await runQueueWorker({
        queue: url,
        queueName: name,
        idleExit: 0.5,
        lockSeconds: 2,
        onEvent: (e) => seen.push(e.type === 'run-failed' ? `failed retry=${e.retry}` : e.type),
      });
      assert.equal(r.stopped, 'idle');
      assert.equal(r.processed, 0);
      const state = await (await q.getJob(junk.id!))!.getState();
      assert.equal(state, 'failed');
      assert.equal((await q.getJob(junk.id!))!.attemptsMade, 1, 'no retries for a malformed job');
    } finally {
      await q.close();
    }
  },
);

test('queue URLs: host, port, db and credentials read; the password never in a message', () => {
  const c = queueConnection('redis://:s3cret-pw@10.1.2.3:6380/2') as Record<string, unknown>;
  assert.deepEqual(
    { host: c.host, port: c.port, password: c.password, db: c.db },
    { host: '10.1.2.3', port: 6380, password: 's3cret-pw', db: 2 },
  );
  assert.equal(describeQueue('redis://:s3cret-pw@10.1.2.3:6380/2'), 'redis://10.1.2.3:6380/2');
  assert.deepEqual((queueConnection('rediss://h') as Record<string, unknown>).tls, {});
  for (const bad of ['http://h:1', 'redis://', 'redis://h/x', 'not a url'])
    assert.throws(
      () => queueConnection(bad),
      (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && !e.message.includes('s3cret'),
      bad,
    );
});

test('an unreachable queue is a NETWORK error naming it without its password', { skip: missing }, async () => {
  // a port nothing listens on: the one of a redis that was started and stopped
  const gone = await startRedis();
  await gone.stop();
  await assert.rejects(
    runQueueWorker({ queue: `redis://:hunter2-secret@127.0.0.1:${gone.port}`, idleExit: 0 }),
    (e: unknown) =>
      isGraftError(e) &&
      e.code === 'NETWORK' &&
      e.message.includes(`redis://127.0.0.1:${gone.port}`) &&
      !e.message.includes('hunter2'),
  );
});

test(
  'a run that fails for good (a user error) is not retried; the coordinator names it, and started again tries it again',
  { skip: missing },
  async () => {
    const url = redis!.url;
    const name = 'study-fail';
    const failures: string[] = [];
    const study = {
      ...base,
      out: join(dir, 'failing'),
      strategies: ['fine-tune'],
      fractions: [1],
      seeds: [0],
      epochs: 1,
      // the tiny backbone has 2 blocks: this fails inside the run, on the worker
      unfreeze: 'last:99',
      queue: url,
      queueName: name,
    };
    for (const attempt of [1, 2]) {
      const worker = runQueueWorker({
        queue: url,
        queueName: name,
        idleExit: 1,
        lockSeconds: 2,
        cacheDir: join(dir, 'cache-fail'),
        env: { HOME: dir },
        onEvent: (e) => {
          if (e.type === 'run-failed') failures.push(`${e.run} retry=${e.retry}`);
        },
      });
      await assert.rejects(
        runCompare(study),
        (e: unknown) =>
          isGraftError(e) && /Run fine-tune-f100-seed0 failed/.test(e.message) && /more blocks/.test(e.message),
      );
      const r = await worker;
      assert.deepEqual([r.processed, r.failed], [0, 1], `attempt ${attempt}`);
    }
    // one try per coordinator: no retries of a user error, and the failed job was tried again, not reported from memory
    assert.deepEqual(failures, ['fine-tune-f100-seed0 retry=false', 'fine-tune-f100-seed0 retry=false']);
  },
);

test('graft worker stops on SIGTERM with exit code 0', { skip: missing }, async () => {
  const w = startWorker(redis!.url, 'study-signal', join(dir, 'cache-signal'));
  await w.waitFor(/waiting for runs/);
  w.child.kill('SIGTERM');
  assert.equal(await w.exited, 0, w.log());
  assert.match(w.log(), /stopping \(signal\)/);
  assert.match(w.log(), /worker stopped \(signal\): 0 runs done/);
});
