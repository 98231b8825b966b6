import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { Session } from '../runtime/session.js';
import { mulberry32, gaussian } from '../util/rng.js';
import {
  CLASSIFIER_INPUT,
  CLASSIFIER_LOGITS,
  CLASSIFIER_PROBABILITIES,
  graftClassifier,
  readClassifierInfo,
} from './pipeline-graft.js';
import { HEAD_INPUT, runHead, trainHead } from './pipeline-head.js';
import { formatHeadChoice, parseHeadChoice } from './heads/index.js';
import { balancedClassWeights, preprocessingFromZoo, withResizeMode } from './pipeline.js';
import { headForStrategy } from './strategies/index.js';
import type { FeatureSet } from './prototype.js';

const isError = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof GraftError && e.code === code && re.test(e.message);

test('head specs parse, print back, and bad ones name the valid forms', () => {
  assert.deepEqual(parseHeadChoice('mlp:512,128'), { kind: 'mlp', hidden: [512, 128] });
  assert.deepEqual(parseHeadChoice('mlp'), { kind: 'mlp', hidden: [256] });
  assert.deepEqual(parseHeadChoice('KNN:7'), { kind: 'knn', k: 7 });
  assert.deepEqual(parseHeadChoice('knn'), { kind: 'knn', k: 5 });
  assert.deepEqual(parseHeadChoice('linear'), { kind: 'linear' });
  assert.deepEqual(parseHeadChoice('prototype'), { kind: 'prototype' });
  for (const t of ['mlp:512,128', 'knn:7', 'linear', 'prototype'])
    assert.equal(formatHeadChoice(parseHeadChoice(t)), t);
  assert.throws(() => parseHeadChoice('mlp:0'), isError('BAD_INPUT', /positive whole numbers[\s\S]*valid choices/));
  assert.throws(() => parseHeadChoice('svm'), isError('BAD_INPUT', /unknown head kind 'svm'/));
  assert.throws(() => parseHeadChoice('knn:3,4'), isError('BAD_INPUT', /one k/));
  assert.throws(() => parseHeadChoice('linear:3'), isError('BAD_INPUT', /no sizes/));
});

test('each strategy has a default head and refuses a head that contradicts it', () => {
  assert.deepEqual(headForStrategy('linear-probe'), { kind: 'linear' });
  assert.deepEqual(headForStrategy('feature-extract'), { kind: 'mlp', hidden: [256] });
  assert.deepEqual(headForStrategy('knn', { kind: 'knn', k: 3 }), { kind: 'knn', k: 3 });
  assert.deepEqual(headForStrategy('prototype'), { kind: 'prototype' });
  assert.throws(
    () => headForStrategy('linear-probe', { kind: 'mlp', hidden: [8] }),
    isError('BAD_INPUT', /does not fit --strategy linear-probe[\s\S]*feature-extract/),
  );
  assert.throws(() => headForStrategy('knn', { kind: 'prototype' }), isError('BAD_INPUT', /--strategy prototype/));
  assert.deepEqual(headForStrategy('fine-tune'), { kind: 'linear' });
  assert.throws(() => headForStrategy('fine-tune', { kind: 'knn', k: 3 }), isError('BAD_INPUT', /--strategy knn/));
  assert.throws(() => headForStrategy('nope' as never), isError('BAD_INPUT', /Unknown strategy 'nope'/));
});

