import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { CancelBatch, CancelEpoch, CancelFit, type Callback, type TrainEvent } from './events.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import { BestParams } from './callbacks/best-params.js';
import { progressLogger } from './callbacks/progress.js';
import { historyLogger } from './callbacks/history-logger.js';
import { checkpointEvery } from './callbacks/checkpoint.js';
import { terminateOnNaN } from './callbacks/terminate-on-nan.js';
import { failOnDivergence } from './callbacks/fail-on-divergence.js';
import { Rng } from '../util/rng.js';
import { cosineSchedule, linearSchedule } from './schedules.js';
import { Trainer, type TrainerOptions } from './trainer.js';
import type { ArrayDataset, EpochRecord, TrainerView } from './types.js';
import { blobs, linearData, linearRegression, softmaxRegression } from './test-fixtures/graphs.js';

const FX = softmaxRegression(4, 3);
const TRAIN = blobs(new Rng(11), 10, 4, 3);
const VAL = blobs(new Rng(12), 7, 4, 3);

async function withTrainer<T>(opts: Partial<TrainerOptions>, body: (t: Trainer) => Promise<T>): Promise<T> {
  const t = new Trainer({
    graph: FX.graph,
    params: FX.params,
    batchSize: 4,
    epochs: 2,
    optimizer: { name: 'sgd', lr: 0.1 },
    session: { intraOpThreads: 1 },
    ...opts,
  });
  try {
    return await body(t);
  } finally {
    await t.dispose();
  }
}

function recorder(log: string[], events: readonly TrainEvent[], name = 'recorder', order?: number): Callback {
  const cb: Record<string, unknown> = { name, order };
  for (const e of events) cb[e] = (t: TrainerView) => void log.push(e === 'beforeBatch' ? `${e}:${t.batchSize}` : e);
  return cb as Callback;
}

const ALL: TrainEvent[] = [
  'beforeFit',
  'beforeEpoch',
  'beforeBatch',
  'afterLoss',
  'afterBatch',
  'afterEpoch',
  'afterFit',
];

test('events fire in order, the last partial batch is trained, every sample once per epoch', async () => {
  const log: string[] = [];
  const seen: number[][] = [];
  const indexCb: Callback = {
    name: 'indices',
    beforeEpoch: () => void seen.push([]),
    beforeBatch: (t) => void seen[seen.length - 1]!.push(...t.batchIndices),
  };
  const result = await withTrainer({ callbacks: [recorder(log, ALL), indexCb] }, (t) => t.fit(TRAIN));
  const batch = (n: number) => [`beforeBatch:${n}`, 'afterLoss', 'afterBatch'];
  const epoch = ['beforeEpoch', ...batch(4), ...batch(4), ...batch(2), 'afterEpoch'];
  assert.deepEqual(log, ['beforeFit', ...epoch, ...epoch, 'afterFit']);
  assert.equal(result.history.length, 2);
  assert.equal(result.history[1]!.steps, 6);
  for (const order of seen)
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  assert.notDeepEqual(seen[0], seen[1], 'each epoch is reshuffled');

  const dropped: string[] = [];
  await withTrainer({ dropLast: true, callbacks: [recorder(dropped, ['beforeBatch'])] }, (t) => t.fit(TRAIN));
  assert.deepEqual(dropped, ['beforeBatch:4', 'beforeBatch:4', 'beforeBatch:4', 'beforeBatch:4']);
});

test('callbacks run by ascending order, ties in the order given', async () => {
  const log: string[] = [];
  const cbs = [
    recorder(log, ['beforeFit'], 'late', 10),
    recorder(log, ['beforeFit'], 'tie-a'),
    recorder(log, ['beforeFit'], 'early', -10),
    recorder(log, ['beforeFit'], 'tie-b'),
  ].map((cb) => ({ ...cb, beforeFit: () => void log.push(cb.name) }));
  await withTrainer({ epochs: 0, callbacks: cbs }, (t) => t.fit(TRAIN));
  assert.deepEqual(log, ['early', 'tie-a', 'tie-b', 'late']);
});

