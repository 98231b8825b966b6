// Child process for the kill-during-write test: writes a large checkpoint to the same path over and over,
// printing "wrote N" after each, until killed (or --count writes are done).
// Usage: node --import tsx write-loop.ts --path FILE [--mb 8] [--count N]
import { parseArgs } from 'node:util';
import { encodeCheckpoint } from '../checkpoint.js';
import { writeFileAtomic } from '../node/checkpoint-file.js';

const { values } = parseArgs({
  options: {
    path: { type: 'string' },
    mb: { type: 'string', default: '8' },
    count: { type: 'string', default: '1000000' },
  },
});

async function main(): Promise<void> {
  const size = (Number(values.mb) * 1024 * 1024) / 4;
  const count = Number(values.count);
  // Encoded up front (two alternating versions) so that nearly all the loop's time is spent writing.
  const versions = [1, 2].map((v) =>
    encodeCheckpoint({
      epoch: v,
      step: v,
      params: { W: new Float32Array(size).fill(v) },
      optimizer: { kind: 'sgd', hyper: { lr: 0.1 }, params: {} },
      rng: [v, 2, 3, 4],
      history: [],
      config: {},
      callbacks: {},
    }),
  );
  process.stdout.write('ready\n');
  for (let i = 1; i <= count; i++) {
    await writeFileAtomic(values.path!, versions[i % 2]!);
    process.stdout.write(`wrote ${i}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
