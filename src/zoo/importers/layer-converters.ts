// The Keras layer classes the layers importer converts, each a small function over the shared emitter.
import { GraftError } from '../../errors.js';
import type { Activation, Padding, TfValue } from './emitter.js';
import type { KerasLayer, LayersConverter } from './layers-model.js';
import * as math from './ops-math.js';
import * as nn from './ops-nn.js';
import * as shape from './ops-shape.js';

export type LayerConverter = (c: LayersConverter, layer: KerasLayer, inputs: TfValue[], name: string) => TfValue;

export function layerName(l: KerasLayer): string {
  return l.name ?? l.config.name ?? l.class_name;
}

function pair(v: unknown, fallback: [number, number]): [number, number] {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0] ?? fallback[0], a[1] ?? a[0] ?? fallback[1]];
}

function kerasPadding(v: unknown, layer: string): Padding {
  if (v === 'same') return { kind: 'SAME' };
  if (v === 'valid' || v === undefined) return { kind: 'VALID' };
  throw new GraftError('UNSUPPORTED_OP', `Padding '${String(v)}' is not supported`, {
    node: layer,
    choices: ['same', 'valid'],
  });
}

export function kerasActivation(v: unknown, layer: string): Activation | undefined {
  const name =
    typeof v === 'string'
      ? v
      : v && typeof v === 'object'
        ? String(
            (v as { class_name?: string; config?: { name?: string } }).config?.name ??
              (v as { class_name?: string }).class_name,
          )
        : 'linear';
  switch (name.toLowerCase()) {
    case 'linear':
    case 'none':
      return undefined;
    case 'relu':
      return { kind: 'relu' };
    case 'relu6':
      return { kind: 'relu6' };
    case 'elu':
      return { kind: 'elu' };
    case 'selu':
      return { kind: 'selu' };
    case 'sigmoid':
      return { kind: 'sigmoid' };
    case 'hard_sigmoid':
    case 'hardsigmoid':
      return { kind: 'hard_sigmoid' };
    case 'tanh':
      return { kind: 'tanh' };
    case 'softmax':
      return { kind: 'softmax' };
    case 'softplus':
      return { kind: 'softplus' };
    case 'softsign':
      return { kind: 'softsign' };
    case 'swish':
    case 'silu':
      return { kind: 'swish' };
    case 'exponential':
      return { kind: 'exp' };
    default:
      throw new GraftError('UNSUPPORTED_OP', `Activation '${name}' is not supported`, {
        node: layer,
        op: 'Activation',
        choices: [
          'linear',
          'relu',
          'relu6',
          'elu',
          'selu',
          'sigmoid',
          'hard_sigmoid',
          'tanh',
          'softmax',
          'softplus',
          'softsign',
          'swish',
          'exponential',
        ],
      });
  }
}

/** Runs `make` to produce the pre-activation value, then the layer's activation under the layer name. */
function activated(c: LayersConverter, layer: KerasLayer, name: string, make: (n: string) => TfValue): TfValue {
  const act = kerasActivation(layer.config.activation, name);
  if (!act) return make(name);
  return math.activation(c.em, make(`${name}/preact`), act, name);
}

function convLayer(depthwise: boolean): LayerConverter {
  return (c, layer, [x], name) => {
    const cfg = layer.config;
    const base = layerName(layer);
    const kernel = c.weight(base, depthwise ? 'depthwise_kernel' : 'kernel', true);
    const bias = cfg.use_bias === false ? undefined : c.weight(base, 'bias', false);
    return activated(c, layer, name, (n) =>
      nn.conv2d(c.em, {
        x: x!,
        kernel,
        bias,
        strides: pair(cfg.strides, [1, 1]),
        dilations: pair(cfg.dilation_rate, [1, 1]),
        padding: kerasPadding(cfg.padding, base),
        depthwise,
        name: n,
      }),
    );
  };
}

const separableConv: LayerConverter = (c, layer, [x], name) => {
  const cfg = layer.config;
  const base = layerName(layer);
  const dw = nn.conv2d(c.em, {
    x: x!,
    kernel: c.weight(base, 'depthwise_kernel', true),
    strides: pair(cfg.strides, [1, 1]),
    dilations: pair(cfg.dilation_rate, [1, 1]),
    padding: kerasPadding(cfg.padding, base),
    depthwise: true,
    name: `${name}/depthwise`,
  });
  const bias = cfg.use_bias === false ? undefined : c.weight(base, 'bias', false);
  return activated(c, layer, name, (n) =>
    nn.conv2d(c.em, {
      x: dw,
      kernel: c.weight(base, 'pointwise_kernel', true),
      bias,
      strides: [1, 1],
      dilations: [1, 1],
      padding: { kind: 'VALID' },
      depthwise: false,
      name: n,
    }),
  );
};

