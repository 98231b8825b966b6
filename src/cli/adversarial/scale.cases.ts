// Hostile inputs of the scale-out and serving commands (issue 16): shard markers that try to steer the merge
// out of its folder or hold a file's contents, a queue URL whose password must never be printed, a serving token
// that must never be printed, and an address off this machine without a token.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdversarialCase } from './types.js';

const DAMAGED = /The shard marker is damaged or was written by something else/;

export const SCALE_CASES: AdversarialCase[] = [
  {
    name: 'embed-shard-marker-steers-the-merge-outside',
    item: 1,
    setup: (ctx) => {
      const shards = join(ctx.dir, 'feats.npy.shards');
      mkdirSync(shards);
      const marker = {
        kind: 'graft-embed-shard',
        version: 1,
        shard: { index: 0, count: 1 },
        settings: 'x',
        dataset: { items: 1, fingerprint: 'x' },
        range: [0, 1],
        // the shard file would be '0-of-1.../../outside/secret.txt'
        format: `${'/..'.repeat(6)}${ctx.outsideFile}`,
        rows: 1,
        dim: 2,
        model: 'm',
        featureValue: 'f',
        namespace: 'n',
        computed: 0,
        reused: 0,
        scanSkipped: [],
        decodeFailed: [],
        files: [{ name: `../../outside/secret.txt`, bytes: 1, sha256: '0'.repeat(64) }],
      };
      writeFileSync(join(shards, '0-of-1.done.json'), JSON.stringify(marker));
      return [
        { argv: ['merge', 'feats.npy'], expect: { exit: 1, stderr: DAMAGED } },
        { argv: ['merge', 'feats.npy', '--json'], expect: { exit: 1, stdout: /"code":"IO"/ } },
      ];
    },
  },
  {
    name: 'embed-shard-marker-holding-a-secret',
    item: 3,
    setup: (ctx) => {
      const shards = join(ctx.dir, 'feats.csv.shards');
      mkdirSync(shards);
      writeFileSync(join(shards, '0-of-2.done.json'), `${ctx.secret}\n{"kind": "${ctx.secret}"`);
      return { argv: ['merge', 'feats.csv'], expect: { exit: 1, stderr: DAMAGED } };
    },
  },
  {
    name: 'compare-shard-marker-names-runs-outside',
    item: 1,
    setup: (ctx) => {
      const shards = join(ctx.dir, 'study', 'shards');
      mkdirSync(shards, { recursive: true });
      writeFileSync(join(shards, 'job.json'), JSON.stringify({ settings: 's', count: 1 }));
      const header = { model: 'm', strategies: [`../../../outside/${ctx.secret}`], fractions: [1], seeds: [0] };
      const marker = {
        kind: 'graft-compare-shard',
        version: 1,
        shard: { index: 0, count: 1 },
        settings: 's',
        header,
        runs: [],
      };
      writeFileSync(join(shards, '0-of-1.done.json'), JSON.stringify(marker));
      return { argv: ['merge', 'study'], expect: { exit: 1, stderr: DAMAGED } };
    },
  },
  {
    name: 'worker-queue-password-never-printed',
    item: 6,
    setup: (ctx) => [
      {
        // port 1: nothing listens; the refusal names the queue, not its password
        argv: ['worker', '--queue', `redis://:${ctx.secret}@127.0.0.1:1`, '--idle-exit', '0'],
        expect: { exit: 1, stderr: /Cannot reach the queue at redis:\/\/127\.0\.0\.1:1/ },
      },
      {
        argv: ['compare', 'data', '--out', 'study', '--queue', `redis://:${ctx.secret}@127.0.0.1:1`, '--json'],
        expect: { exit: 1, stdout: /"code":"(NOT_FOUND|NETWORK)"/ },
      },
    ],
  },
  {
    name: 'serve-token-never-printed-and-required-off-loopback',
    item: 6,
    setup: () => [
      {
        argv: ['serve', 'model.onnx', '--host', '0.0.0.0'],
        expect: { exit: 2, stderr: /Serving on 0\.0\.0\.0 needs a token/ },
      },
      {
        argv: ['serve', 'model.onnx', '--host', '0.0.0.0', '--json'],
        env: { GRAFT_SERVE_TOKEN: 'short' },
        expect: { exit: 2, stderr: /too weak/ },
      },
    ],
  },
  {
    name: 'serve-weak-token-with-a-secret',
    item: 6,
    setup: (ctx) => ({
      argv: ['serve', 'model.onnx', '--token', `${ctx.secret} x`],
      expect: { exit: 2, stderr: /The serving token is too weak/ },
    }),
  },
];