test('same seed: same batch order and bit-identical losses and parameters; another seed differs', async () => {
  const run = (seed: number) => {
    const orders: number[] = [];
    const cb: Callback = { name: 'orders', beforeBatch: (v) => void orders.push(...v.batchIndices) };
    return withTrainer({ seed, epochs: 3, optimizer: { name: 'adamw', lr: 0.05 }, callbacks: [cb] }, async (t) => {
      const r = await t.fit(TRAIN, VAL);
      return { orders, losses: r.history.map((h) => [h.trainLoss, h.valLoss]), W: [...r.params.W!] };
    });
  };
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.orders, c.orders);
  assert.notDeepEqual(a.losses, c.losses);
});

/** Mean softmax cross-entropy of the fixture model and its gradient, computed in JS (float64). */
function referenceLossAndGrad(params: Record<string, Float32Array>, data: ArrayDataset) {
  const x = data.features as Float32Array;
  const y = data.labels as Int32Array;
  const n = y.length;
  const [D, C] = [4, 3];
  const W = params.W!;
  const b = params.b!;
  const gW = new Float64Array(D * C);
  const gb = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = Array.from(
      { length: C },
      (_, c) => b[c]! + Array.from({ length: D }, (_, d) => x[i * D + d]! * W[d * C + c]!).reduce((a, v) => a + v, 0),
    );
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    loss += -(z[y[i]!]! - m - Math.log(s)) / n;
    for (let c = 0; c < C; c++) {
      const d = (e[c]! / s - (c === y[i] ? 1 : 0)) / n;
      gb[c] = gb[c]! + d;
      for (let k = 0; k < D; k++) gW[k * C + c] = gW[k * C + c]! + x[i * D + k]! * d;
    }
  }
  return { loss, gW, gb };
}

test('one full-batch SGD step equals the step computed independently in JS; evaluate() weighs partial batches', async () => {
  await withTrainer({ batchSize: 10, epochs: 1, optimizer: { name: 'sgd', lr: 0.5 } }, async (t) => {
    const before = { W: t.params.W!.slice(), b: t.params.b!.slice() };
    const ref = referenceLossAndGrad(before, TRAIN);
    const ev = await t.evaluate(TRAIN);
    assert.ok(Math.abs(ev.loss - ref.loss) < 1e-5, `evaluate ${ev.loss} vs ${ref.loss}`);
    const r = await t.fit(TRAIN);
    assert.ok(Math.abs(r.history[0]!.trainLoss - ref.loss) < 1e-5);
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(r.params.W![i]! - (before.W[i]! - 0.5 * ref.gW[i]!)) < 1e-6);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(r.params.b![i]! - (before.b[i]! - 0.5 * ref.gb[i]!)) < 1e-6);
  });
  await withTrainer({ evalBatchSize: 3 }, async (t) => {
    const ref = referenceLossAndGrad(FX.params, VAL);
    const ev = await t.evaluate(VAL);
    assert.ok(Math.abs(ev.loss - ref.loss) < 1e-5, `batches of 3,3,1: ${ev.loss} vs ${ref.loss}`);
    assert.ok(ev.acc !== undefined && ev.acc >= 0 && ev.acc <= 1);
  });
});

test('CancelBatch skips the optimizer step; afterBatch still runs and sees the cancellation', async () => {
  const cancelledSeen: (string | undefined)[] = [];
  const cb: Callback = {
    name: 'skip',
    afterLoss: () => {
      throw new CancelBatch();
    },
    afterBatch: (t) => void cancelledSeen.push(t.cancelled),
  };
  await withTrainer({ callbacks: [cb] }, async (t) => {
    const r = await t.fit(TRAIN);
    assert.deepEqual([...r.params.W!], [...FX.params.W!]);
    assert.equal(cancelledSeen.length, 6);
    assert.ok(cancelledSeen.every((c) => c === 'batch'));
    assert.ok(Number.isFinite(r.history[0]!.trainLoss), 'the loss was computed before cancelling');
  });
});

