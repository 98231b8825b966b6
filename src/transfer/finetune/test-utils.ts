// Small synthetic CNNs and data for the fine-tuning tests: only ops with gradient rules, named like
// exported networks ('stem/conv/Conv', 'layers/block_1/conv1/Conv', 'top_conv/Conv') so blocks are found.
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { mulberry32 } from '../../util/rng.js';

export interface TinyCnnOptions {
  channels?: number;
  size?: number;
  blocks?: number;
  seed?: number;
  /** with BatchNormalization after each convolution (default true) */
  batchNorm?: boolean;
  opset?: number;
  /** a 2x2 max-pooling after the stem (default false) */
  maxPool?: boolean;
}

/**
 * stem (conv 3x3 + BN + ReLU) -> `blocks` residual units (conv-BN-ReLU-conv-BN + skip, ReLU) -> top
 * (1x1 conv + BN + ReLU) -> global average pool -> flatten: 'features' [N, 2C]. Input 'image'.
 */
export function tinyCnn(opts: TinyCnnOptions = {}): { model: Model; featureValue: string } {
  const c = opts.channels ?? 4;
  const size = opts.size ?? 8;
  const rnd = mulberry32(opts.seed ?? 3);
  const r = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
  const b = new GraphBuilder('tiny_cnn');
  let x = b.input('image', 'float32', ['N', 3, size, size]);
  const useBn = opts.batchNorm ?? true;
  const conv = (prefix: string, input: string, cin: number, cout: number, k: number, relu: boolean) => {
    const w = b.initializer(`${prefix}.weight`, r(cout * cin * k * k, Math.sqrt(3 / (cin * k * k))), [cout, cin, k, k]);
    const bias = b.initializer(`${prefix}.bias`, r(cout, 0.1), [cout]);
    let y = b.op('Conv', [input, w, bias], { pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] }, { name: `${prefix}/Conv` });
    if (useBn) {
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
    }
    return relu ? b.op('Relu', [y], undefined, { name: `${prefix}/Relu` }) : y;
  };
  x = conv('stem/conv', x, 3, c, 3, true);
  if (opts.maxPool) x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'stem/pool/MaxPool' });
  for (let k = 1; k <= (opts.blocks ?? 2); k++) {
    const p = `layers/block_${k}`;
    const h = conv(`${p}/conv1`, x, c, c, 3, true);
    const h2 = conv(`${p}/conv2`, h, c, c, 3, false);
    x = b.op('Relu', [b.op('Add', [h2, x], undefined, { name: `${p}/add/Add` })], undefined, { name: `${p}/out/Relu` });
  }
  x = conv('top_conv', x, c, 2 * c, 1, true);
  const pooled = b.op('GlobalAveragePool', [x], undefined, { name: 'pool/GlobalAveragePool' });
  const features = b.op('Flatten', [pooled], { axis: 1 }, { name: 'pool/Flatten', outputs: ['features'] });
  b.graph.valueInfo.set(features, { name: features, dtype: 'float32', shape: ['N', 2 * c] });
  b.output(features, 'float32', ['N', 2 * c]);
  const model = b.build();
  if (opts.opset) model.opsetImports = [{ domain: '', version: opts.opset }];
  return { model, featureValue: features };
}

/**
 * Images of four textures (horizontal stripes, vertical stripes, a checkerboard, a flat field) with a
 * random phase, contrast and noise: a task that global pooling keeps (unlike position) and that a few
 * epochs solve, while a random head stays at chance (1/4).
 */
export function textureImages(count: number, size = 8, seed = 1): { data: Float32Array; labels: Int32Array } {
  const rnd = mulberry32(seed);
  const per = 3 * size * size;
  const data = new Float32Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const cls = i % 4;
    labels[i] = cls;
    const phase = rnd() < 0.5 ? 0 : 1;
    const contrast = 0.6 + 0.8 * rnd();
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = cls === 0 ? (y + phase) % 2 : cls === 1 ? (x + phase) % 2 : cls === 2 ? (x + y + phase) % 2 : 0.5;
        for (let ch = 0; ch < 3; ch++) {
          data[i * per + ch * size * size + y * size + x] = contrast * on + 0.3 * (rnd() - 0.5);
        }
      }
    }
  }
  return { data, labels };
}
