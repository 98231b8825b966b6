// Runs that must fail honestly (issue 10, items 6 and 7): a model whose outputs are not finite, a run
// folder that already holds a run, and a training run that diverges. Each ends in its documented exit code
// with a message, and nothing of the user's is lost.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fashionSlice, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { saveOnnxFile } from '../../node/onnx-file.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { AdversarialCase } from './types.js';

const PREPROCESSING = {
  size: [32, 32],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  layout: 'NCHW',
  channels: 3,
};

export const RUN_CASES: readonly AdversarialCase[] = [
  {
    name: 'predict-with-a-model-whose-weights-are-nan',
    item: 6,
    setup(ctx) {
      // a classifier as Graft writes it, but its weights went NaN (diverged training, damaged file)
      const b = new GraphBuilder('classifier');
      const x = b.input('pixel_values', 'float32', ['N', 3, 32, 32]);
      const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 });
      const w = b.initializer('fc.w', new Float32Array(9).fill(Number.NaN), [3, 3]);
      b.output(b.op('MatMul', [pooled, w], undefined, { outputs: ['logits'] }), 'float32', ['N', 3]);
      const m = b.build();
      m.metadata.set('graft.labels', JSON.stringify(['red', 'green', 'blue']));
      m.metadata.set('graft.preprocessing', JSON.stringify(PREPROCESSING));
      saveOnnxFile(join(ctx.dir, 'nan.onnx'), m);
      const data = fashionSlice(join(ctx.dir, 'data'), { train: 1, classes: 1 });
      const cls = join(data, readFirst(data));
      const img = join(cls, readFirst(cls));
      return [
        {
          argv: ['predict', 'nan.onnx', img],
          expect: { exit: 1, stderr: /error: .*\.png: the model gave a non-finite score[\s\S]*graft inspect/ },
        },
        {
          argv: ['predict', 'nan.onnx', img, '--json'],
          expect: { exit: 1, stdout: /"error": "the model gave a non-finite score/ },
        },
      ];
    },
  },
  {
    name: 'train-into-a-folder-that-holds-a-run',
    item: 7,
    setup(ctx) {
      writeTinyBackbone(join(ctx.dir, 'bb.onnx'), { featuresOnly: true });
      fashionSlice(join(ctx.dir, 'data'), { train: 6, classes: 2 });
      mkdirSync(join(ctx.dir, 'R'));
      writeFileSync(join(ctx.dir, 'R', 'run.json'), '{"the earlier run": true}\n');
      writeFileSync(join(ctx.dir, 'R', 'notes.txt'), 'mine\n');
      const train = ['train', 'data', '--model', 'bb.onnx', '--strategy', 'prototype', '--offline', '--out', 'R'];
      return [
        {
          argv: train,
          expect: {
            exit: 2,
            stderr: /The run folder is not empty[\s\S]*--overwrite/,
            check: (_r, c) => {
              assert.equal(readFileSync(join(c.dir, 'R', 'run.json'), 'utf8'), '{"the earlier run": true}\n');
              assert.ok(!existsSync(join(c.dir, 'R', 'model.onnx')), 'nothing was written');
            },
          },
        },
        {
          argv: [...train, '--overwrite'],
          expect: {
            exit: 0,
            check: (_r, c) => {
              assert.equal(readFileSync(join(c.dir, 'R', 'notes.txt'), 'utf8'), 'mine\n', "the user's file stays");
              assert.ok(existsSync(join(c.dir, 'R', 'model.onnx')));
            },
          },
        },
      ];
    },
  },
  {
    name: 'train-that-diverges',
    item: 6,
    setup(ctx) {
      writeTinyBackbone(join(ctx.dir, 'bb.onnx'), { featuresOnly: true });
      fashionSlice(join(ctx.dir, 'data'), { train: 6, classes: 2 });
      return {
        argv: [
          'train',
          'data',
          '--model',
          'bb.onnx',
          '--strategy',
          'linear-probe',
          '--lr',
          '1e30',
          '--offline',
          '--out',
          'R',
        ],
        expect: {
          exit: 1,
          stderr: /Training diverged: the loss became[\s\S]*lower the learning rate/,
          check: (_r, c) => assert.ok(!existsSync(join(c.dir, 'R', 'model.onnx')), 'no model is saved'),
        },
      };
    },
  },
];

function readFirst(dir: string): string {
  return readdirSync(dir).sort()[0]!;
}