test('CancelEpoch ends the epoch (no validation), CancelFit ends training with its reason', async () => {
  const log: string[] = [];
  const cb: Callback = {
    name: 'cancel',
    beforeBatch: (t) => {
      if (t.epoch === 0 && t.batch === 1) throw new CancelEpoch();
    },
    afterEpoch: (t) => void log.push(`afterEpoch:${t.cancelled ?? '-'}`),
    beforeEpoch: (t) => {
      if (t.epoch === 2) throw new CancelFit('enough');
    },
    afterFit: (t) => void log.push(`afterFit:${t.cancelled ?? '-'}`),
  };
  await withTrainer({ epochs: 4, callbacks: [cb] }, async (t) => {
    const r = await t.fit(TRAIN, VAL);
    assert.deepEqual(log, ['afterEpoch:epoch', 'afterEpoch:-', 'afterFit:fit']);
    assert.equal(r.stopReason, 'enough');
    assert.equal(r.epochsRun, 2);
    assert.equal(r.history[0]!.valLoss, undefined, 'validation skipped in the cancelled epoch');
    assert.equal(r.history[0]!.steps, 1);
    assert.notEqual(r.history[1]!.valLoss, undefined);
  });
  const boom: Callback = {
    name: 'boom',
    afterBatch: () => {
      throw new Error('boom');
    },
  };
  await withTrainer({ callbacks: [boom] }, async (t) => assert.rejects(t.fit(TRAIN), /boom/));
});