const batchNormLayer: LayerConverter = (c, layer, [x], name) => {
  const cfg = layer.config;
  const base = layerName(layer);
  const rank = x!.shape?.length;
  const axis = Array.isArray(cfg.axis) ? (cfg.axis as number[])[0]! : ((cfg.axis as number | undefined) ?? -1);
  if (rank === undefined || (axis !== -1 && axis !== rank - 1)) {
    throw new GraftError('UNSUPPORTED_OP', `BatchNormalization over axis ${axis} is not supported`, {
      node: base,
      op: 'BatchNormalization',
      expected: 'the channel (last) axis',
      found: `axis ${axis} of a rank-${rank ?? '?'} input`,
    });
  }
  const mean = c.weight(base, 'moving_mean', true);
  const channels = mean.shape![0]!;
  const filled = (w: string, v: number): TfValue => {
    const data = new Float32Array(channels).fill(v);
    return {
      name: `${base}/${w}`,
      dtype: 'float32',
      shape: [channels],
      konst: { dtype: 'float32', shape: [channels], data },
    };
  };
  const gamma = cfg.scale === false ? filled('gamma', 1) : c.weight(base, 'gamma', true);
  const beta = cfg.center === false ? filled('beta', 0) : c.weight(base, 'beta', true);
  const variance = c.weight(base, 'moving_variance', true);
  return nn.batchNorm(c.em, x!, gamma, beta, mean, variance, Number(cfg.epsilon ?? 1e-3), name);
};

const reluLayer: LayerConverter = (c, layer, [x], name) => {
  const cfg = layer.config;
  const max = cfg.max_value as number | null | undefined;
  const slope = Number(cfg.negative_slope ?? 0);
  const threshold = Number(cfg.threshold ?? 0);
  if (threshold !== 0 || (slope !== 0 && max !== null && max !== undefined)) {
    throw new GraftError(
      'UNSUPPORTED_OP',
      'ReLU with a threshold, or with both a slope and a maximum, is not supported',
      {
        node: layerName(layer),
        op: 'ReLU',
        found: `max_value ${max}, negative_slope ${slope}, threshold ${threshold}`,
      },
    );
  }
  if (slope !== 0) return math.unary(c.em, 'LeakyRelu', x!, name, { alpha: slope });
  if (max !== null && max !== undefined) return math.clip(c.em, x!, 0, max, name);
  return math.unary(c.em, 'Relu', x!, name);
};

function poolLayer(kind: 'max' | 'avg'): LayerConverter {
  return (c, layer, [x], name) => {
    const cfg = layer.config;
    const size = pair(cfg.pool_size, [2, 2]);
    return nn.pool(c.em, kind, x!, size, pair(cfg.strides, size), kerasPadding(cfg.padding, layerName(layer)), name);
  };
}

function globalPool(kind: 'mean' | 'max'): LayerConverter {
  return (c, layer, [x], name) => math.reduce(c.em, kind, x!, [1, 2], layer.config.keepdims === true, name);
}

function merge(op: 'Add' | 'Mul' | 'Max' | 'Min'): LayerConverter {
  return (c, _layer, xs, name) => {
    if (op === 'Add' && xs.length > 2) return math.sum(c.em, xs, name);
    let acc = xs[0]!;
    for (let i = 1; i < xs.length; i++)
      acc = math.binary(c.em, op, acc, xs[i]!, i === xs.length - 1 ? name : `${name}/${i}`);
    return acc;
  };
}

const dense: LayerConverter = (c, layer, [x], name) => {
  const base = layerName(layer);
  const kernel = c.weight(base, 'kernel', true);
  const bias = layer.config.use_bias === false ? undefined : c.weight(base, 'bias', false);
  return activated(c, layer, name, (n) => nn.matmul(c.em, x!, kernel, false, false, bias, n));
};

const zeroPadding: LayerConverter = (c, layer, [x], name) => {
  const p = layer.config.padding;
  let pads: [[number, number], [number, number]];
  if (typeof p === 'number')
    pads = [
      [p, p],
      [p, p],
    ];
  else if (Array.isArray(p) && typeof p[0] === 'number') {
    const [h, w] = p as number[];
    pads = [
      [h!, h!],
      [w ?? h!, w ?? h!],
    ];
  } else pads = p as [[number, number], [number, number]];
  return shape.pad(c.em, x!, [[0, 0], pads[0], pads[1], [0, 0]], 'constant', 0, name);
};

