import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGraftError } from '../../errors.js';
import { buildTrainingGraph } from '../../autodiff/build.js';
import { cut } from '../../surgery/cut.js';
import { Trainer, paramsFromModel } from '../../train/trainer.js';
import { detectBlocks } from './blocks.js';
import { forwardAll } from './forward.js';
import { type FreezePlan, parseUnfreeze, planFreeze } from './freeze-plan.js';
import { composeClassifier, createHead } from './head.js';
import { decodeRecord, encodeRecord } from '../../train/checkpoint.js';
import { crossValidateFineTune } from './cross-validate.js';
import { type CachedData, type FineTuneProgress, fineTune, preparePhase } from './run.js';
import { type PhaseSpec, STRATEGY_DEFAULTS, discriminativeGroups } from '../strategies/phases.js';
import { type FineTuneStrategy, planPhases } from '../strategies/index.js';
import { textureImages, tinyCnn } from './test-utils.js';

const ONE_THREAD = { intraOpThreads: 1 };

function setup(unfreeze = 'last:2', bn: 'inference' | 'train' = 'inference') {
  const { model, featureValue } = tinyCnn({ blocks: 2, channels: 4 });
  const cls = composeClassifier(model, featureValue, createHead(8, 4, { seed: 1 }));
  const blocks = detectBlocks(cls.model, { headParams: cls.headParams });
  const plan = planFreeze(cls.model.graph, blocks, { unfreeze: parseUnfreeze(unfreeze), bn });
  return { cls, blocks, plan, featureValue };
}

async function cached(model: Parameters<typeof cut>[0], at: string, count: number, seed: number) {
  const { data, labels } = textureImages(count, 8, seed);
  if (at === 'image') return { data, sampleDims: [3, 8, 8], labels };
  const a = (await forwardAll(cut(model, at), { data, sampleDims: [3, 8, 8] }, { outputs: [at] }))[at]!;
  return { ...a, labels };
}

function accuracy(logits: Float32Array, labels: Int32Array, k: number): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + best]!) best = j;
    if (best === labels[i]) ok++;
  }
  return ok / labels.length;
}

test('training on cached boundary activations gives the parameters that training the whole graph on images gives', async () => {
  const { cls, plan, featureValue } = setup('last:2');
  const images = textureImages(64, 8, 3);
  const phase: PhaseSpec = { name: 'all', kind: 'train', blocks: [2, 3], epochs: 2, lr: 3e-3, schedule: 'constant' };
  const data: CachedData = { at: plan.boundary, train: await cached(cls.model, plan.boundary, 64, 3) };
  const res = await fineTune({
    model: cls.model,
    logits: cls.logits,
    featureValue,
    headParams: cls.headParams,
    plan,
    phases: [phase],
    data,
    numClasses: 4,
    batchSize: 16,
    seed: 5,
    session: ONE_THREAD,
  });
  // the naive way: the whole network from the image, the same parameters trainable
  const tg = buildTrainingGraph(cls.model, {
    logits: cls.logits,
    loss: { kind: 'softmax-cross-entropy' },
    trainable: plan.trainable,
  });
  const trainer = new Trainer({
    graph: tg,
    params: paramsFromModel(cls.model, tg.params),
    optimizer: { name: 'adamw', lr: 3e-3 },
    batchSize: 16,
    epochs: 2,
    seed: 5,
    session: ONE_THREAD,
  });
  const fit = await trainer.fit({ features: images.data, labels: images.labels });
  await trainer.dispose();
  assert.equal(res.phases[0]!.inputs, 'cached');
  for (const p of plan.trainable) {
    const a = res.model.graph.initializers.get(p)!.toArray() as Float32Array;
    const b = fit.params[p]!;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    assert.ok(d < 2e-5, `${p}: ${d}`);
  }
  // frozen parameters are untouched, trainable ones moved
  for (const p of plan.frozen) {
    assert.deepEqual(res.model.graph.initializers.get(p)!.toArray(), cls.model.graph.initializers.get(p)!.toArray(), p);
  }
  assert.notDeepEqual(
    res.model.graph.initializers.get('layers/block_2/conv1.weight')!.toArray(),
    cls.model.graph.initializers.get('layers/block_2/conv1.weight')!.toArray(),
  );
});

/**
 * A "pretrained" backbone: the tiny CNN trained on the textures once (every block, batch statistics), then
 * cut at its features. Random tiny CNNs pool into features a probe cannot separate; this one can.
 */
