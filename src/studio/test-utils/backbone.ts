// The backbone the studio tests train on: a small random CNN for 28x28 images (Fashion-MNIST's size, so
// neither the page nor sharp resizes, and both feed the network the same pixels), named like an exported
// network so blocks are found (stem, layers/block_1, layers/block_2, top), with 2x2 cells of pooled
// features (96-d: global pooling alone loses the shape that tells a shoe from a shirt) and its
// preprocessing in the metadata, as a user's model would carry it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Preprocessing } from '../../data/preprocessing.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { mulberry32 } from '../../util/rng.js';

export const STUDIO_SIZE = 28;

export const STUDIO_PREPROCESSING: Preprocessing = {
  size: [STUDIO_SIZE, STUDIO_SIZE],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  layout: 'NCHW',
  channels: 3,
};

/** stem (3x3 stride 2) -> two residual blocks at 14x14 -> top 1x1 conv -> 7x7 average pooling -> 96 features. */
export function studioBackbone(seed = 5): Model {
  const c = 12;
  const top = 24;
  const rnd = mulberry32(seed);
  const r = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
  const b = new GraphBuilder('studio_tiny');
  let x = b.input('pixel_input', 'float32', ['N', 3, STUDIO_SIZE, STUDIO_SIZE]);
  const conv = (prefix: string, input: string, cin: number, cout: number, k: number, relu: boolean, stride = 1) => {
    const w = b.initializer(`${prefix}.weight`, r(cout * cin * k * k, Math.sqrt(6 / (cin * k * k))), [cout, cin, k, k]);
    const bias = b.initializer(`${prefix}.bias`, r(cout, 0.1), [cout]);
    const pad = (k - 1) / 2;
    let y = b.op(
      'Conv',
      [input, w, bias],
      { pads: [pad, pad, pad, pad], strides: [stride, stride] },
      { name: `${prefix}/Conv` },
    );
    y = b.op(
      'BatchNormalization',
      [
        y,
        b.initializer(
          `${prefix}.bn.weight`,
          Float32Array.from({ length: cout }, () => 0.8 + 0.4 * rnd()),
          [cout],
        ),
        b.initializer(`${prefix}.bn.bias`, r(cout, 0.1), [cout]),
        b.initializer(`${prefix}.bn.running_mean`, r(cout, 0.1), [cout]),
        b.initializer(
          `${prefix}.bn.running_var`,
          Float32Array.from({ length: cout }, () => 0.5 + rnd()),
          [cout],
        ),
      ],
      undefined,
      { name: `${prefix}/bn/BatchNormalization` },
    );
    return relu ? b.op('Relu', [y], undefined, { name: `${prefix}/Relu` }) : y;
  };
  x = conv('stem/conv', x, 3, c, 3, true, 2);
  for (let k = 1; k <= 2; k++) {
    const p = `layers/block_${k}`;
    const h = conv(`${p}/conv1`, x, c, c, 3, true);
    const h2 = conv(`${p}/conv2`, h, c, c, 3, false);
    x = b.op('Relu', [b.op('Add', [h2, x], undefined, { name: `${p}/add/Add` })], undefined, { name: `${p}/out/Relu` });
  }
  x = conv('top_conv', x, c, top, 1, true);
  const cells = b.op('AveragePool', [x], { kernel_shape: [7, 7], strides: [7, 7] }, { name: 'top_pool/AveragePool' });
  const features = b.op('Flatten', [cells], { axis: 1 }, { name: 'top_pool/Flatten', outputs: ['features'] });
  b.graph.valueInfo.set(features, { name: features, dtype: 'float32', shape: ['N', top * 4] });
  b.output(features, 'float32', ['N', top * 4]);
  const model = b.build();
  model.metadata.set('graft.preprocessing', JSON.stringify(STUDIO_PREPROCESSING));
  return model;
}

/**
 * A user's models file ($XDG_CONFIG_HOME/graft/models.json) naming `modelPath` as the zoo entry 'tiny.studio':
 * a local file is a source the cache does not need to fetch, so the studio offers it like a cached model.
 */
export function writeStudioModelsFile(configHome: string, modelPath: string): void {
  mkdirSync(join(configHome, 'graft'), { recursive: true });
  const entry = {
    name: 'tiny.studio',
    description: 'a small random CNN',
    license: 'MIT',
    trainedOn: 'nothing',
    task: 'image-feature-extraction',
    format: 'onnx',
    sources: [{ uri: modelPath }],
    input: { kind: 'image', name: 'pixel_input', size: [STUDIO_SIZE, STUDIO_SIZE], channels: 3, layout: 'NCHW' },
    featureValue: 'features',
  };
  writeFileSync(join(configHome, 'graft', 'models.json'), JSON.stringify({ models: [entry] }));
}
