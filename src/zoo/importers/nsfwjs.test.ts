// Model-level check of the layers importer and the bundle extractor on nsfwjs@4.4.0's MobileNetV2
// (Keras layers model with uint8-quantized weights, embedded in model.min.js + group1-shard1of1.min.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEmbeddedTfjsModel } from './embedded.js';
import { importTfjsModelFile } from './index.js';
import { assertClose, onnxPredict, randomData } from './test-utils/fixtures.js';
import { npmFolderReader } from './test-utils/npm.js';
import { tfjsGraphPredict, tfjsLayersPredict } from './test-utils/tfjs.js';

const readFile = npmFolderReader('nsfwjs', '4.4.0', 'dist/models/mobilenet_v2');

test('nsfwjs MobileNetV2 (embedded layers model, uint8 weights) imports and matches TF.js (cpu) within 1e-4', async (t) => {
  const t0 = performance.now();
  const model = await importTfjsModelFile(readFile, 'model.min.js');
  const convertMs = performance.now() - t0;
  assert.equal(model.metadata.get('graft.import.format'), 'tfjs-layers-model');
  assert.deepEqual(
    model.graph.inputs.map((i) => [i.name, i.shape]),
    [['input_1', ['N', 3, 224, 224]]],
  );
  assert.deepEqual(
    model.graph.outputs.map((o) => [o.name, o.shape]),
    [['dense_3', ['N', 5]]],
  );
  assert.deepEqual(model.graph.valueInfo.get('out_relu')?.shape, ['N', 1280, 7, 7]);
  assert.ok(model.graph.initializers.has('block_16_project_BN/gamma'));

  const x = { data: randomData([1, 224, 224, 3], 99, 0.5).map((v) => v + 0.5), shape: [1, 224, 224, 3] };
  const embedded = await readEmbeddedTfjsModel(readFile, 'model.min.js');
  const t1 = performance.now();
  const [expected] = await tfjsLayersPredict(embedded.modelJson, embedded.readFile, x);
  const tfjsMs = performance.now() - t1;
  const actual = await onnxPredict(model, { input_1: x });
  const d = assertClose(actual.dense_3, expected!, 1e-4, 'dense_3');
  t.diagnostic(
    `convert ${convertMs.toFixed(0)} ms; TF.js cpu ${tfjsMs.toFixed(0)} ms; max |diff| ${d.toExponential(2)}`,
  );

  const cut = await importTfjsModelFile(readFile, 'model.min.js', { outputs: ['flatten_1'] });
  assert.deepEqual(
    cut.graph.outputs.map((o) => [o.name, o.shape]),
    [['flatten_1', ['N', 1280]]],
  );
});

test('nsfwjs MobileNetV2-mid (an embedded TF-Hub graph model: fused Relu6 convs, AvgPool, Squeeze) matches TF.js', async (t) => {
  const read = npmFolderReader('nsfwjs', '4.4.0', 'dist/models/mobilenet_v2_mid');
  const model = await importTfjsModelFile(read, 'model.min.js');
  assert.equal(model.metadata.get('graft.import.format'), 'tfjs-graph-model');
  assert.deepEqual(
    model.graph.outputs.map((o) => [o.name, o.shape]),
    [['Identity', ['N', 5]]],
  );
  const x = { data: randomData([1, 224, 224, 3], 5, 0.5).map((v) => v + 0.5), shape: [1, 224, 224, 3] };
  const embedded = await readEmbeddedTfjsModel(read, 'model.min.js');
  const [expected] = await tfjsGraphPredict(embedded.modelJson, embedded.readFile, { input: x }, ['Identity']);
  const d = assertClose((await onnxPredict(model, { input: x })).Identity, expected!, 1e-4, 'Identity');
  t.diagnostic(`max |diff| ${d.toExponential(2)}`);
});