let pretrained: Promise<ReturnType<typeof setup>> | undefined;
function pretrainedSetup(): Promise<ReturnType<typeof setup>> {
  pretrained ??= (async () => {
    const s = setup('all', 'train');
    const res = await fineTune({
      model: s.cls.model,
      logits: s.cls.logits,
      featureValue: s.featureValue,
      headParams: s.cls.headParams,
      plan: s.plan,
      phases: planPhases('full', s.plan, { epochs: 6, lr: 1e-2 }),
      data: { at: 'image', train: await cached(s.cls.model, 'image', 256, 11) },
      numClasses: 4,
      seed: 3,
      session: ONE_THREAD,
    });
    const backbone = cut(res.model, s.featureValue);
    const cls = composeClassifier(backbone, s.featureValue, createHead(8, 4, { seed: 2 }));
    const blocks = detectBlocks(cls.model, { headParams: cls.headParams });
    const plan = planFreeze(cls.model.graph, blocks, { unfreeze: parseUnfreeze('last:2') });
    return { cls, blocks, plan, featureValue: s.featureValue };
  })();
  return pretrained;
}

/** The pretrained tiny CNN with cached training (and validation) textures: fineTune's options but the phases. */
async function pretrainedRun(counts: { train: number; val?: number }, dataSeed: number, seed: number) {
  const { cls, plan, featureValue } = await pretrainedSetup();
  const train = await cached(cls.model, plan.boundary, counts.train, dataSeed);
  const val = counts.val ? await cached(cls.model, plan.boundary, counts.val, dataSeed + 1) : undefined;
  const opts = {
    model: cls.model,
    logits: cls.logits,
    featureValue,
    headParams: cls.headParams,
    plan,
    data: { at: plan.boundary, train, ...(val ? { val } : {}) },
    numClasses: 4,
    seed,
    session: ONE_THREAD,
  };
  return { cls, plan, featureValue, train, val, opts };
}

for (const strategy of ['fine-tune', 'lp-ft', 'gradual', 'full'] as FineTuneStrategy[]) {
  test(`${strategy}: a new head on a pretrained backbone learns the textures from cached activations; each phase says how it got its inputs`, async () => {
    const { cls, plan, featureValue } = await pretrainedSetup();
    const phases = planPhases(strategy, plan, { epochs: 8, lr: 1e-2, headEpochs: 5, probeEpochs: 20 });
    const train = await cached(cls.model, plan.boundary, 192, 1);
    const val = await cached(cls.model, plan.boundary, 64, 2);
    const seen: string[] = [];
    const res = await fineTune({
      model: cls.model,
      logits: cls.logits,
      featureValue,
      headParams: cls.headParams,
      plan,
      phases,
      data: { at: plan.boundary, train, val },
      numClasses: 4,
      seed: 1,
      session: ONE_THREAD,
      onPhase: (e) => seen.push(`${e.phase.name}: ${e.inputs}`),
    });
    assert.deepEqual(
      res.phases.map((p) => p.name),
      phases.map((p) => p.name),
    );
    for (const p of res.phases) {
      if (p.kind === 'probe') assert.equal(p.at, featureValue);
    }
    if (strategy === 'gradual') {
      assert.deepEqual(seen.slice(1), ['stage 1/2: cached, moved up through frozen blocks once', 'stage 2/2: cached']);
    }
    const logits = (await forwardAll(res.model, { data: textureImages(64, 8, 9).data, sampleDims: [3, 8, 8] }))[
      cls.logits
    ]!;
    const acc = accuracy(logits.data, textureImages(64, 8, 9).labels, 4);
    assert.ok(acc >= 0.75, `${strategy}: accuracy ${acc} on new images (chance 0.25)`);
    assert.equal(
      res.history.length,
      res.phases.reduce((a, p) => a + p.epochs, 0),
    );
  });
}

