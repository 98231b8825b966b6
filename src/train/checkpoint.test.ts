import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { crc32, decodeCheckpoint, decodeRecord, encodeCheckpoint, encodeRecord } from './checkpoint.js';
import {
  loadCheckpointFile,
  loadCheckpointIfPresent,
  saveCheckpointFile,
  writeFileAtomic,
} from './node/checkpoint-file.js';
import type { TrainingCheckpoint } from './types.js';

function sample(): TrainingCheckpoint {
  return {
    epoch: 2,
    step: 14,
    params: { 'layer.0/W': Float32Array.of(1.5, -2.25, 3e-38, NaN), b: Float32Array.of(0.1) },
    optimizer: {
      kind: 'adamw',
      hyper: { lr: 0.001, beta1: 0.9 },
      params: { b: { steps: 14, slots: { m: Float32Array.of(0.5), v: Float32Array.of(0.25) } } },
    },
    rng: [1, 2, 3, 0xffffffff],
    history: [
      { epoch: 1, trainLoss: 0.5, trainAcc: 0.9, lr: 0.001, steps: 7, seconds: 0.1 },
      { epoch: 2, trainLoss: 0.4, valLoss: 0.45, lr: 0.001, steps: 14, seconds: 0.1 },
    ],
    config: { batchSize: 32, note: 'täst', nested: { $weird: 1, list: [1, null, 'x'] } },
    callbacks: { earlyStopping: { best: Infinity, worst: -Infinity, wait: 0 }, big: { n: 2n ** 70n } },
  };
}

test('checkpoints round-trip every value exactly (typed arrays, non-finite numbers, bigints, $-keys)', () => {
  const c = sample();
  const back = decodeCheckpoint(encodeCheckpoint(c));
  assert.deepEqual(back, c);
  assert.ok(back.params['layer.0/W'] instanceof Float32Array);
  assert.ok(Object.is(back.params['layer.0/W']![3], NaN));
  // arrays must survive being decoded from an unaligned view into a larger buffer
  const bytes = encodeCheckpoint(c);
  const shifted = new Uint8Array(bytes.byteLength + 3);
  shifted.set(bytes, 3);
  assert.deepEqual(decodeCheckpoint(shifted.subarray(3)), c);
  // Node's Buffer (what readFile returns) shares memory on slice(); decoding must still copy
  assert.deepEqual(decodeCheckpoint(Buffer.from(bytes)), c);
  // all typed array kinds
  const arrays = {
    i32: Int32Array.of(-1, 2),
    u8: Uint8Array.of(255),
    f64: Float64Array.of(Math.PI),
    i64: BigInt64Array.of(-5n),
  };
  assert.deepEqual(decodeRecord(encodeRecord('k', arrays), 'k'), arrays);
});

test('a cut-off, corrupted or foreign file is a CHECKPOINT error naming the file and the fix', () => {
  const bytes = encodeCheckpoint(sample());
  const file = '/runs/exp1/ckpt.graft';
  const isCheckpointError = (pattern: RegExp) => (e: unknown) =>
    e instanceof GraftError &&
    e.code === 'CHECKPOINT' &&
    e.fields.file === file &&
    e.message.includes(file) &&
    /fix: /.test(e.message) &&
    pattern.test(e.message);
  for (const cut of [0, 7, 30, Math.floor(bytes.byteLength / 2), bytes.byteLength - 1]) {
    const pattern = cut < 32 ? /not a Graft checkpoint|incomplete/ : /incomplete/;
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, cut), file), isCheckpointError(pattern), `cut at ${cut}`);
  }
  for (const at of [9, 40, bytes.byteLength - 20, bytes.byteLength - 6]) {
    const damaged = bytes.slice();
    damaged[at]! ^= 0x10;
    assert.throws(
      () => decodeCheckpoint(damaged, file),
      isCheckpointError(/checksum|newer|incomplete/),
      `flip at ${at}`,
    );
  }
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode('{"epoch": 1}'), file),
    isCheckpointError(/not a Graft/),
  );
  const other = encodeRecord('graft.training-checkpoint', { epoch: 1 });
  assert.throws(() => decodeCheckpoint(other, file), isCheckpointError(/lacks required fields[\s\S]*step, params/));
  assert.throws(
    () => decodeRecord(encodeRecord('other.kind', {}), 'graft.training-checkpoint', file),
    /holds something else/,
  );
});

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('checkpoint files: atomic write, load, missing file, stale temp files of dead writers removed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'graft-ckpt-'));
  try {
    const path = join(dir, 'run.ckpt');
    assert.equal(await loadCheckpointIfPresent(path), undefined);
    await assert.rejects(loadCheckpointFile(path), (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND');
    // a temp file left by a writer that was killed (no Linux pid exceeds 2^22 = 4194304)
    const stale = join(dir, '.run.ckpt.4194999.deadbeef.tmp');
    await writeFile(stale, 'half');
    await saveCheckpointFile(path, sample());
    assert.deepEqual(await loadCheckpointFile(path), sample());
    assert.deepEqual(await readdir(dir), ['run.ckpt']);
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    await assert.rejects(
      loadCheckpointFile(path),
      (e: unknown) => e instanceof GraftError && e.code === 'CHECKPOINT' && e.fields.file === path,
    );
    await assert.rejects(writeFileAtomic(join(dir, 'no/such/dir/x'), new Uint8Array(1)), /Could not write/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
