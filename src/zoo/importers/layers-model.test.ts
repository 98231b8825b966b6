import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../../errors.js';
import { importTfjsLayersModel } from './layers-model.js';
import { assertClose, onnxPredict, randomData } from './test-utils/fixtures.js';
import { saveLayersModel, tf, tfl, tfjsLayersPredict, tfReady } from './test-utils/tfjs.js';
import type { TfjsImportOptions } from './types.js';

const TOL = 1e-4;
const L = tfl.layers;
type SymbolicTensor = ReturnType<typeof tfl.input>;

interface Case {
  name: string;
  /** input shape without the batch; default [8, 9, 5] */
  input?: number[];
  build: (x: SymbolicTensor) => SymbolicTensor | SymbolicTensor[];
  expectOps?: string[];
}

/** Gives every weight seeded values (variances positive), so no layer is tested on its identity init. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const values = model.weights.map((w, i) => {
    const data = randomData(w.shape as number[], seed + i, 0.5);
    if (/variance|gamma/.test(w.name)) for (let k = 0; k < data.length; k++) data[k] = 0.5 + Math.abs(data[k]!);
    return tf.tensor(data, w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
}

const CASES: Case[] = [
  {
    name: 'Conv2D same stride 2, relu, bias',
    build: (x) =>
      L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(
        x,
      ) as SymbolicTensor,
    expectOps: ['Conv', 'Relu'],
  },
  {
    name: 'Conv2D valid, dilation 2, no bias',
    build: (x) =>
      L.conv2d({ filters: 3, kernelSize: [3, 2], dilationRate: 2, useBias: false }).apply(x) as SymbolicTensor,
  },
  {
    name: 'DepthwiseConv2D same stride 2, multiplier 2, relu6',
    build: (x) =>
      L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' }).apply(
        x,
      ) as SymbolicTensor,
  },
  {
    name: 'SeparableConv2D same, swish',
    build: (x) =>
      L.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'swish' }).apply(x) as SymbolicTensor,
  },
  {
    name: 'BatchNormalization (after a convolution and on a dense output), center/scale off',
    build: (x) => {
      const c = L.conv2d({ filters: 4, kernelSize: 1 }).apply(x) as SymbolicTensor;
      const bn = L.batchNormalization({ epsilon: 1e-3 }).apply(c) as SymbolicTensor;
      const bn2 = L.batchNormalization({ center: false, scale: false }).apply(bn) as SymbolicTensor;
      const d = L.dense({ units: 3 }).apply(L.flatten().apply(bn2)) as SymbolicTensor;
      return L.batchNormalization({}).apply(d) as SymbolicTensor;
    },
    expectOps: ['BatchNormalization'],
  },
  {
    name: 'ReLU(max_value 6), LeakyReLU, PReLU, ELU, Softmax layers',
    build: (x) => {
      const a = L.reLU({ maxValue: 6 }).apply(L.conv2d({ filters: 4, kernelSize: 1 }).apply(x)) as SymbolicTensor;
      const b = L.leakyReLU({ alpha: 0.2 }).apply(a) as SymbolicTensor;
      const c = L.prelu({}).apply(L.conv2d({ filters: 4, kernelSize: 1 }).apply(b)) as SymbolicTensor;
      const d = L.elu({}).apply(c) as SymbolicTensor;
      return L.softmax({ axis: -1 }).apply(d) as SymbolicTensor;
    },
  },
  ...[
    'relu',
    'relu6',
    'sigmoid',
    'tanh',
    'softmax',
    'swish',
    'elu',
    'selu',
    'softplus',
    'softsign',
    'hardSigmoid',
    'linear',
  ].map((act): Case => ({
    name: `Activation '${act}'`,
    build: (x) => {
      const c = L.conv2d({ filters: 4, kernelSize: 2 }).apply(x) as SymbolicTensor;
      return L.activation({ activation: act as 'relu' }).apply(c) as SymbolicTensor;
    },
  })),
  {
    name: 'Add (3 inputs), Multiply, Average, Maximum, Minimum, Concatenate',
    build: (x) => {
      const a = L.conv2d({ filters: 4, kernelSize: 1 }).apply(x) as SymbolicTensor;
      const b = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(x) as SymbolicTensor;
      const c = L.conv2d({ filters: 4, kernelSize: 1, activation: 'sigmoid' }).apply(x) as SymbolicTensor;
      const merged = [
        L.add().apply([a, b, c]),
        L.multiply().apply([a, c]),
        L.average().apply([a, b]),
        L.maximum().apply([a, b]),
        L.minimum().apply([b, c]),
      ] as SymbolicTensor[];
      return L.concatenate({ axis: -1 }).apply(merged) as SymbolicTensor;
    },
    expectOps: ['Concat', 'Sum'],
  },
  {
    name: 'MaxPooling2D same, AveragePooling2D same 3x3/2 and valid',
    build: (x) => {
      const m = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor;
      const a = L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor;
      const v = L.averagePooling2d({ poolSize: 2, padding: 'valid' }).apply(x) as SymbolicTensor;
      return [L.add().apply([m, a]) as SymbolicTensor, v];
    },
  },
  {
    name: 'GlobalAveragePooling2D and GlobalMaxPooling2D into Dense (softmax)',
    build: (x) => {
      const c = L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(
        x,
      ) as SymbolicTensor;
      const g = L.concatenate().apply([
        L.globalAveragePooling2d({}).apply(c) as SymbolicTensor,
        L.globalMaxPooling2d({}).apply(c) as SymbolicTensor,
      ]) as SymbolicTensor;
      return L.dense({ units: 4, activation: 'softmax' }).apply(g) as SymbolicTensor;
    },
    expectOps: ['ReduceMean', 'ReduceMax', 'Gemm', 'Softmax'],
  },
  {
    name: 'ZeroPadding2D and Cropping2D',
    build: (x) => {
      const p = L.zeroPadding2d({
        padding: [
          [1, 2],
          [0, 1],
        ],
      }).apply(x) as SymbolicTensor;
      const c = L.conv2d({ filters: 3, kernelSize: 3, strides: 2 }).apply(p) as SymbolicTensor;
      return L.cropping2D({
        cropping: [
          [1, 0],
          [0, 1],
        ],
      }).apply(c) as SymbolicTensor;
    },
  },
  {
    name: 'Flatten of a channels-first convolution output (element order), Dense, Dropout',
    build: (x) => {
      const c = L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor;
      const f = L.dropout({ rate: 0.5 }).apply(L.flatten().apply(c)) as SymbolicTensor;
      return L.dense({ units: 5, activation: 'tanh' }).apply(f) as SymbolicTensor;
    },
  },
  {
    name: 'Reshape of a convolution output, then Dense over the last axis',
    build: (x) => {
      const c = L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor;
      const r = L.reshape({ targetShape: [-1, 5] }).apply(c) as SymbolicTensor;
      return L.dense({ units: 3 }).apply(r) as SymbolicTensor;
    },
  },
  {
    name: 'Rescaling, then a shared convolution applied twice (node index 1)',
    build: (x) => {
      const s = L.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(x) as SymbolicTensor;
      const shared = L.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' });
      return shared.apply(shared.apply(s)) as SymbolicTensor;
    },
  },
];

async function checkParity(
  model: tfl.LayersModel,
  inShape: number[],
  opts: TfjsImportOptions,
  expectOps: string[] = [],
) {
  randomizeWeights(model, 100);
  const { modelJson, readFile } = await saveLayersModel(model);
  const feed = { data: randomData([2, ...inShape], 4321, 2), shape: [2, ...inShape] };
  const expected = await tfjsLayersPredict(modelJson, readFile, feed);
  const imported = await importTfjsLayersModel(modelJson, readFile, opts);
  for (const op of expectOps) {
    assert.ok(
      imported.graph.nodes.some((n) => n.opType === op),
      `expected an ONNX ${op} node, got ${[...new Set(imported.graph.nodes.map((n) => n.opType))].join(', ')}`,
    );
  }
  const inputName = imported.graph.inputs[0]!.name;
  const actual = await onnxPredict(imported, { [inputName]: feed });
  assert.equal(imported.graph.outputs.length, expected.length);
  imported.graph.outputs.forEach((o, i) => assertClose(actual[o.name], expected[i]!, TOL, o.name));
  return imported;
}

for (const c of CASES) {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    test(`layer parity (${layout} input): ${c.name}`, async () => {
      await tfReady();
      const inShape = c.input ?? [8, 9, 5];
      const x = tfl.input({ shape: inShape });
      const model = tfl.model({ inputs: x, outputs: c.build(x) });
      await checkParity(model, inShape, { inputLayout: layout }, c.expectOps);
      model.dispose();
    });
  }
}

test('layers import: a Sequential model (first layer carries the input shape)', async () => {
  await tfReady();
  const model = tfl.sequential({
    layers: [
      L.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      L.batchNormalization({}),
      L.globalAveragePooling2d({}),
      L.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  const imported = await checkParity(model, [8, 8, 3], {});
  assert.deepEqual(imported.graph.inputs[0]!.shape, ['N', 3, 8, 8]);
  model.dispose();
});

test('layers import: Teachable-Machine-style Sequential of a functional base and a Sequential head', async () => {
  await tfReady();
  const x = tfl.input({ shape: [8, 8, 3] });
  const c = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'base_conv' }).apply(x) as SymbolicTensor;
  const r = L.reLU({ maxValue: 6, name: 'base_relu' }).apply(
    L.batchNormalization({ name: 'base_bn' }).apply(c),
  ) as SymbolicTensor;
  const pooled = L.globalAveragePooling2d({ name: 'base_pool' }).apply(r) as SymbolicTensor;
  const base = tfl.model({ inputs: x, outputs: pooled, name: 'base' });
  const head = tfl.sequential({
    name: 'head',
    layers: [
      L.dense({ inputShape: [4], units: 6, activation: 'relu', name: 'head_dense' }),
      L.dense({ units: 3, activation: 'softmax', name: 'head_out' }),
    ],
  });
  const tm = tfl.sequential({ layers: [base, head] });
  const imported = await checkParity(tm, [8, 8, 3], {});
  assert.ok(imported.graph.valueInfo.has('base_pool'), 'the base model keeps its layer names');
  assert.ok(
    imported.graph.initializers.has('base_conv/kernel') ||
      [...imported.graph.initializers.keys()].some((k) => k.endsWith('base_conv/kernel')),
  );
  tm.dispose();
});

test('layers import: names, weights as initializers, cut outputs and metadata', async () => {
  await tfReady();
  const x = tfl.input({ shape: [16, 16, 3], name: 'image' });
  const c = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'stem' }).apply(
    x,
  ) as SymbolicTensor;
  const bn = L.batchNormalization({ name: 'stem_bn' }).apply(c) as SymbolicTensor;
  const relu = L.reLU({ maxValue: 6, name: 'stem_relu' }).apply(bn) as SymbolicTensor;
  const pool = L.globalAveragePooling2d({ name: 'pool' }).apply(relu) as SymbolicTensor;
  const out = L.dense({ units: 4, activation: 'softmax', name: 'logits' }).apply(pool) as SymbolicTensor;
  const model = tfl.model({ inputs: x, outputs: out });
  randomizeWeights(model, 7);
  const { modelJson, readFile } = await saveLayersModel(model);
  const imported = await importTfjsLayersModel(modelJson, readFile);
  assert.deepEqual(
    imported.graph.inputs.map((i) => [i.name, i.shape]),
    [['image', ['N', 3, 16, 16]]],
  );
  assert.deepEqual(
    imported.graph.outputs.map((o) => [o.name, o.shape]),
    [['logits', ['N', 4]]],
  );
  assert.deepEqual(imported.graph.initializers.get('stem/kernel')!.dims, [8, 3, 3, 3]);
  for (const w of ['gamma', 'beta', 'moving_mean', 'moving_variance']) {
    assert.ok(imported.graph.initializers.has(`stem_bn/${w}`), `stem_bn/${w}`);
  }
  assert.deepEqual(imported.graph.valueInfo.get('pool')?.shape, ['N', 8]);
  assert.equal(imported.metadata.get('graft.import.format'), 'tfjs-layers-model');

  const cut = await importTfjsLayersModel(modelJson, readFile, { outputs: ['pool'] });
  assert.deepEqual(
    cut.graph.outputs.map((o) => [o.name, o.shape]),
    [['pool', ['N', 8]]],
  );
  assert.ok(!cut.graph.initializers.has('logits/kernel'), 'layers after the cut are not imported');
  const cut4 = await importTfjsLayersModel(modelJson, readFile, { outputs: ['stem_relu'] });
  assert.deepEqual(cut4.graph.outputs[0]!.shape, ['N', 8, 8, 8]);
  assert.equal(JSON.parse(cut4.metadata.get('graft.import.outputLayout')!).stem_relu, 'NCHW');
  model.dispose();
});

test('layers import: Keras 3 inbound_nodes (keras_history objects) read the same as Keras 2 arrays', async () => {
  await tfReady();
  const x = tfl.input({ shape: [6, 6, 3] });
  const a = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'a' }).apply(x) as SymbolicTensor;
  const b = L.conv2d({ filters: 4, kernelSize: 1, name: 'b' }).apply(x) as SymbolicTensor;
  const sum = L.add({ name: 'sum' }).apply([a, b]) as SymbolicTensor;
  const out = L.dense({ units: 2, name: 'out' }).apply(
    L.globalAveragePooling2d({ name: 'gap' }).apply(sum),
  ) as SymbolicTensor;
  const model = tfl.model({ inputs: x, outputs: out });
  randomizeWeights(model, 3);
  const { modelJson, readFile } = await saveLayersModel(model);
  const feed = { data: randomData([2, 6, 6, 3], 8), shape: [2, 6, 6, 3] };
  const [expected] = await tfjsLayersPredict(modelJson, readFile, feed);
  // rewrite every inbound node the way Keras 3 serializes it
  const keras3 = JSON.parse(JSON.stringify(modelJson)) as typeof modelJson;
  // tf.io writes the Keras config itself as modelTopology (converted Keras files wrap it in model_config)
  const layers = (keras3.modelTopology as { config: { layers: { inbound_nodes: unknown[] }[] } }).config.layers;
  const tensor = ([layer, node, index]: [string, number, number]) => ({
    class_name: '__keras_tensor__',
    config: { shape: [null], dtype: 'float32', keras_history: [layer, node, index] },
  });
  for (const l of layers) {
    l.inbound_nodes = (l.inbound_nodes as [string, number, number, unknown][][]).map((refs) => ({
      args:
        refs.length === 1
          ? [tensor(refs[0]! as unknown as [string, number, number])]
          : [refs.map((r) => tensor(r as unknown as [string, number, number]))],
      kwargs: {},
    }));
  }
  const imported = await importTfjsLayersModel(keras3, readFile);
  const actual = await onnxPredict(imported, { [imported.graph.inputs[0]!.name]: feed });
  assertClose(actual.out, expected!, TOL, 'out');
  model.dispose();
});

test('layers import: unsupported layers fail up front, naming layer and class and listing supported ones', async () => {
  const modelJson = {
    modelTopology: {
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [
            { class_name: 'LSTM', config: { name: 'lstm_1', units: 4, batch_input_shape: [null, 3, 2] } },
            { class_name: 'UpSampling2D', config: { name: 'up' } },
          ],
        },
      },
    },
    weightsManifest: [],
  };
  await assert.rejects(
    importTfjsLayersModel(modelJson, async () => new Uint8Array()),
    (e: unknown) => {
      assert.ok(e instanceof GraftError);
      assert.equal(e.code, 'UNSUPPORTED_OP');
      assert.equal(e.fields.op, 'LSTM');
      assert.equal(e.fields.node, 'lstm_1');
      assert.match(e.message, /UpSampling2D \(1 layer, e\.g\. 'up'\)/);
      assert.ok(e.fields.choices?.includes('DepthwiseConv2D'));
      return true;
    },
  );
});