test('batch norms on batch statistics: running statistics re-estimated on the data; the returned model is in inference mode', async () => {
  const { cls, plan, featureValue } = setup('last:2', 'train');
  const train = await cached(cls.model, plan.boundary, 128, 1);
  const res = await fineTune({
    model: cls.model,
    logits: cls.logits,
    featureValue,
    headParams: cls.headParams,
    plan,
    phases: planPhases('full', plan, { epochs: 2, lr: 1e-2 }),
    data: { at: plan.boundary, train },
    numClasses: 4,
    seed: 1,
    session: ONE_THREAD,
  });
  assert.deepEqual(res.batchNormStats, { layers: 3, samples: 128 });
  for (const n of res.model.graph.nodes)
    if (n.opType === 'BatchNormalization') assert.equal(n.intAttr('training_mode', 0), 0);
  // the first trained BN reads conv1's output, whose statistics need no other batch norm: compare directly
  const bn = res.model.graph.nodes.find((n) => n.label === 'layers/block_2/conv1/bn/BatchNormalization')!;
  const x = (
    await forwardAll(cut(res.model, bn.inputs[0]!), { data: textureImages(128, 8, 1).data, sampleDims: [3, 8, 8] })
  )[bn.inputs[0]!]!;
  const [c, hw] = [x.sampleDims[0]!, x.sampleDims[1]! * x.sampleDims[2]!];
  const mean = res.model.graph.initializers.get(bn.inputs[3]!)!.toArray() as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < 128; i++) for (let k = 0; k < hw; k++) s += x.data[(i * c + ch) * hw + k]!;
    assert.ok(Math.abs(mean[ch]! - s / (128 * hw)) < 1e-4, `channel ${ch}`);
  }
  // frozen blocks' statistics are untouched
  const stem = cls.model.graph.nodes.find((n) => n.label === 'stem/conv/bn/BatchNormalization')!;
  assert.deepEqual(
    res.model.graph.initializers.get(stem.inputs[3]!)!.toArray(),
    cls.model.graph.initializers.get(stem.inputs[3]!)!.toArray(),
  );
});

test('with augmentation the activations are refreshed before every epoch and the trainer reads the refreshed ones', async () => {
  const { cls, plan, featureValue } = setup('last:1');
  const train = await cached(cls.model, plan.boundary, 32, 1);
  const calls: number[] = [];
  const run = fineTune({
    model: cls.model,
    logits: cls.logits,
    featureValue,
    headParams: cls.headParams,
    plan,
    phases: planPhases('fine-tune', plan, { epochs: 3, lr: 1e-3, probeEpochs: 2 }),
    data: {
      at: plan.boundary,
      train,
      refresh: async (epoch, into) => {
        calls.push(epoch);
        // epoch 3 (the second of the main phase) gets poisoned inputs: its loss must show it
        into.set(train.data);
        if (epoch === 3) into.fill(Number.NaN);
      },
    },
    numClasses: 4,
    seed: 1,
    session: ONE_THREAD,
  });
  // the poisoned epoch is the main phase's second: a diverged loss fails the run there, naming where
  await assert.rejects(run, (e: unknown) => {
    assert.ok(isGraftError(e) && e.code === 'RUNTIME', String(e));
    assert.match(e.message, /Training diverged: the loss became NaN[\s\S]*phase fine-tune, epoch 2, batch 1/);
    return true;
  });
  assert.deepEqual(
    calls,
    [2, 3],
    'the probe (2 epochs, un-augmented) is not refreshed; main-phase epochs are numbered on',
  );
});

test('discriminative rates: spread over the whole depth, from ratio x lr (first block) to lr (head), geometric', async () => {
  // five positions (0..4, the head last): trained blocks at 1 and 3 get ratio^(3/4) and ratio^(1/4), not
  // ratio and ratio^(1/2) as they would if the slice were spread over the trained blocks alone
  const groups = discriminativeGroups(
    [
      { name: 'a', params: ['a.w'], depth: 1 },
      { name: 'b', params: ['b.w'], depth: 3 },
      { name: 'empty', params: [], depth: 2 },
      { name: 'head', params: ['h.w', 'h.b'], depth: 4 },
    ],
    0.01,
    5,
  );
  assert.deepEqual(
    groups.map((g) => [g.name, Number(g.lrMultiplier!.toPrecision(6))]),
    [
      ['a', Number(Math.pow(0.01, 3 / 4).toPrecision(6))],
      ['b', Number(Math.pow(0.01, 1 / 4).toPrecision(6))],
      ['head', 1],
    ],
  );
  assert.equal(discriminativeGroups([{ name: 'stem', params: ['s'], depth: 0 }], 0.01, 5)[0]!.lrMultiplier, 0.01);
  assert.throws(() => discriminativeGroups([{ name: 'a', params: ['x'], depth: 0 }], 2, 2), /\(0, 1\]/);
  // the tiny CNN's blocks: stem, layers/block_1, layers/block_2, top, head; last:2 trains block_2 and top
  const { cls, plan, featureValue } = setup('last:2');
  const phase = planPhases('fine-tune', plan, { epochs: 1, lr: 1e-3 })[1]!;
  const prepared = await preparePhase(
    {
      model: cls.model,
      logits: cls.logits,
      featureValue,
      headParams: cls.headParams,
      plan,
      phases: [phase],
      data: { at: plan.boundary, train: await cached(cls.model, plan.boundary, 8, 1) },
      numClasses: 4,
    },
    cls.model,
    phase,
  );
  assert.deepEqual(
    prepared.groups!.map((g) => [g.name, Number(g.lrMultiplier!.toPrecision(6))]),
    [
      ['layers/block_2', Number(Math.pow(STRATEGY_DEFAULTS.fineTune.discriminative, 2 / 4).toPrecision(6))],
      ['top', Number(Math.pow(STRATEGY_DEFAULTS.fineTune.discriminative, 1 / 4).toPrecision(6))],
      ['head', 1],
    ],
  );
});