test('zoo preprocessing becomes the data spec: shortest edge + crop, exact resize, and overrides', () => {
  const p = preprocessingFromZoo(
    {
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: { mode: 'shortest-edge', size: 256, filter: 'bicubic' },
      crop: [224, 224],
      channels: 'RGB',
    },
    'NCHW',
    [224, 224],
  );
  assert.deepEqual(p, {
    size: [224, 224],
    resize: 'shorter-side-then-crop',
    cropFraction: 0.875,
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: 'NCHW',
    channels: 3,
  });
  const squash = withResizeMode(p, 'squash');
  assert.equal(squash.resize, 'squash');
  assert.equal(squash.cropFraction, undefined);
  const exact = preprocessingFromZoo(
    {
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      resize: { mode: 'exact', size: [160, 128], filter: 'bilinear' },
      channels: 'RGB',
    },
    'NHWC',
  );
  assert.deepEqual([exact.size, exact.resize, exact.layout], [[160, 128], 'squash', 'NHWC']);
  assert.throws(
    () =>
      preprocessingFromZoo(
        { ...exact, resize: { mode: 'exact', size: 96, filter: 'nearest' }, channels: 'BGR' } as never,
        'NCHW',
      ),
    isError('CONFIG', /BGR/),
  );
  assert.throws(
    () =>
      preprocessingFromZoo(
        {
          scale: 1,
          mean: [0, 0, 0],
          std: [1, 1, 1],
          resize: { mode: 'exact', size: 96, filter: 'nearest' },
          channels: 'RGB',
        },
        'NCHW',
        [224, 224],
      ),
    isError('CONFIG', /does not match the model input/),
  );
});

test('balanced class weights follow n / (C * n_c) and give absent classes 0', () => {
  assert.deepEqual(balancedClassWeights([0, 0, 0, 1], 2), [4 / 6, 2]);
  assert.deepEqual(balancedClassWeights([0, 2, 2, 2], 3), [2, 0, 4 / 6]);
});

/** Gaussian blobs in `dim` dimensions with per-class means, an offset and unequal scales per column. */
function blobs(counts: number[], dim: number, seed: number, spread = 1): FeatureSet {
  const rng = mulberry32(seed);
  const n = gaussian(rng);
  const centreRng = gaussian(mulberry32(99));
  const centres = counts.map(() => Float32Array.from({ length: dim }, () => 2 * centreRng()));
  const total = counts.reduce((a, b) => a + b, 0);
  const features = new Float32Array(total * dim);
  const labels = new Int32Array(total);
  let i = 0;
  counts.forEach((count, c) => {
    for (let k = 0; k < count; k++, i++) {
      labels[i] = c;
      // column scales from 0.1 to 10 and an offset of 5: what standardisation is for
      for (let j = 0; j < dim; j++)
        features[i * dim + j] = (centres[c]![j]! + spread * n()) * (0.1 + (9.9 * j) / dim) + 5;
    }
  });
  return { features, dim, labels, numClasses: counts.length };
}

function accuracyOf(logits: Float32Array, labels: Int32Array, classes: number): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    if (best === labels[i]) ok++;
  }
  return ok / labels.length;
}

test('a linear probe learns blobs; the folded standardisation gives the exact accuracy it validated with', async () => {
  const train = blobs([60, 60, 60], 16, 1, 1.5);
  const val = blobs([30, 30, 30], 16, 2, 1.5);
  const seen: number[] = [];
  const r = await trainHead({
    head: { kind: 'linear' },
    numClasses: 3,
    train,
    val,
    epochs: 30,
    standardize: true,
    onEpoch: (e) => seen.push(e.epoch),
  });
  assert.deepEqual(
    seen,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  assert.equal(r.history.length, 30);
  assert.ok(r.bestEpoch! >= 1);
  assert.deepEqual(
    r.model.graph.nodes.map((n) => n.opType),
    ['Gemm'],
    'one Gemm reading raw features: the standardisation is inside its weights',
  );
  const logits = await runHead(r.model, val.features, val.dim);
  const acc = accuracyOf(logits, val.labels, 3);
  assert.ok(acc >= 0.9, `val accuracy ${acc}`);
  const best = r.history.find((h) => h.epoch === r.bestEpoch)!;
  assert.equal(acc, best.valAcc, 'the exported head scores val exactly as the trainer did at the kept epoch');
  assert.equal(r.config.epochs, 30);
  assert.equal(r.config.weightDecay, 0.01);
});

/** Two overlapping classes, one unit apart on the first of four axes (unit noise), `counts` examples each. */
function twoClasses(counts: [number, number], seed: number): FeatureSet {
  const n = gaussian(mulberry32(seed));
  const total = counts[0] + counts[1];
  const features = new Float32Array(total * 4);
  const labels = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    labels[i] = i < counts[0] ? 0 : 1;
    for (let j = 0; j < 4; j++) features[i * 4 + j] = (j === 0 ? (labels[i] ? 1 : -1) : 0) + n();
  }
  return { features, dim: 4, labels, numClasses: 2 };
}