test('callbacks change hyper-parameters through setHyper; the schedule scales the base rate each step', async () => {
  const lrs: number[] = [];
  const after: Float32Array[] = [];
  const cb: Callback = {
    name: 'hyper',
    beforeBatch: (t) => void lrs.push(t.lr),
    afterEpoch: (t) => {
      after.push(t.params.W!.slice());
      if (t.epoch === 0) t.setHyper({ lr: 0 });
    },
  };
  await withTrainer({ callbacks: [cb], schedule: linearSchedule(1, 0) }, async (t) => {
    const r = await t.fit(TRAIN);
    // steps 0..2 at 0.1 × (1 - s/6); then lr is 0
    lrs.slice(0, 3).forEach((lr, s) => assert.ok(Math.abs(lr - 0.1 * (1 - s / 6)) < 1e-12, `step ${s}: ${lr}`));
    assert.deepEqual(lrs.slice(3), [0, 0, 0]);
    assert.deepEqual([...after[1]!], [...after[0]!], 'lr 0 leaves the parameters alone');
    assert.equal(r.history[1]!.lr, 0);
    assert.throws(
      () => t.setHyper({ beta1: 0.9 }),
      (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
    );
  });
});

test('early stopping stops after `patience` epochs without improvement, and needs a reported metric', async () => {
  const es = new EarlyStopping({ monitor: 'valLoss', patience: 2 });
  await withTrainer({ epochs: 20, optimizer: { name: 'sgd', lr: 0 }, callbacks: [es] }, async (t) => {
    const r = await t.fit(TRAIN, VAL);
    assert.equal(r.history.length, 3, 'epoch 1 sets the best; 2 and 3 do not improve');
    assert.match(r.stopReason ?? '', /early stopping: valLoss did not improve for 2 epoch/);
    assert.equal(es.result.bestEpoch, 1);
  });
  await withTrainer({ callbacks: [new EarlyStopping()] }, async (t) =>
    assert.rejects(
      t.fit(TRAIN),
      (e: unknown) =>
        e instanceof GraftError && e.code === 'CONFIG' && e.fields.choices!.join() === 'trainLoss,trainAcc',
    ),
  );
});

/** A stand-in view for driving monitor callbacks with chosen metric values. */
function fakeView(records: EpochRecord[], params: Record<string, Float32Array>): TrainerView {
  return {
    epoch: records.length - 1,
    epochs: 10,
    completedEpochs: records.length,
    step: 0,
    totalSteps: 0,
    batch: 0,
    batchesPerEpoch: 1,
    batchSize: 1,
    batchIndices: new Uint32Array(0),
    loss: undefined,
    history: records,
    lastRecord: records[records.length - 1],
    hyper: {},
    lr: 0,
    params,
    cancelled: undefined,
    setHyper: () => undefined,
    setParams: (v) => {
      for (const [k, a] of Object.entries(v)) params[k]!.set(a);
    },
    snapshot: () => {
      throw new Error('not used');
    },
  };
}

const rec = (epoch: number, valLoss: number, valAcc = 0): EpochRecord => ({
  epoch,
  trainLoss: 1,
  valLoss,
  valAcc,
  lr: 0,
  steps: 0,
  seconds: 0,
});

test('early stopping honours minDelta and mode; best-parameter tracking keeps and restores the best epoch', async () => {
  const run = (es: EarlyStopping, values: number[], acc = false) => {
    const records: EpochRecord[] = [];
    for (const v of values) {
      records.push(acc ? rec(records.length + 1, 0, v) : rec(records.length + 1, v));
      try {
        es.beforeEpoch();
      } catch (e) {
        assert.ok(e instanceof CancelFit);
        return records.length - 1; // stopped before this epoch
      }
      es.afterEpoch(fakeView(records, {}));
    }
    return values.length;
  };
  assert.equal(run(new EarlyStopping({ patience: 2 }), [1, 0.9, 0.95, 0.91, 0.5, 0.4]), 4);
  assert.equal(run(new EarlyStopping({ patience: 2, minDelta: 0.05 }), [1, 0.96, 0.955, 0.5]), 3);
  assert.equal(run(new EarlyStopping({ patience: 1, monitor: 'valAcc' }), [0.5, 0.6, 0.7, 0.6, 0.9], true), 4);
  assert.equal(run(new EarlyStopping({ patience: 1, monitor: 'valAcc', mode: 'min' }), [0.5, 0.6, 0.7], true), 2);

  const best = new BestParams({ monitor: 'valLoss', restoreAtEnd: true });
  const params = { W: Float32Array.of(0) };
  const records: EpochRecord[] = [];
  for (const [i, v] of [0.5, 0.3, 0.4, 0.35].entries()) {
    params.W[0] = i + 1;
    records.push(rec(i + 1, v));
    await best.afterEpoch(fakeView(records, params));
  }
  assert.equal(best.best!.epoch, 2);
  assert.equal(best.best!.params.W![0], 2);
  best.afterFit(fakeView(records, params));
  assert.equal(params.W[0], 2, 'restored at the end');
  const clone = new BestParams();
  clone.loadState(structuredClone(best.state()));
  assert.equal(clone.best!.epoch, 2);
});

test('progress and history loggers write one line per epoch (JSONL, CSV without a repeated header on resume)', async () => {
  const lines: string[] = [];
  let jsonl = '';
  let csv = '';
  let ckpt: Uint8Array | undefined;
  const cbs = [
    progressLogger({ print: (l) => void lines.push(l) }),
    historyLogger({ format: 'jsonl', write: (s) => void (jsonl += s), name: 'jsonl' }),
    historyLogger({ format: 'csv', write: (s) => void (csv += s), name: 'csv' }),
    checkpointEvery({ write: (b) => void (ckpt = b), every: 2 }),
  ];
  const r = await withTrainer({ callbacks: cbs }, (t) => t.fit(TRAIN, VAL));
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^epoch 1\/2  loss \d+\.\d{4}  acc \d+\.\d\d%  val_loss \d+\.\d{4}  val_acc \d+\.\d\d%  lr 1\.00e-1  \d+\.\ds$/,
  );
  assert.deepEqual(
    jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochRecord),
    r.history,
  );
  const rows = csv.trim().split('\n');
  assert.equal(rows[0], 'epoch,trainLoss,trainAcc,valLoss,valAcc,lr,steps,seconds');
  assert.equal(rows.length, 3);
  assert.equal(Number(rows[2]!.split(',')[1]), r.history[1]!.trainLoss);
  // resuming the finished run for 3 epochs continues the CSV without a second header
  const saved = decodeCheckpoint(ckpt!);
  assert.equal(saved.epoch, 2);
  await withTrainer({ epochs: 3, callbacks: cbs }, async (t) => {
    t.restore(saved);
    await t.fit(TRAIN, VAL);
  });
  assert.equal(csv.trim().split('\n').length, 4);
  assert.equal(csv.match(/^epoch,/gm)!.length, 1);
});