test('strategies as phases: head warm-up then unfrozen; probe to convergence then a tenth of the rate; one block more per stage; all at once', () => {
  const { plan } = setup('last:3');
  const unfrozen = [1, 2, 3];
  const s = { epochs: 9, lr: 1e-3 };
  const brief = (p: PhaseSpec) => [p.name, p.kind, p.blocks, p.epochs, p.lr, p.discriminative ?? null, p.schedule];
  const ft = STRATEGY_DEFAULTS.fineTune;
  // the probe both start from is the linear probe as the linear-probe strategy trains it
  const probe = ['probe', 'probe', [], 100, 3e-3, null, 'cosine'];
  assert.deepEqual(planPhases('fine-tune', plan, s).map(brief), [
    probe,
    ['fine-tune', 'train', unfrozen, 9, 1e-3 * ft.lrFactor, ft.discriminative, ft.schedule],
  ]);
  const [p0] = planPhases('fine-tune', plan, s);
  assert.deepEqual([p0!.batchSize, p0!.weightDecay, p0!.labelSmoothing], [64, 1e-2, 0]);
  assert.equal(planPhases('fine-tune', plan, { ...s, probeEpochs: 7 })[0]!.epochs, 7);
  assert.deepEqual(planPhases('auto', plan, s).map(brief), planPhases('fine-tune', plan, s).map(brief));
  assert.deepEqual(planPhases('lp-ft', plan, s).map(brief), [
    probe,
    ['fine-tune', 'train', unfrozen, 9, 1e-4, null, 'cosine'],
  ]);
  assert.deepEqual(planPhases('gradual', plan, { ...s, headEpochs: 0 }).map(brief), [
    ['stage 1/3', 'train', [3], 3, 5e-4, 0.01, 'cosine'],
    ['stage 2/3', 'train', [2, 3], 3, 5e-4, 0.01, 'cosine'],
    ['stage 3/3', 'train', [1, 2, 3], 3, 5e-4, 0.01, 'cosine'],
  ]);
  assert.deepEqual(planPhases('full', plan, { ...s, discriminative: 0.1 }).map(brief), [
    ['full', 'train', unfrozen, 9, 1e-3, 0.1, 'onecycle'],
  ]);
  assert.equal(planPhases('fine-tune', plan, { ...s, discriminative: false })[1]!.discriminative, undefined);
  assert.throws(() => planPhases('fine-tune', plan as FreezePlan, { epochs: 0, lr: 1 }), /positive whole number/);
  assert.throws(() => planPhases('fine-tune', plan, { ...s, probeEpochs: 0 }), /--probe-epochs must be a positive/);
  for (const interpolate of [-0.1, 1.5, Number.NaN])
    assert.throws(
      () => planPhases('fine-tune', plan, { ...s, interpolate }),
      /--interpolate is a weight between 0 and 1/,
    );
});

