import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGraftError } from '../../errors.js';
import { decodeModel, encodeModel } from '../../onnx/codec.js';
import { Session } from '../../runtime/session.js';
import { TextClassifier, finalizeTextClassifier, isTextClassifier } from './classifier.js';
import { SENTENCE_FEATURES, SentenceTokenizer, encoderFeeds, sentenceFeatureModel } from './sentence-encoder.js';
import { NEUTRAL, SPECIALS, sentimentTexts, tinyEncoder, tinyTokenizerJson } from './test-utils.js';
import { trainTextClassifier } from './train.js';

const id = (w: string) => [...SPECIALS, ...NEUTRAL].indexOf(w);

test('SentenceTokenizer: WordPiece ids with [CLS]/[SEP] from tokenizer.json; truncation keeps [SEP]', () => {
  const tok = new SentenceTokenizer(tinyTokenizerJson(), {}, 6);
  const films = (tinyTokenizerJson().model as { vocab: Record<string, number> }).vocab;
  assert.deepEqual([...tok.encode('The MOVIE was zzz')], [2, id('the'), id('movie'), id('was'), 1, 3]);
  assert.deepEqual([...tok.encode('films')], [2, films['film']!, films['##s']!, 3]);
  assert.deepEqual(
    [...tok.encode('the movie was the plot and the cast')],
    [2, id('the'), id('movie'), id('was'), id('the'), 3],
  );
  assert.throws(
    () => new SentenceTokenizer({ model: { type: 'NoSuchModel' } }),
    (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT',
  );
});

test('sentenceFeatureModel: attention-masked mean of the token states, padding ignored', async () => {
  const enc = tinyEncoder(16);
  const tok = new SentenceTokenizer(tinyTokenizerJson());
  const lists = ['the movie was good', 'awful', 'the plot and the cast is lovely and superb'].map((t) => tok.encode(t));
  const feeds = encoderFeeds(lists, ['input_ids', 'attention_mask', 'token_type_ids']);
  const states = await Session.create(enc);
  const h = (await states.run(feeds))['last_hidden_state']!;
  await states.dispose();
  const sf = sentenceFeatureModel(enc);
  assert.equal(sf.features, SENTENCE_FEATURES);
  assert.equal(sf.featureDim, 16);
  const s = await Session.create(sf.model);
  const f = (await s.run(feeds))[SENTENCE_FEATURES]!.data as Float32Array;
  await s.dispose();
  const t = h.dims[1]!;
  const hd = h.data as Float32Array;
  lists.forEach((l, i) => {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < l.length; k++) sum += hd[(i * t + k) * 16 + j]!;
      assert.ok(Math.abs(f[i * 16 + j]! - sum / l.length) < 1e-5, `text ${i} dim ${j}`);
    }
  });
  assert.ok(lists[0]!.length < t, 'the batch really was padded');
});

test('sentence encoder + linear head: learns the classes, and the exported model reads raw text', async () => {
  const train = sentimentTexts(400, 11);
  const val = sentimentTexts(60, 12);
  const trained = await trainTextClassifier({
    backbone: { kind: 'sentence-encoder', model: tinyEncoder(48), tokenizerJson: tinyTokenizerJson() },
    classes: ['negative', 'positive'],
    train,
    val,
    strategy: 'linear-probe',
    seed: 3,
    epochs: 60,
  });
  assert.equal(trained.history.length, 60);
  const model = decodeModel(
    encodeModel(finalizeTextClassifier(trained.model, trained.encoder, { labels: ['negative', 'positive'] })),
  );
  assert.ok(model.metadata.get('graft.tokenizer')!.includes('WordPiece'));
  assert.ok(isTextClassifier(model) && !isTextClassifier(tinyEncoder(8)));
  const c = await TextClassifier.fromModel(model);
  try {
    const test = sentimentTexts(100, 13);
    const p = await c.predict(test.texts);
    const acc = p.filter((x, i) => x.index === test.labels[i]).length / p.length;
    assert.ok(acc >= 0.9, `held-out accuracy ${acc}`);
    assert.ok(p.every((x) => Math.abs(x.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6));
    assert.equal((await c.predict(['the film was superb and lovely']))[0]!.label, 'positive');
  } finally {
    await c.dispose();
  }
});

test('a sentence encoder fine-tunes with its head (every weight); an encoder without input_ids is refused', async () => {
  const backbone = { kind: 'sentence-encoder' as const, model: tinyEncoder(8), tokenizerJson: tinyTokenizerJson() };
  const data = sentimentTexts(10, 1);
  const r = await trainTextClassifier({
    backbone,
    classes: ['n', 'p'],
    train: data,
    strategy: 'fine-tune',
    epochs: 2,
    seed: 1,
  });
  assert.equal(r.strategy, 'fine-tune');
  assert.equal(r.config.unfreeze, 'all');
  assert.ok(Number(r.config.trainedEncoderWeights) >= 1, 'encoder weights trained');
  assert.equal(r.history.length, 2);
  const before = backbone.model.graph.initializers;
  const changed = [...before.keys()].filter((k) => {
    const t = r.model.graph.initializers.get(k);
    const a = before.get(k)!.toArray();
    return t && t.dims.length > 0 && Array.from(t.toArray() as Float32Array).some((v, i) => v !== a[i]);
  });
  assert.ok(changed.length >= 1, 'fine-tuning changed the encoder weights');
  await assert.rejects(
    trainTextClassifier({ backbone, classes: ['n', 'p'], train: data, strategy: 'fine-tune', unfreeze: 'last:x' }),
    (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && /--unfreeze/.test(e.message),
  );
  const renamed = tinyEncoder(8);
  renamed.graph.inputs[0]!.name = 'ids';
  renamed.graph.replaceAllUses('input_ids', 'ids');
  assert.throws(
    () => sentenceFeatureModel(renamed),
    (e: unknown) => isGraftError(e) && e.code === 'BAD_MODEL',
  );
});
