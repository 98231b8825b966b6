// Crash safety, tested with real processes: SIGKILL a training run, check the checkpoint on disk is
// whole, resume in a fresh process, and compare with a run that was never interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint } from './checkpoint.js';

const TRAIN_CHILD = fileURLToPath(new URL('./test-fixtures/train-child.ts', import.meta.url));
const WRITE_LOOP = fileURLToPath(new URL('./test-fixtures/write-loop.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  lines: string[];
  /** resolves with the first stdout line matching `re` (rejects if the child exits first) */
  waitFor(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => {
      for (const w of waiters) w.reject(new Error(`child exited (${code ?? signal}) before ${w.re}: ${stderr}`));
      resolve({ code, signal, stderr });
    }),
  );
  return {
    proc,
    lines,
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) resolve(hit);
        else waiters.push({ re, resolve, reject });
      }),
  };
}

async function runToEnd(script: string, args: string[]): Promise<void> {
  const c = start(script, args);
  const { code, stderr } = await c.exited;
  assert.equal(code, 0, `child failed: ${stderr}`);
}

interface ChildResult {
  resumedFrom: number;
  history: number[][];
  params: Record<string, number[]>;
}

test(
  'kill -9 during training leaves a whole checkpoint; resuming reproduces the uninterrupted run exactly',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graft-kill-'));
    try {
      await runToEnd(TRAIN_CHILD, ['--ckpt', join(dir, 'full.ckpt'), '--out', join(dir, 'full.json')]);
      const full = JSON.parse(readFileSync(join(dir, 'full.json'), 'utf8')) as ChildResult;
      assert.equal(full.history.length, 8);

      const ckptPath = join(dir, 'run.ckpt');
      const victim = start(TRAIN_CHILD, ['--ckpt', ckptPath, '--out', join(dir, 'cut.json'), '--delay-ms', '40']);
      await victim.waitFor(/^epoch 2$/);
      victim.proc.kill('SIGKILL');
      const { signal } = await victim.exited;
      assert.equal(signal, 'SIGKILL');
      assert.ok(!existsSync(join(dir, 'cut.json')), 'the killed run did not finish');

      const ckpt = decodeCheckpoint(readFileSync(ckptPath), ckptPath);
      assert.ok(ckpt.epoch >= 2 && ckpt.epoch < 8, `checkpoint at epoch ${ckpt.epoch}`);
      assert.equal(ckpt.history.length, ckpt.epoch);

      await runToEnd(TRAIN_CHILD, ['--ckpt', ckptPath, '--out', join(dir, 'resumed.json'), '--resume']);
      const resumed = JSON.parse(readFileSync(join(dir, 'resumed.json'), 'utf8')) as ChildResult;
      assert.equal(resumed.resumedFrom, ckpt.epoch, 'training continued from the last checkpointed epoch');
      assert.deepEqual(resumed.history, full.history, 'losses, accuracies, lr and steps are bit-identical');
      assert.deepEqual(resumed.params, full.params, 'final parameters are bit-identical');
      assert.equal(decodeCheckpoint(readFileSync(ckptPath), ckptPath).epoch, 8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'kill -9 in the middle of checkpoint writes never leaves a half-written checkpoint',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graft-killw-'));
    const path = join(dir, 'big.ckpt');
    const temps = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    let midWrite = 0;
    let attempts = 0;
    try {
      // Each writer rewrites an 8 MB checkpoint in a loop; it is killed at a random moment. A temp file left
      // behind proves the kill landed between creating the temp file and renaming it (mid-write).
      while (attempts < 12 && midWrite < 3) {
        attempts++;
        const w = start(WRITE_LOOP, ['--path', path, '--mb', '8']);
        await w.waitFor(/^wrote 1$/);
        await new Promise((r) => setTimeout(r, Math.random() * 50));
        w.proc.kill('SIGKILL');
        await w.exited;
        if (temps().some((n) => n.includes(`.${w.proc.pid}.`))) midWrite++;
        const ckpt = decodeCheckpoint(readFileSync(path), path);
        assert.ok(ckpt.epoch >= 1);
        assert.ok(
          ckpt.params.W!.every((v) => v === ckpt.epoch),
          'contents belong to one complete write',
        );
      }
      assert.ok(midWrite >= 1, `no kill landed mid-write in ${attempts} attempts`);
      // the next successful write clears temp files of dead writers
      await runToEnd(WRITE_LOOP, ['--path', path, '--mb', '1', '--count', '1']);
      assert.deepEqual(temps(), []);
      process.stdout.write(`# ${midWrite} of ${attempts} kills landed mid-write\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
