import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGraftError } from '../../errors.js';
import { decodeModel, encodeModel } from '../../onnx/codec.js';
import { EMBEDDING_TABLE } from './bag-model.js';
import { TextClassifier, WordInputEncoder, finalizeTextClassifier } from './classifier.js';
import { POSITIVE, sentimentTexts, tinyWordVectors } from './test-utils.js';
import { type TrainTextOptions, trainTextClassifier } from './train.js';
import { vocabularyOf } from './vocabulary.js';

const CLASSES = ['negative', 'positive'];

async function heldOutAccuracy(opts: TrainTextOptions, trained: Awaited<ReturnType<typeof trainTextClassifier>>) {
  // through the bytes, as predict would read model.onnx
  const model = decodeModel(
    encodeModel(finalizeTextClassifier(trained.model, trained.encoder, { labels: opts.classes })),
  );
  const c = await TextClassifier.fromModel(model);
  try {
    const test = sentimentTexts(200, 99);
    const p = await c.predict(test.texts);
    return { acc: p.filter((x, i) => x.index === test.labels[i]).length / p.length, model };
  } finally {
    await c.dispose();
  }
}

test('word vectors, feature-extract: frozen mean+max features and an MLP head learn the classes', async () => {
  const glove = tinyWordVectors(16);
  const opts: TrainTextOptions = {
    backbone: { kind: 'word-vectors', model: glove },
    classes: CLASSES,
    train: sentimentTexts(300, 1),
    val: sentimentTexts(80, 2),
    seed: 5,
    epochs: 40,
  };
  const trained = await trainTextClassifier(opts);
  assert.equal(trained.strategy, 'feature-extract');
  assert.deepEqual(trained.head, { kind: 'mlp', hidden: [256] });
  assert.equal(trained.config.featureDim, 32);
  const { acc, model } = await heldOutAccuracy(opts, trained);
  assert.ok(acc >= 0.95, `held-out accuracy ${acc}`);
  // the frozen table went into the exported model unchanged, vocabulary and all
  const before = glove.graph.initializers.get('embeddings')!.toArray();
  assert.deepEqual([...model.graph.initializers.get(EMBEDDING_TABLE)!.toArray()], [...before]);
  assert.deepEqual(vocabularyOf(model).words, vocabularyOf(glove).words);
  assert.equal(model.graph.inputs.find((i) => i.name === 'token_ids')!.dtype, 'int64');
});

test('word vectors, fine-tune: the table is trimmed to the training words, trained, and new words get rows', async () => {
  const glove = tinyWordVectors();
  const train = sentimentTexts(300, 3);
  // a word GloVe lacks, frequent in positive texts only
  const texts = train.texts.map((t, i) => (train.labels[i] === 1 && i % 4 === 1 ? `${t} zzword` : t));
  const opts: TrainTextOptions = {
    backbone: { kind: 'word-vectors', model: glove },
    classes: CLASSES,
    train: { texts, labels: train.labels },
    val: sentimentTexts(80, 4),
    strategy: 'fine-tune',
    head: { kind: 'linear' },
    keepTopWords: 0,
    newWordMinCount: 5,
    seed: 6,
    epochs: 15,
    lr: 1e-2,
  };
  const events: string[] = [];
  const trained = await trainTextClassifier({ ...opts, onEvent: (e) => e.type === 'info' && events.push(e.message) });
  assert.equal(trained.history.length, 15);
  assert.ok(trained.encoder instanceof WordInputEncoder);
  const words = trained.encoder.vocabulary.words;
  assert.ok(!words.some((w) => w.startsWith('filler')), 'words no training text uses are trimmed away');
  assert.equal(words.at(-1), 'zzword');
  assert.equal(trained.config.newWords, 1);
  assert.match(events[0]!, /fine-tuning 23 word vectors \(1 new\) of 43/);
  const { acc, model } = await heldOutAccuracy(opts, trained);
  assert.ok(acc >= 0.95, `held-out accuracy ${acc}`);
  // cue-word vectors moved away from GloVe's; the exported model carries the trimmed vocabulary
  const full = vocabularyOf(glove);
  const orig = glove.graph.initializers.get('embeddings')!.toArray() as Float32Array;
  const tuned = model.graph.initializers.get(EMBEDDING_TABLE)!.toArray() as Float32Array;
  const vocab = vocabularyOf(model);
  assert.deepEqual(vocab.words, words);
  const w = POSITIVE[0]!;
  const a = orig.subarray(full.id(w)! * 8, full.id(w)! * 8 + 8);
  const b = tuned.subarray(vocab.id(w)! * 8, vocab.id(w)! * 8 + 8);
  assert.ok(Math.hypot(...a.map((v, i) => v - b[i]!)) > 1e-3, 'a trained word vector changed');
});

test('text training refuses what it cannot do, naming the way out', async () => {
  const backbone = { kind: 'word-vectors' as const, model: tinyWordVectors() };
  const train = sentimentTexts(20, 7);
  const reject = (o: Partial<TrainTextOptions>, code: string, pattern: RegExp) =>
    assert.rejects(
      trainTextClassifier({ backbone, classes: CLASSES, train, ...o }),
      (e: unknown) => isGraftError(e) && e.code === code && pattern.test(e.message),
    );
  await reject({ strategy: 'fine-tune', head: { kind: 'knn', k: 3 } }, 'BAD_INPUT', /--strategy knn/);
  await reject({ strategy: 'boost' as 'knn' }, 'BAD_INPUT', /Unknown text strategy 'boost'[\s\S]*fine-tune/);
  await reject({ classes: ['only'] }, 'BAD_INPUT', /two classes/);
  await reject({ train: { texts: train.texts, labels: train.labels.map(() => 4) } }, 'BAD_INPUT', /class index/);
});