const cropping: LayerConverter = (c, layer, [x], name) => {
  const p = layer.config.cropping;
  const crops: [[number, number], [number, number]] =
    typeof p === 'number'
      ? [
          [p, p],
          [p, p],
        ]
      : Array.isArray(p) && typeof p[0] === 'number'
        ? [
            [p[0] as number, p[0] as number],
            [p[1] as number, p[1] as number],
          ]
        : (p as [[number, number], [number, number]]);
  const [[t, b], [l, r]] = crops;
  return shape.stridedSlice(
    c.em,
    x!,
    [0, t, l, 0],
    [0, b ? -b : 0, r ? -r : 0, 0],
    [1, 1, 1, 1],
    { begin: 0b1001, end: 0b1001 | (b ? 0 : 0b10) | (r ? 0 : 0b100), shrink: 0 },
    name,
  );
};

const reshapeLayer: LayerConverter = (c, layer, [x], name) => {
  const target = (layer.config.target_shape as (number | null)[]).map((d) => d ?? -1);
  return shape.reshape(c.em, x!, [{ of: x!, axis: 0 }, ...target], name);
};

const rescaling: LayerConverter = (c, layer, [x], name) => {
  const scale = layer.config.scale as number | number[];
  const offset = (layer.config.offset ?? 0) as number | number[];
  const konst = (v: number | number[], w: string): TfValue => {
    const data = Float32Array.from(Array.isArray(v) ? v : [v]);
    const shape = Array.isArray(v) ? [v.length] : [];
    return { name: `${name}/${w}`, dtype: 'float32', shape, konst: { dtype: 'float32', shape, data } };
  };
  const scaled = math.binary(c.em, 'Mul', x!, konst(scale, 'scale'), offset === 0 ? name : `${name}/scaled`);
  return offset === 0 ? scaled : math.binary(c.em, 'Add', scaled, konst(offset, 'offset'), name);
};

const identityLayer: LayerConverter = (c, _l, [x], name) => math.identity(c.em, x!, name);

/** Keras layer classes the layers importer converts. */
export const LAYERS: Record<string, LayerConverter> = {
  Conv2D: convLayer(false),
  DepthwiseConv2D: convLayer(true),
  SeparableConv2D: separableConv,
  BatchNormalization: batchNormLayer,
  ReLU: reluLayer,
  LeakyReLU: (c, layer, [x], name) =>
    math.unary(c.em, 'LeakyRelu', x!, name, { alpha: Number(layer.config.alpha ?? 0.3) }),
  PReLU: (c, layer, [x], name) => math.binary(c.em, 'PRelu', x!, c.weight(layerName(layer), 'alpha', true), name),
  ELU: (c, layer, [x], name) => math.unary(c.em, 'Elu', x!, name, { alpha: Number(layer.config.alpha ?? 1) }),
  Softmax: (c, layer, [x], name) => math.softmax(c.em, x!, Number(layer.config.axis ?? -1), name),
  Activation: (c, layer, [x], name) => {
    const act = kerasActivation(layer.config.activation, layerName(layer));
    return act ? math.activation(c.em, x!, act, name) : math.identity(c.em, x!, name);
  },
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Average: (c, _l, xs, name) => {
    const s = math.sum(c.em, xs, `${name}/sum`);
    const n = xs.length;
    const k: TfValue = {
      name: `${name}/n`,
      dtype: 'float32',
      shape: [],
      konst: { dtype: 'float32', shape: [], data: Float32Array.of(1 / n) },
    };
    return math.binary(c.em, 'Mul', s, k, name);
  },
  Concatenate: (c, layer, xs, name) => shape.concat(c.em, xs, Number(layer.config.axis ?? -1), name),
  MaxPooling2D: poolLayer('max'),
  AveragePooling2D: poolLayer('avg'),
  GlobalAveragePooling2D: globalPool('mean'),
  GlobalMaxPooling2D: globalPool('max'),
  ZeroPadding2D: zeroPadding,
  Cropping2D: cropping,
  Flatten: (c, _l, [x], name) => shape.flatten(c.em, x!, name),
  Reshape: reshapeLayer,
  Dense: dense,
  Rescaling: rescaling,
  Dropout: identityLayer,
  SpatialDropout2D: identityLayer,
  GaussianNoise: identityLayer,
  GaussianDropout: identityLayer,
  AlphaDropout: identityLayer,
};