test('a fine-tune stopped after any epoch resumes from its progress record to the very same model', async () => {
  const { cls, plan, featureValue } = setup('last:2', 'train');
  const data: CachedData = { at: plan.boundary, train: await cached(cls.model, plan.boundary, 48, 5) };
  data.val = await cached(cls.model, plan.boundary, 16, 6);
  const records: FineTuneProgress[] = [];
  const opts = {
    model: cls.model,
    logits: cls.logits,
    featureValue,
    headParams: cls.headParams,
    plan,
    phases: planPhases('gradual', plan, { epochs: 4, lr: 3e-3, headEpochs: 2 }),
    data,
    numClasses: 4,
    seed: 2,
    session: ONE_THREAD,
  };
  // every record goes through the checkpoint codec, as it does through the file on disk
  const full = await fineTune({
    ...opts,
    onProgress: (p) => {
      records.push(decodeRecord(encodeRecord('progress', p), 'progress') as FineTuneProgress);
    },
  });
  assert.ok(
    records.some((r) => r.trainer && r.trainer.epoch === 1),
    'a record in the middle of a phase',
  );
  assert.ok(
    records.some((r) => !r.trainer && r.phasesDone === 1),
    'a record between phases',
  );
  const values = (m: typeof full.model) =>
    [...m.graph.initializers]
      .filter(([, t]) => t.dtype === 'float32')
      .map(([n, t]) => [n, [...(t.toArray() as Float32Array)]]);
  for (const from of records.filter((r) => r.phasesDone < opts.phases.length)) {
    const resumed = await fineTune({ ...opts, resumeFrom: from });
    assert.deepEqual(
      values(resumed.model),
      values(full.model),
      `resumed after phase ${from.phasesDone}, epoch ${from.trainer?.epoch ?? 0}`,
    );
    assert.deepEqual(
      resumed.history.map((h) => [h.phase, h.trainLoss]),
      full.history.map((h) => [h.phase, h.trainLoss]),
    );
  }
});

test('L2-SP: the anchor holds the pretrained values of the trained backbone weights, and a strong one keeps them there', async () => {
  const run = await pretrainedRun({ train: 96 }, 4, 1);
  const { cls, plan } = run;
  // the fine-tune phase trains at 5e-3 (lr x STRATEGY_DEFAULTS.fineTune.lrFactor)
  const phases = planPhases('fine-tune', plan, {
    epochs: 10,
    lr: 5e-3 / STRATEGY_DEFAULTS.fineTune.lrFactor,
    probeEpochs: 5,
  });
  const opts = { ...run.opts, phases };
  const prepared = await preparePhase({ ...opts, anchor: 5 }, cls.model, phases[1]!);
  const backbone = plan.trainable.filter((p) => !cls.headParams.includes(p));
  assert.deepEqual(Object.keys(prepared.anchor!.values).sort(), [...backbone].sort(), 'backbone weights only');
  assert.equal(prepared.anchor!.strength, 5);
  for (const p of backbone)
    assert.deepEqual(
      [...prepared.anchor!.values[p]!],
      [...(cls.model.graph.initializers.get(p)!.toArray() as Float32Array)],
    );
  assert.equal((await preparePhase(opts, cls.model, phases[1]!)).anchor, undefined, 'no anchor unless asked');
  // how far the blocks move from their pretrained values, without and with a strong anchor
  const drift = async (anchor?: number) => {
    const r = await fineTune({ ...opts, anchor });
    let d = 0;
    let n = 0;
    for (const p of backbone) {
      const a = r.model.graph.initializers.get(p)!.toArray() as Float32Array;
      const b = cls.model.graph.initializers.get(p)!.toArray() as Float32Array;
      for (let i = 0; i < a.length; i++) d += (a[i]! - b[i]!) ** 2;
      n += a.length;
    }
    return Math.sqrt(d / n);
  };
  const free = await drift();
  // each step pulls a weight back by lr * strength of its distance: at 200 the pull outweighs the steps
  const held = await drift(200);
  assert.ok(held < free / 2, `anchored drift ${held} vs free ${free}`);
});

test('fine-tune returns the probed values it started from, which give the probe model; resumes keep them', async () => {
  const run = await pretrainedRun({ train: 64, val: 16 }, 7, 3);
  const { cls, plan } = run;
  const records: FineTuneProgress[] = [];
  const opts = { ...run.opts, phases: planPhases('fine-tune', plan, { epochs: 2, lr: 1e-2, probeEpochs: 4 }) };
  const r = await fineTune({ ...opts, onProgress: (p) => void records.push(p) });
  assert.deepEqual(Object.keys(r.probeValues!).sort(), [...cls.headParams].sort());
  // the probe's values are what the head held when the probe phase ended, before fine-tuning moved it
  const afterProbe = records.find((p) => p.phasesDone === 1 && !p.trainer)!;
  for (const p of cls.headParams) assert.deepEqual([...r.probeValues![p]!], [...afterProbe.params[p]!]);
  assert.notDeepEqual(
    [...r.probeValues![cls.headParams[0]!]!],
    [...(r.model.graph.initializers.get(cls.headParams[0]!)!.toArray() as Float32Array)],
  );
  const resumed = await fineTune({ ...opts, resumeFrom: records.at(-2)! });
  assert.deepEqual(resumed.probeValues, r.probeValues);
});