test('class weights: balanced weighting trades majority recall for the recall of a rare class', async () => {
  const train = twoClasses([300, 15], 3);
  const test = twoClasses([300, 300], 4);
  const recalls = async (classWeights?: number[]) => {
    const r = await trainHead({
      head: { kind: 'linear' },
      numClasses: 2,
      train,
      epochs: 20,
      classWeights,
      restoreBest: false,
    });
    const z = await runHead(r.model, test.features, test.dim);
    const hits = [0, 0];
    for (let i = 0; i < 600; i++) if ((z[2 * i + 1]! > z[2 * i]! ? 1 : 0) === test.labels[i]) hits[test.labels[i]!]!++;
    return { rare: hits[1]! / 300, common: hits[0]! / 300, config: r.config };
  };
  const plain = await recalls();
  const weighted = await recalls(balancedClassWeights(train.labels, 2));
  assert.ok(weighted.rare > plain.rare + 0.08, `rare class recall ${plain.rare} -> ${weighted.rare}`);
  assert.ok(weighted.common < plain.common, `common class recall ${plain.common} -> ${weighted.common}`);
  assert.deepEqual(weighted.config.classWeights, [0.525, 10.5]);
});

test('an MLP head trains with dropout and is exported without it (deterministic inference)', async () => {
  const train = blobs([40, 40, 40, 40], 8, 5);
  const r = await trainHead({
    head: { kind: 'mlp', hidden: [16] },
    numClasses: 4,
    train,
    epochs: 30,
    lr: 0.01,
    dropout: 0.3,
  });
  const ops = r.model.graph.nodes.map((n) => n.opType);
  assert.deepEqual(ops, ['Gemm', 'Relu', 'Gemm']);
  const a = await runHead(r.model, train.features, 8);
  const b = await runHead(r.model, train.features, 8);
  assert.deepEqual(a, b);
  const acc = accuracyOf(a, train.labels, 4);
  assert.ok(acc > 0.8, `train accuracy ${acc}`);
  assert.deepEqual(r.config.hidden, [16]);
  assert.equal(r.config.dropout, 0.3);
});

test('kNN and prototype heads are fitted in closed form on centred features', async () => {
  const train = blobs([20, 20, 20], 6, 6);
  const knn = await trainHead({ head: { kind: 'knn', k: 1 }, numClasses: 3, train });
  assert.equal(knn.history.length, 0);
  assert.equal(knn.config.epochs, 0);
  assert.equal(knn.model.graph.nodes[0]!.opType, 'Sub', 'centring comes first');
  assert.equal(
    accuracyOf(await runHead(knn.model, train.features, 6), train.labels, 3),
    1,
    '1-NN recalls its own examples',
  );
  // two classes along the same direction from the origin, at different distances: cosine to the raw class
  // means cannot tell them apart, centred on the training mean they point opposite ways
  const n = gaussian(mulberry32(8));
  const ray: FeatureSet = { features: new Float32Array(80), dim: 2, labels: new Int32Array(40), numClasses: 2 };
  for (let i = 0; i < 40; i++) {
    ray.labels[i] = i % 2;
    const d = i % 2 ? 20 : 10;
    ray.features[2 * i] = d + 0.5 * n();
    ray.features[2 * i + 1] = d / 10 + 0.5 * n();
  }
  const protoAcc = async (center: boolean) => {
    const proto = await trainHead({ head: { kind: 'prototype' }, numClasses: 2, train: ray, center });
    assert.equal(proto.model.graph.nodes[0]!.opType === 'Sub', center);
    let ok = 0;
    const z = await runHead(proto.model, ray.features, 2);
    for (let i = 0; i < 40; i++) if ((z[2 * i + 1]! > z[2 * i]! ? 1 : 0) === ray.labels[i]) ok++;
    return ok / 40;
  };
  const raw = await protoAcc(false);
  const centred = await protoAcc(true);
  assert.ok(centred === 1 && raw < 0.8, `prototype accuracy raw ${raw}, centred ${centred}`);
  await assert.rejects(
    trainHead({ head: { kind: 'linear' }, numClasses: 4, train }),
    isError('BAD_INPUT', /another number of classes/),
  );
});