test('resume from a checkpoint reproduces the uninterrupted run bit for bit', async () => {
  const opts: Partial<TrainerOptions> = {
    epochs: 5,
    seed: 9,
    optimizer: { name: 'adamw', lr: 0.05, weightDecay: 0.1 },
    schedule: cosineSchedule(),
  };
  const esStraight = new EarlyStopping({ patience: 100 });
  const straight = await withTrainer({ ...opts, callbacks: [esStraight] }, (t) => t.fit(TRAIN, VAL));
  let bytes: Uint8Array | undefined;
  // a run interrupted before its third epoch, then resumed from the checkpoint written after epoch 2
  const stopAt2: Callback = {
    name: 'stop',
    beforeEpoch: (v) => {
      if (v.epoch === 2) throw new CancelFit('interrupted');
    },
  };
  const interrupted = [
    stopAt2,
    new EarlyStopping({ patience: 100 }),
    checkpointEvery({ write: (b) => void (bytes = b) }),
  ];
  await withTrainer({ ...opts, callbacks: interrupted }, (t) => t.fit(TRAIN, VAL));
  const ckpt = decodeCheckpoint(bytes!);
  assert.equal(ckpt.epoch, 2);
  assert.equal(ckpt.config.batchSize, 4);
  const esResumed = new EarlyStopping({ patience: 100 });
  const resumed = await withTrainer({ ...opts, callbacks: [esResumed] }, async (t) => {
    t.restore(ckpt);
    return t.fit(TRAIN, VAL);
  });
  assert.equal(resumed.epochsRun, 3);
  const losses = (h: EpochRecord[]) =>
    h.map((r) => [r.epoch, r.trainLoss, r.trainAcc, r.valLoss, r.valAcc, r.lr, r.steps]);
  assert.deepEqual(losses(resumed.history), losses(straight.history));
  assert.deepEqual([...resumed.params.W!], [...straight.params.W!]);
  assert.deepEqual([...resumed.params.b!], [...straight.params.b!]);
  assert.deepEqual(esResumed.result, esStraight.result, 'callback state travels in the checkpoint');
});

test('float targets train a regression (no accuracy reported)', async () => {
  const fx = linearRegression(4);
  const rng = new Rng(21);
  const t = new Trainer({
    graph: fx.graph,
    params: fx.params,
    batchSize: 16,
    epochs: 8,
    optimizer: { name: 'adam', lr: 0.05 },
  });
  try {
    const r = await t.fit(linearData(rng, 200, 4), linearData(rng, 50, 4));
    assert.equal(r.history[0]!.trainAcc, undefined);
    assert.equal(r.history[0]!.valAcc, undefined);
    assert.ok(r.history[7]!.valLoss! < 0.01 * r.history[0]!.trainLoss, JSON.stringify(r.history.map((h) => h.valLoss)));
  } finally {
    await t.dispose();
  }
});

test('bad data, graphs and checkpoints are GraftErrors that say what to fix', async () => {
  const code = (c: string, re?: RegExp) => (e: unknown) =>
    e instanceof GraftError && e.code === c && (!re || re.test(e.message));
  await withTrainer({}, async (t) => {
    await assert.rejects(
      t.fit({ features: TRAIN.features, labels: Int32Array.of(0, 1, 2, 3, 4, 0, 1, 2, 0, 1) }),
      code('BAD_INPUT', /out of range[\s\S]*found:\s+3 at sample 3/),
    );
    await assert.rejects(
      t.fit({ features: new Float32Array(39), labels: TRAIN.labels }),
      code('SHAPE_MISMATCH', /10 samples × 4 values/),
    );
    await assert.rejects(
      t.fit({ features: TRAIN.features, labels: new Float32Array(10) }),
      code('BAD_INPUT', /class indices/),
    );
    assert.throws(
      () => t.restore({ ...t.snapshot(), params: { W: new Float32Array(12) } }),
      code('CHECKPOINT', /missing b/),
    );
  });
  await withTrainer({ dropLast: true, batchSize: 11 }, (t) =>
    assert.rejects(t.fit(TRAIN), code('BAD_INPUT', /smaller than one batch/)),
  );
  assert.throws(
    () =>
      new Trainer({
        graph: { ...FX.graph, gradOf: { W: 'grad_W', b: 'nope' } },
        params: FX.params,
        batchSize: 2,
        epochs: 1,
      }),
    code('BAD_GRAPH', /missing outputs: nope/),
  );
  assert.throws(() => new Trainer({ graph: FX.graph, batchSize: 2, epochs: 1 }), code('CONFIG', /No initial value/));
  assert.throws(
    () => new Trainer({ graph: FX.graph, params: FX.params, batchSize: 0, epochs: 1 }),
    code('CONFIG', /batchSize/),
  );
  const ckpt = await withTrainer({ epochs: 1 }, async (t) => {
    await t.fit(TRAIN);
    return decodeCheckpoint(encodeCheckpoint(t.snapshot()));
  });
  await withTrainer({ optimizer: { name: 'adam' } }, async (t) =>
    assert.throws(() => t.restore(ckpt), code('CHECKPOINT', /another optimizer/)),
  );
});

