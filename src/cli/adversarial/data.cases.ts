// Hostile data sets and decoder bombs (issue 10, items 4 and 5), through `graft train` and `graft predict`
// on a tiny backbone written into the case folder: offline, a few seconds each. Bad files are skipped and
// listed (exit 0) when the rest of the data is fine; a bomb given to predict fails that file (exit 1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, truncateSync, writeFileSync, existsSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fashionSlice, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { gifBomb, pngBomb } from '../../data/node/test-utils/bombs.js';
import { saveOnnxFile } from '../../node/onnx-file.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { AdversarialCase, AdversarialContext, AdversarialRun } from './types.js';

const DATA = 'data';
const RUN = 'R';

/** Two classes of six Fashion-MNIST images under ctx.dir/data, and the tiny backbone at ctx.dir/bb.onnx. */
function goodData(ctx: AdversarialContext): string {
  writeTinyBackbone(join(ctx.dir, 'bb.onnx'), { featuresOnly: true });
  return fashionSlice(join(ctx.dir, DATA), { train: 6, classes: 2 });
}

/** The name of goodData's first class folder, where hostile files go. */
function firstClass(data: string): string {
  return readdirSync(data).sort()[0]!;
}

/** A good image of goodData. */
function firstImage(data: string): string {
  const cls = join(data, firstClass(data));
  return join(cls, readdirSync(cls).sort()[0]!);
}

/** `graft train SOURCE` must finish (exit 0) with `expectSkipped` listed as left out in run.json. */
function train(source: string, expectSkipped: Record<string, RegExp>, stderr: RegExp, out = RUN): AdversarialRun {
  return {
    argv: ['train', source, '--model', 'bb.onnx', '--strategy', 'prototype', '--offline', '--out', out],
    expect: {
      exit: 0,
      stderr,
      check: (_r, ctx) => {
        assert.ok(existsSync(join(ctx.dir, out, 'model.onnx')), 'the run wrote its model');
        const run = JSON.parse(readFileSync(join(ctx.dir, out, 'run.json'), 'utf8')) as {
          data: { badFiles: { path: string; reason: string }[] };
        };
        for (const [path, reason] of Object.entries(expectSkipped)) {
          const bad = run.data.badFiles.find((b) => b.path === path);
          assert.ok(bad, `run.json lists ${path} as left out: ${JSON.stringify(run.data.badFiles)}`);
          assert.match(bad.reason, reason);
        }
      },
    },
  };
}

function predict(model: string, files: string[], stderr: RegExp, stdout?: RegExp): AdversarialRun {
  return { argv: ['predict', model, ...files], expect: { exit: 1, stderr, ...(stdout ? { stdout } : {}) } };
}

/** A classifier Graft's predict accepts (labels + preprocessing metadata), input [N, 3, H, W]. */
function writeClassifier(file: string, preprocessing: Record<string, unknown>, hw: [number, number]): string {
  const b = new GraphBuilder('classifier');
  const x = b.input('pixel_values', 'float32', ['N', 3, hw[0], hw[1]]);
  const pooled = b.op('GlobalAveragePool', [x]);
  b.output(b.op('Flatten', [pooled], { axis: 1 }, { outputs: ['logits'] }), 'float32', ['N', 3]);
  const m = b.build();
  m.metadata.set('graft.labels', JSON.stringify(['red', 'green', 'blue']));
  m.metadata.set('graft.preprocessing', JSON.stringify(preprocessing));
  saveOnnxFile(file, m);
  return file;
}

