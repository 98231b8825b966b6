// Child process for the kill -9 test: trains with a checkpoint after every epoch and reports progress
// on stdout ("epoch N" once that epoch's checkpoint is on disk). With --resume it continues from the file.
// Usage: node --import tsx train-child.ts --ckpt FILE --out FILE [--resume] [--epochs N] [--delay-ms MS]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileCheckpoint, loadCheckpointIfPresent } from '../node/checkpoint-file.js';
import type { Callback } from '../events.js';
import { Rng } from '../../util/rng.js';
import { cosineSchedule, withWarmup } from '../schedules.js';
import { Trainer } from '../trainer.js';
import { blobs, softmaxRegression } from './graphs.js';

const { values } = parseArgs({
  options: {
    ckpt: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '8' },
    'delay-ms': { type: 'string', default: '0' },
  },
});

async function main(): Promise<void> {
  const fx = softmaxRegression(8, 4, 3);
  const data = new Rng(100);
  const train = blobs(data, 800, 8, 4, 2.5, 1);
  const val = blobs(data, 200, 8, 4, 2.5, 1);
  const delay = Number(values['delay-ms']);
  const report: Callback = {
    name: 'report',
    order: 100, // after the checkpoint callback (90): "epoch N" means epoch N is on disk
    afterEpoch: async (t) => {
      process.stdout.write(`epoch ${t.completedEpochs}\n`);
      if (delay) await new Promise((r) => setTimeout(r, delay));
    },
  };
  const trainer = new Trainer({
    graph: fx.graph,
    params: fx.params,
    optimizer: { name: 'adamw', lr: 0.02, weightDecay: 0.05 },
    schedule: withWarmup(0.1, cosineSchedule()),
    batchSize: 16,
    epochs: Number(values.epochs),
    seed: 1234,
    session: { intraOpThreads: 1 },
    callbacks: [fileCheckpoint(values.ckpt!), report],
  });
  let resumedFrom = 0;
  if (values.resume) {
    const ckpt = await loadCheckpointIfPresent(values.ckpt!);
    if (ckpt) {
      trainer.restore(ckpt);
      resumedFrom = ckpt.epoch;
    }
    process.stdout.write(`resumed ${resumedFrom}\n`);
  }
  const result = await trainer.fit(train, val);
  await trainer.dispose();
  writeFileSync(
    values.out!,
    JSON.stringify({
      resumedFrom,
      history: result.history.map((h) => [h.epoch, h.trainLoss, h.trainAcc, h.valLoss, h.valAcc, h.lr, h.steps]),
      params: Object.fromEntries(Object.entries(result.params).map(([k, v]) => [k, [...v]])),
    }),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