test('a mid-epoch snapshot records the epoch start, so a resume replays that epoch in the same order', async () => {
  let atEpochEnd: Uint8Array | undefined;
  let midEpoch: Uint8Array | undefined;
  const orders: number[][] = [];
  const cb: Callback = {
    name: 'snap',
    beforeEpoch: () => void orders.push([]),
    beforeBatch: (t) => void orders[orders.length - 1]!.push(...t.batchIndices),
    afterBatch: (t) => {
      if (t.epoch === 1 && t.batch === 1) midEpoch = encodeCheckpoint(t.snapshot());
    },
    afterEpoch: (t) => {
      if (t.epoch === 0) atEpochEnd = encodeCheckpoint(t.snapshot());
    },
  };
  await withTrainer({ callbacks: [cb] }, (t) => t.fit(TRAIN));
  const end = decodeCheckpoint(atEpochEnd!);
  const mid = decodeCheckpoint(midEpoch!);
  assert.equal(mid.epoch, 1);
  assert.equal(mid.step, 3, 'the schedule clock of the epoch start');
  assert.deepEqual(mid.rng, end.rng, 'the random stream before the epoch was shuffled');
  assert.notDeepEqual(mid.params.W, end.params.W, 'parameters as they were at the snapshot');
  const replay: number[] = [];
  await withTrainer(
    { callbacks: [{ name: 'o', beforeBatch: (t) => void replay.push(...t.batchIndices) }] },
    async (t) => {
      t.restore(mid);
      await t.fit(TRAIN);
    },
  );
  assert.deepEqual(replay, orders[1]);
});

test('terminateOnNaN stops before a NaN loss reaches the parameters', async () => {
  // least squares with a rate far past 2/curvature: the error grows geometrically until the loss overflows
  const fx = linearRegression(4);
  let before: Float32Array | undefined;
  const watch: Callback = { name: 'watch', beforeBatch: (t) => void (before = t.params.W!.slice()) };
  const opts = { graph: fx.graph, params: fx.params, optimizer: { name: 'sgd' as const, lr: 50 }, epochs: 20 };
  await withTrainer({ ...opts, callbacks: [watch, terminateOnNaN()] }, async (t) => {
    const r = await t.fit(linearData(new Rng(3), 40, 4));
    assert.match(r.stopReason ?? '', /^loss became (NaN|Infinity) at step \d+ \(epoch \d+, batch \d+\)$/);
    assert.deepEqual([...r.params.W!], [...before!]);
    assert.ok(r.params.W!.every(Number.isFinite));
  });
});

test('fit refuses non-finite features before training, naming the sample', async () => {
  const features = (TRAIN.features as Float32Array).slice();
  features[9] = NaN;
  await withTrainer({}, async (t) => {
    await assert.rejects(t.fit({ features, labels: TRAIN.labels }), (e: unknown) => {
      assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT', String(e));
      assert.match(e.message, /training features hold a non-finite value[\s\S]*NaN in sample \d+/);
      return true;
    });
  });
});

test('failOnDivergence ends a diverged fit with an error instead of a result', async () => {
  const fx = linearRegression(4);
  const opts = { graph: fx.graph, params: fx.params, optimizer: { name: 'sgd' as const, lr: 50 }, epochs: 20 };
  await withTrainer({ ...opts, callbacks: [failOnDivergence({ what: 'test' })] }, async (t) => {
    await assert.rejects(t.fit(linearData(new Rng(3), 40, 4)), (e: unknown) => {
      assert.ok(e instanceof GraftError && e.code === 'RUNTIME', String(e));
      assert.match(e.message, /Training diverged: the loss became (NaN|Infinity)[\s\S]*test, epoch \d+, batch \d+/);
      return true;
    });
  });
});