export const DATA_CASES: readonly AdversarialCase[] = [
  {
    name: 'dataset-fifo-named-png',
    item: 4,
    setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      execFileSync('mkfifo', [join(data, cls, 'x.png')]);
      return train(
        DATA,
        { [`${cls}/x.png`]: /not-a-file: a FIFO/ },
        /x\.png \(a FIFO \(named pipe\), not a regular file\)/,
      );
    },
  },
  {
    name: 'dataset-symlink-to-dev-zero',
    item: 4,
    setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      symlinkSync('/dev/zero', join(data, cls, 'z.png'));
      return train(DATA, { [`${cls}/z.png`]: /not-a-file: a character device/ }, /z\.png \(a character device/);
    },
  },
  {
    name: 'dataset-directory-symlink-loop',
    item: 4,
    setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      symlinkSync('.', join(data, cls, 'a'));
      symlinkSync('.', join(data, cls, 'b'));
      symlinkSync('.', join(data, 'everything'));
      return train(
        DATA,
        {
          [`${cls}/a/`]: /skipped-folder: the same folder as .*\(a link\), scanned once/,
          [`${cls}/b/`]: /skipped-folder/,
          'everything/': /same folder as the data set root/,
        },
        /3 folders not scanned/,
      );
    },
  },
  {
    name: 'dataset-file-over-the-size-limit',
    item: 4,
    setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      const big = join(data, cls, 'huge.png');
      writeFileSync(big, '');
      truncateSync(big, 20 * 1024 ** 3); // 20 GiB, sparse: nothing is written, and nothing must be read
      return train(DATA, { [`${cls}/huge.png`]: /too-large: 20 GiB, over the 64 MiB limit/ }, /huge\.png \(20 GiB/);
    },
  },
  {
    name: 'manifest-naming-dev-zero-a-fifo-and-an-outside-file',
    item: 4,
    setup(ctx) {
      const data = goodData(ctx);
      const rows = ['path,label'];
      for (const cls of readdirSync(data).sort()) {
        for (const f of readdirSync(join(data, cls)).sort()) rows.push(`${DATA}/${cls}/${f},${cls}`);
      }
      execFileSync('mkfifo', [join(ctx.dir, 'pipe.png')]);
      // a manifest may name any readable file; one that is not an image is reported, never quoted
      rows.push('/dev/zero,bag', 'pipe.png,bag', `${ctx.outsideFile},bag`);
      writeFileSync(join(ctx.dir, 'list.csv'), `${rows.join('\n')}\n`);
      const jsonl = rows.slice(1, 8).map((r) => JSON.stringify({ path: r.split(',')[0], label: r.split(',')[1] }));
      jsonl.push(
        `{"path": "${ctx.secret}", "label": ${ctx.secret}}`,
        JSON.stringify({ path: '/dev/zero', label: 'x' }),
      );
      writeFileSync(join(ctx.dir, 'list.jsonl'), `${jsonl.join('\n')}\n`);
      return [
        train(
          'list.csv',
          {
            '/dev/zero': /not-a-file: a character device/,
            'pipe.png': /not-a-file: a FIFO/,
            [ctx.outsideFile]: /corrupt: not a readable image/,
          },
          /special files .*\/dev\/zero/,
        ),
        // a JSON line quoting nothing but the secret: reported by line number only
        train(
          'list.jsonl',
          { 'list.jsonl:8': /^bad-row: not valid JSON/, '/dev/zero': /not-a-file/ },
          /manifest rows without a usable path\/text or label skipped: list\.jsonl:8/,
          'R2',
        ),
      ];
    },
  },
  {
    name: 'gif-bomb-in-train-and-predict',
    item: 5,
    setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      const skipped: Record<string, RegExp> = {};
      for (let i = 0; i < 6; i++) {
        writeFileSync(join(data, cls, `bomb${i}.gif`), gifBomb());
        skipped[`${cls}/bomb${i}.gif`] = /too-large: 16383x16383 \(268.4 megapixels\), over the 67.1 megapixels limit/;
      }
      writeFileSync(join(ctx.dir, 'bomb.gif'), gifBomb());
      copyFileSync(firstImage(data), join(ctx.dir, 'good.png'));
      return [
        train(DATA, skipped, /6 files over the size or pixel limit skipped/),
        predict(
          join(RUN, 'model.onnx'),
          ['bomb.gif', 'good.png'],
          /error: bomb\.gif: Image too large: 16383x16383/,
          /good\.png\t/,
        ),
      ];
    },
  },
  {
    name: 'png-bomb-in-train-and-predict',
    item: 5,
    async setup(ctx) {
      const data = goodData(ctx);
      const cls = firstClass(data);
      // interlaced RGB 16000 x 16000, all valid data: ~800 MB to decode without the limit
      const bomb = await pngBomb();
      writeFileSync(join(data, cls, 'bomb.png'), bomb);
      writeFileSync(join(ctx.dir, 'bomb.png'), bomb);
      return [
        train(DATA, { [`${cls}/bomb.png`]: /too-large: 16000x16000/ }, /bomb\.png \(16000x16000/),
        predict(join(RUN, 'model.onnx'), ['bomb.png'], /error: bomb\.png: Image too large: 16000x16000/),
      ];
    },
  },
  {
    name: 'model-metadata-declares-a-30000x30000-input',
    item: 5,
    setup(ctx) {
      const preprocessing = {
        size: [30000, 30000],
        resize: 'squash',
        scale: 1 / 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        layout: 'NCHW',
        channels: 3,
      };
      writeClassifier(join(ctx.dir, 'huge.onnx'), preprocessing, [30000, 30000]);
      copyFileSync(firstImage(goodData(ctx)), join(ctx.dir, 'img.png'));
      return predict(
        'huge.onnx',
        ['img.png'],
        /'graft\.preprocessing' metadata is not valid: Invalid preprocessing: size[\s\S]*huge\.onnx[\s\S]*at most 4.2 megapixels/,
      );
    },
  },
  {
    name: 'predict-on-a-fifo-and-dev-zero',
    item: 4,
    setup(ctx) {
      const preprocessing = {
        size: [32, 32],
        resize: 'squash',
        scale: 1 / 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        layout: 'NCHW',
        channels: 3,
      };
      writeClassifier(join(ctx.dir, 'm.onnx'), preprocessing, [32, 32]);
      copyFileSync(firstImage(goodData(ctx)), join(ctx.dir, 'good.png'));
      execFileSync('mkfifo', [join(ctx.dir, 'x.png')]);
      symlinkSync('/dev/zero', join(ctx.dir, 'z.png'));
      return predict(
        'm.onnx',
        ['x.png', 'z.png', 'good.png'],
        /error: x\.png: Image not read: a FIFO[\s\S]*error: z\.png: Image not read: a character device/,
        /good\.png\t/,
      );
    },
  },
  {
    name: 'predict-raised-limits-reach-the-decoder',
    item: 5,
    setup(ctx) {
      // the default refuses a 32x32-pixel image when --max-pixels says 1000 (the flag reaches the decoder)
      const preprocessing = {
        size: [32, 32],
        resize: 'squash',
        scale: 1 / 255,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        layout: 'NCHW',
        channels: 3,
      };
      writeClassifier(join(ctx.dir, 'm.onnx'), preprocessing, [32, 32]);
      copyFileSync(firstImage(goodData(ctx)), join(ctx.dir, 'good.png'));
      return [
        {
          argv: ['predict', 'm.onnx', 'good.png', '--max-pixels', '100'],
          expect: { exit: 1, stderr: /error: good\.png: Image too large/ },
        },
        { argv: ['predict', 'm.onnx', 'good.png'], expect: { exit: 0, stdout: /good\.png\t/ } },
      ];
    },
  },
];