test('cross-validating a fine-tune: out-of-fold logits of the probe and of the final model for every pooled example', async () => {
  const run = await pretrainedRun({ train: 80, val: 16 }, 9, 3);
  const { plan, train, val } = run;
  const opts = {
    ...run.opts,
    // the probe's defaults (batch 64, lr 3e-3) take ~200 epochs on 72 examples of the tiny network
    phases: planPhases('fine-tune', plan, { epochs: 2, lr: 1e-2, probeEpochs: 200 }),
  };
  const folds: number[] = [];
  const oof = await crossValidateFineTune(opts, { folds: 4, onFold: (f) => folds.push(f) });
  assert.deepEqual(folds, [1, 2, 3, 4]);
  assert.equal(oof.folds, 4);
  assert.deepEqual([...oof.labels], [...train.labels, ...val!.labels]);
  for (const logits of [oof.logits.probe!, oof.logits.final]) {
    assert.equal(logits.length, 96 * 4);
    assert.ok(logits.every(Number.isFinite));
    assert.ok(accuracy(logits, oof.labels, 4) > 0.8, `out-of-fold accuracy ${accuracy(logits, oof.labels, 4)}`);
  }
  assert.notDeepEqual([...oof.logits.probe!], [...oof.logits.final]);
});

test('WiSE-FT: the fine-tune phase ends at start + A x (trained - start): 0 is the probe, 1 the plain fine-tune, 0.5 halfway; a resume ends at the same model', async () => {
  const { cls, plan, opts } = await pretrainedRun({ train: 64, val: 16 }, 11, 4);
  const phases = (interpolate?: number) =>
    planPhases('fine-tune', plan, { epochs: 3, lr: 1e-2, probeEpochs: 4, interpolate });
  assert.equal(
    phases()[1]!.interpolate,
    STRATEGY_DEFAULTS.fineTune.interpolate < 1 ? STRATEGY_DEFAULTS.fineTune.interpolate : undefined,
  );
  assert.equal(phases(1)[1]!.interpolate, undefined, '1: no interpolation');
  assert.equal(planPhases('lp-ft', plan, { epochs: 3, lr: 1e-2, interpolate: 0.3 })[1]!.interpolate, 0.3);
  const plain = await fineTune({ ...opts, phases: phases(1) });
  const none = await fineTune({ ...opts, phases: phases(0) });
  const records: FineTuneProgress[] = [];
  const half = await fineTune({
    ...opts,
    phases: phases(0.5),
    onProgress: (p) => void records.push(decodeRecord(encodeRecord('progress', p), 'progress') as FineTuneProgress),
  });
  assert.equal(half.phases[1]!.interpolated, 0.5);
  assert.equal(plain.phases[1]!.interpolated, undefined);
  const value = (m: typeof plain.model, p: string) => m.graph.initializers.get(p)!.toArray() as Float32Array;
  const trained = plan.trainable;
  let moved = 0;
  for (const p of trained) {
    // where the phase started: the probe's head on the pretrained blocks
    const start = plain.probeValues![p] ?? value(cls.model, p);
    const end = value(plain.model, p);
    const mid = value(half.model, p);
    assert.deepEqual([...value(none.model, p)], [...start], `${p}: interpolate 0 keeps the starting value`);
    for (let i = 0; i < end.length; i++) {
      assert.ok(Math.abs(mid[i]! - (start[i]! + 0.5 * (end[i]! - start[i]!))) < 1e-6, `${p}[${i}]`);
      moved += Math.abs(end[i]! - start[i]!);
    }
  }
  assert.ok(moved > 0, 'the fine-tune phase moved the weights');
  // resumed in the middle of the fine-tune phase, the run ends at the same interpolated model
  const mid = records.find((r) => r.phasesDone === 1 && r.trainer)!;
  const resumed = await fineTune({ ...opts, phases: phases(0.5), resumeFrom: mid });
  for (const p of trained) assert.deepEqual([...value(resumed.model, p)], [...value(half.model, p)], p);
});