test('graftClassifier: one model from pixels to calibrated probabilities, with metadata', async () => {
  const b = new GraphBuilder('bb');
  const x = b.input('img', 'float32', ['N', 3, 4, 4]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 }, { outputs: ['feat'] });
  b.graph.valueInfo.set(pooled, { name: pooled, dtype: 'float32', shape: ['N', 3] });
  b.output(pooled, 'float32', ['N', 3]);
  const backbone = b.build();
  const train = blobs([10, 10], 3, 7);
  const head = (await trainHead({ head: { kind: 'linear' }, numClasses: 2, train, epochs: 5 })).model;
  const preprocessing = {
    size: [4, 4] as [number, number],
    resize: 'squash' as const,
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: 'NCHW' as const,
    channels: 3 as const,
  };
  const T = 2.5;
  const model = graftClassifier({
    backbone,
    featureValue: 'feat',
    head,
    labels: ['cat', 'dog'],
    preprocessing,
    temperature: T,
    provenance: { baseModel: 'bb' },
  });
  assert.deepEqual(
    model.graph.dataInputs.map((i) => i.name),
    [CLASSIFIER_INPUT],
  );
  assert.deepEqual(
    model.graph.outputs.map((o) => o.name),
    [CLASSIFIER_LOGITS, CLASSIFIER_PROBABILITIES],
  );
  const info = readClassifierInfo(model);
  assert.deepEqual(info.labels, ['cat', 'dog']);
  assert.deepEqual(info.preprocessing, preprocessing);
  assert.equal(info.temperature, T);
  assert.equal(info.provenance.baseModel, 'bb');

  const rng = mulberry32(3);
  const pixels = Float32Array.from({ length: 5 * 48 }, () => rng() * 8);
  const s = await Session.create(model);
  const out = await s.run({ [CLASSIFIER_INPUT]: { dtype: 'float32', dims: [5, 3, 4, 4], data: pixels } });
  await s.dispose();
  const feats = new Float32Array(15);
  for (let i = 0; i < 5; i++)
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let k = 0; k < 16; k++) sum += pixels[i * 48 + c * 16 + k]!;
      feats[i * 3 + c] = sum / 16;
    }
  const raw = await runHead(head, feats, 3);
  const logits = out[CLASSIFIER_LOGITS]!.data as Float32Array;
  const probs = out[CLASSIFIER_PROBABILITIES]!.data as Float32Array;
  for (let i = 0; i < 5; i++) {
    const z = [raw[2 * i]! / T, raw[2 * i + 1]! / T];
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    for (let c = 0; c < 2; c++) {
      assert.ok(Math.abs(logits[2 * i + c]! - z[c]!) < 1e-4);
      assert.ok(Math.abs(probs[2 * i + c]! - e[c]! / (e[0]! + e[1]!)) < 1e-5);
    }
  }
  assert.throws(
    () => graftClassifier({ backbone, featureValue: 'feat', head, labels: ['a', 'b', 'c'], preprocessing }),
    isError('SHAPE_MISMATCH', /disagree on the number of classes/),
  );
  const plain = backbone.clone();
  assert.throws(
    () => readClassifierInfo(plain, 'x.onnx'),
    isError('BAD_MODEL', /not a Graft classifier[\s\S]*x\.onnx/),
  );
  assert.equal(HEAD_INPUT, 'features');
});
