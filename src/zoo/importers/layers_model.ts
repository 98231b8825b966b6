import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { Emitter, type Activation, type Padding, type TfValue } from './emitter.js';
import { checkOpset } from './graph_model.js';
import { NCHW } from './layout.js';
import type { HostArray, ReadFile, TfjsImportOptions, TfjsModelJson } from './types.js';
import { loadWeights } from './weights.js';

/** A serialized Keras layer, as TF.js writes it into modelTopology.model_config. */
export interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

interface ModelConfig {
  class_name: string;
  config: unknown;
}

/**
 * Converts a TF.js layers model (Keras config in `modelTopology.model_config` + weight shards) into an
 * ONNX model that runs channels-first. Layer names become value names (a layer's output is named after
 * the layer), weights become initializers under their Keras names (`Conv1/kernel`, `bn_Conv1/gamma`,
 * kernels transposed to OIHW), batch norms stay BatchNormalization nodes so their scale and offset
 * remain separate trainable parameters. Functional and Sequential models are supported, nested too
 * (Teachable Machine exports are a Sequential holding a functional base model).
 */
export async function importTfjsLayersModel(
  modelJson: TfjsModelJson,
  readFile: ReadFile,
  opts: TfjsImportOptions = {},
): Promise<Model> {
  const root = modelConfigOf(modelJson);
  const weights = new WeightIndex(await loadWeights(modelJson.weightsManifest, readFile));
  const opset = checkOpset(opts.opset);
  const layout = opts.inputLayout ?? 'NCHW';
  const modelName = (root.config as { name?: string } | undefined)?.name;
  const conv = new LayersConverter(
    new Emitter(opts.graphName ?? modelName ?? 'tfjs_layers_model', opset),
    weights,
    opts,
  );
  checkLayers(root);
  const outputs = conv.model(root, undefined, opts.outputs);
  const metadata = new Map<string, string>([
    ['graft.import.format', 'tfjs-layers-model'],
    ['graft.import.sourceLayout', 'NHWC'],
    ['graft.import.inputLayout', layout],
  ]);
  const topo = modelJson.modelTopology as { keras_version?: string } | undefined;
  if (topo?.keras_version) metadata.set('graft.import.kerasVersion', topo.keras_version);
  if (modelJson.generatedBy) metadata.set('graft.import.generatedBy', String(modelJson.generatedBy));
  const graphOutputs = outputs.map((v) => ({
    v,
    name: v.name,
    perm: v.shape?.length === 4 && layout === 'NCHW' ? NCHW : undefined,
  }));
  const rank4 = graphOutputs.filter((o) => o.v.shape?.length === 4).map((o) => o.name);
  if (rank4.length) {
    metadata.set('graft.import.outputLayout', JSON.stringify(Object.fromEntries(rank4.map((n) => [n, layout]))));
  }
  return conv.em.finish(graphOutputs, opset, metadata);
}

function modelConfigOf(modelJson: TfjsModelJson): ModelConfig {
  let topo = modelJson.modelTopology as Record<string, unknown> | undefined;
  if (topo && typeof topo.model_config === 'object' && topo.model_config)
    topo = topo.model_config as Record<string, unknown>;
  if (!topo || typeof topo.class_name !== 'string' || topo.config === undefined) {
    throw new GraftError('BAD_MODEL', 'Not a TF.js layers model: modelTopology has no Keras model config', {
      file: 'model.json',
      expected: 'modelTopology: { model_config: { class_name: "Functional" | "Model" | "Sequential", config } }',
      found: topo ? `keys ${Object.keys(topo).join(', ')}` : 'no modelTopology',
      fix: 'for graph models use importTfjsGraphModel (or importTfjsModel, which detects the format)',
    });
  }
  return topo as unknown as ModelConfig;
}

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

type LayerConverter = (c: LayersConverter, layer: KerasLayer, inputs: TfValue[], name: string) => TfValue;

function layersOf(m: ModelConfig): KerasLayer[] {
  const cfg = m.config as { layers?: KerasLayer[] } | KerasLayer[];
  return Array.isArray(cfg) ? cfg : (cfg.layers ?? []);
}

/** Fails once, listing every layer class the importer lacks. */
function checkLayers(root: ModelConfig): void {
  const missing = new Map<string, string[]>();
  const walk = (m: ModelConfig) => {
    for (const l of layersOf(m)) {
      if (MODEL_CLASSES.has(l.class_name)) walk(l);
      else if (l.class_name !== 'InputLayer' && !LAYERS[l.class_name]) {
        missing.set(l.class_name, [...(missing.get(l.class_name) ?? []), layerName(l)]);
      }
    }
  };
  walk(root);
  if (!missing.size) return;
  const [cls, names] = [...missing][0]!;
  throw new GraftError('UNSUPPORTED_OP', 'The TF.js layers model uses layers Graft cannot import', {
    op: cls,
    node: names[0],
    found: [...missing]
      .map(([c, ns]) => `${c} (${ns.length} layer${ns.length > 1 ? 's' : ''}, e.g. '${ns[0]}')`)
      .join('; '),
    choices: supportedLayers(),
    fix: 'export the model with supported layers, or convert it to ONNX with tf2onnx and load the .onnx file',
  });
}

export function supportedLayers(): string[] {
  return ['InputLayer', ...MODEL_CLASSES, ...Object.keys(LAYERS)].sort();
}

function layerName(l: KerasLayer): string {
  return l.name ?? l.config.name ?? l.class_name;
}

/** Keras weights by layer: `layer/kernel`, also found under a scope prefix or with a cell name inside. */
class WeightIndex {
  constructor(private readonly all: Map<string, HostArray>) {}

  find(layer: string, weight: string): { name: string; value: HostArray } | undefined {
    const exact = `${layer}/${weight}`;
    const hit = this.all.get(exact);
    if (hit) return { name: exact, value: hit };
    const candidates = [...this.all.keys()].filter(
      (k) =>
        k.endsWith(`/${exact}`) || (k.startsWith(`${layer}/`) && k.endsWith(`/${weight}`) && k.split('/').length === 3),
    );
    if (candidates.length === 1) return { name: candidates[0]!, value: this.all.get(candidates[0]!)! };
    return undefined;
  }

  layerWeights(layer: string): string[] {
    return [...this.all.keys()].filter((k) => k.startsWith(`${layer}/`) || k.includes(`/${layer}/`));
  }
}

export class LayersConverter {
  private inputsCreated = 0;

  constructor(
    readonly em: Emitter,
    private readonly weights: WeightIndex,
    private readonly opts: TfjsImportOptions,
  ) {}

  /** Converts a (possibly nested) model; `inputs` feed it when nested, graph inputs are made otherwise. */
  model(m: ModelConfig, inputs: TfValue[] | undefined, want?: readonly string[]): TfValue[] {
    if (m.class_name === 'Sequential') return this.sequential(m, inputs, want);
    return this.functional(m, inputs, want);
  }

  weight(layer: string, weight: string, required: true): TfValue;
  weight(layer: string, weight: string, required: boolean): TfValue | undefined;
  weight(layer: string, weight: string, required: boolean): TfValue | undefined {
    const w = this.weights.find(layer, weight);
    if (!w) {
      if (!required) return undefined;
      const have = this.weights.layerWeights(layer);
      throw new GraftError('BAD_MODEL', `Layer '${layer}' has no weight '${weight}' in the weights manifest`, {
        node: layer,
        expected: `a weight named '${layer}/${weight}'`,
        found: have.length ? have.join(', ') : 'no weights for this layer',
        fix: 'check the weight shards belong to this model.json',
      });
    }
    return {
      name: w.name,
      dtype: w.value.dtype === 'int32' ? 'int32' : 'float32',
      shape: [...w.value.shape],
      konst: w.value,
    };
  }

  private input(layer: KerasLayer | undefined, cfg: Record<string, unknown>, fallbackName: string): TfValue {
    const raw = (cfg.batch_input_shape ?? cfg.batch_shape) as (number | null)[] | undefined;
    if (!raw) {
      throw new GraftError('BAD_MODEL', 'The model does not say its input shape', {
        node: layer ? layerName(layer) : fallbackName,
        expected: 'batch_input_shape on the first layer or an InputLayer',
        fix: 're-export the model with an input shape',
      });
    }
    const shape = raw.map((d) => (d === null || d === undefined ? -1 : d));
    if (shape.length === 4 && this.opts.inputSize) {
      for (const i of [1, 2]) if (shape[i]! < 0) shape[i] = this.opts.inputSize[i - 1]!;
    }
    const layout = this.opts.inputLayout ?? 'NCHW';
    const symbolic = shape.length === 4 ? (layout === 'NCHW' ? ['N', 'C', 'H', 'W'] : ['N', 'H', 'W', 'C']) : ['N'];
    const name = layer ? layerName(layer) : fallbackName;
    this.inputsCreated++;
    const dtype = cfg.dtype === 'int32' ? 'int32' : 'float32';
    return this.em.input(name, dtype, shape, layout, symbolic);
  }

  private sequential(m: ModelConfig, inputs: TfValue[] | undefined, want?: readonly string[]): TfValue[] {
    const layers = layersOf(m);
    const modelName = (m.config as { name?: string }).name ?? 'sequential';
    let x = inputs?.[0];
    const wanted = new Map<string, TfValue>();
    for (const [i, layer] of layers.entries()) {
      if (layer.class_name === 'InputLayer') {
        x ??= this.input(layer, layer.config, `${modelName}_input`);
        continue;
      }
      if (!x) {
        x =
          i === 0 && MODEL_CLASSES.has(layer.class_name)
            ? undefined
            : this.input(undefined, layer.config, `${modelName}_input`);
      }
      x = this.layer(layer, x ? [x] : []);
      if (want?.includes(layerName(layer))) wanted.set(layerName(layer), x);
      if (want && wanted.size === want.length) break;
    }
    if (want?.length) {
      return want.map((w) => {
        const v = wanted.get(w);
        if (!v) throw this.notFound(w, layers);
        return v;
      });
    }
    if (!x) throw new GraftError('BAD_MODEL', `Sequential model '${modelName}' has no layers`, { node: modelName });
    return [x];
  }

  private functional(m: ModelConfig, inputs: TfValue[] | undefined, want?: readonly string[]): TfValue[] {
    const cfg = m.config as {
      name?: string;
      layers?: KerasLayer[];
      input_layers?: unknown;
      output_layers?: unknown;
    };
    const layers = cfg.layers ?? [];
    const byName = new Map(layers.map((l) => [layerName(l), l]));
    const produced = new Map<string, TfValue[]>();
    const inputRefs = refsOf(cfg.input_layers);
    inputRefs.forEach(([name], i) => {
      const l = byName.get(name);
      if (!l) throw this.notFound(name, layers);
      const v = inputs ? inputs[i] : this.input(l, l.config, name);
      if (!v) throw new GraftError('BAD_MODEL', `Nested model '${cfg.name}' gets too few inputs`, { node: name });
      produced.set(`${name}:0`, [v]);
    });
    const resolving = new Set<string>();
    const resolve = (name: string, node: number, tensor: number): TfValue => {
      const key = `${name}:${node}`;
      const done = produced.get(key);
      if (done) return done[tensor] ?? done[0]!;
      const layer = byName.get(name);
      if (!layer) throw this.notFound(name, layers);
      if (resolving.has(key)) {
        throw new GraftError('BAD_MODEL', `Layer '${name}' depends on itself`, { node: name });
      }
      resolving.add(key);
      const inbound = inboundOf(layer, node);
      if (!inbound) {
        throw new GraftError('BAD_MODEL', `Layer '${name}' has no inbound node #${node}`, {
          node: name,
          fix: 'the model config is malformed; re-export it',
        });
      }
      const ins = inbound.map(([n, k, t]) => resolve(n, k, t));
      const out = this.layer(layer, ins, node);
      produced.set(key, [out]);
      resolving.delete(key);
      return out;
    };
    if (want?.length) {
      return want.map((w) => {
        if (!byName.has(w)) throw this.notFound(w, layers);
        return resolve(w, 0, 0);
      });
    }
    return refsOf(cfg.output_layers).map(([n, k, t]) => resolve(n, k, t));
  }

  private notFound(name: string, layers: KerasLayer[]): GraftError {
    return new GraftError('NOT_FOUND', `No layer named '${name}'`, {
      value: name,
      choices: layers.map(layerName).slice(0, 400),
      fix: 'use a layer name from the model config',
    });
  }

  /** One call of one layer (node index > 0 for shared layers). */
  layer(layer: KerasLayer, inputs: TfValue[], node = 0): TfValue {
    const base = layerName(layer);
    const name = node === 0 ? base : `${base}_${node}`;
    if (MODEL_CLASSES.has(layer.class_name)) {
      const outs = this.model(layer, inputs.length ? inputs : undefined);
      return outs.length === 1 && outs[0]!.name !== name ? this.em.identity(outs[0]!, name) : outs[0]!;
    }
    const convert = LAYERS[layer.class_name];
    if (!convert) {
      throw new GraftError('UNSUPPORTED_OP', `Layer class ${layer.class_name} is not supported`, {
        op: layer.class_name,
        node: base,
        choices: supportedLayers(),
      });
    }
    if (!inputs.length) throw new GraftError('BAD_MODEL', `Layer '${base}' has no input`, { node: base });
    const cfg = layer.config;
    if (cfg.data_format !== undefined && cfg.data_format !== 'channels_last') {
      throw new GraftError('UNSUPPORTED_OP', `Layer '${base}' uses data_format ${String(cfg.data_format)}`, {
        node: base,
        op: layer.class_name,
        expected: 'channels_last (what TF.js runs)',
        found: String(cfg.data_format),
      });
    }
    return convert(this, layer, inputs, name);
  }
}

/** [layer, nodeIndex, tensorIndex] references, from Keras 2 arrays or Keras 3 keras_history objects. */
function refsOf(v: unknown): [string, number, number][] {
  if (!Array.isArray(v)) return [];
  if (v.length >= 1 && typeof v[0] === 'string') return [[v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)]];
  return v.flatMap(refsOf);
}

function inboundOf(layer: KerasLayer, node: number): [string, number, number][] | undefined {
  const n = layer.inbound_nodes?.[node];
  if (n === undefined) return undefined;
  if (Array.isArray(n)) return refsOf(n);
  const out: [string, number, number][] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const h = (x as { config?: { keras_history?: unknown[] } }).config?.keras_history;
      if (Array.isArray(h)) out.push([String(h[0]), Number(h[1] ?? 0), Number(h[2] ?? 0)]);
      else Object.values(x).forEach(walk);
    }
  };
  walk((n as { args?: unknown }).args ?? n);
  return out;
}

// ---- layer converters ----

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
  return c.em.activation(make(`${name}/preact`), act, name);
}

function convLayer(depthwise: boolean): LayerConverter {
  return (c, layer, [x], name) => {
    const cfg = layer.config;
    const base = layerName(layer);
    const kernel = c.weight(base, depthwise ? 'depthwise_kernel' : 'kernel', true);
    const bias = cfg.use_bias === false ? undefined : c.weight(base, 'bias', false);
    return activated(c, layer, name, (n) =>
      c.em.conv2d({
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
  const dw = c.em.conv2d({
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
    c.em.conv2d({
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
  return c.em.batchNorm(x!, gamma, beta, mean, variance, Number(cfg.epsilon ?? 1e-3), name);
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
  if (slope !== 0) return c.em.unary('LeakyRelu', x!, name, { alpha: slope });
  if (max !== null && max !== undefined) return c.em.clip(x!, 0, max, name);
  return c.em.unary('Relu', x!, name);
};

function poolLayer(kind: 'max' | 'avg'): LayerConverter {
  return (c, layer, [x], name) => {
    const cfg = layer.config;
    const size = pair(cfg.pool_size, [2, 2]);
    return c.em.pool(kind, x!, size, pair(cfg.strides, size), kerasPadding(cfg.padding, layerName(layer)), name);
  };
}

function globalPool(kind: 'mean' | 'max'): LayerConverter {
  return (c, layer, [x], name) => c.em.reduce(kind, x!, [1, 2], layer.config.keepdims === true, name);
}

function merge(op: 'Add' | 'Mul' | 'Max' | 'Min'): LayerConverter {
  return (c, layer, xs, name) => {
    if (op === 'Add' && xs.length > 2) return c.em.sum(xs, name);
    let acc = xs[0]!;
    for (let i = 1; i < xs.length; i++) acc = c.em.binary(op, acc, xs[i]!, i === xs.length - 1 ? name : `${name}/${i}`);
    return acc;
  };
}

const dense: LayerConverter = (c, layer, [x], name) => {
  const base = layerName(layer);
  const kernel = c.weight(base, 'kernel', true);
  const bias = layer.config.use_bias === false ? undefined : c.weight(base, 'bias', false);
  return activated(c, layer, name, (n) => c.em.matmul(x!, kernel, false, false, bias, n));
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
  return c.em.pad(x!, [[0, 0], pads[0], pads[1], [0, 0]], 'constant', 0, name);
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
  return c.em.stridedSlice(
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
  return c.em.reshape(x!, [{ of: x!, axis: 0 }, ...target], name);
};

const rescaling: LayerConverter = (c, layer, [x], name) => {
  const scale = layer.config.scale as number | number[];
  const offset = (layer.config.offset ?? 0) as number | number[];
  const konst = (v: number | number[], w: string): TfValue => {
    const data = Float32Array.from(Array.isArray(v) ? v : [v]);
    const shape = Array.isArray(v) ? [v.length] : [];
    return { name: `${name}/${w}`, dtype: 'float32', shape, konst: { dtype: 'float32', shape, data } };
  };
  const scaled = c.em.binary('Mul', x!, konst(scale, 'scale'), offset === 0 ? name : `${name}/scaled`);
  return offset === 0 ? scaled : c.em.binary('Add', scaled, konst(offset, 'offset'), name);
};

const identityLayer: LayerConverter = (c, _l, [x], name) => c.em.identity(x!, name);

/** Keras layer classes the layers importer converts. */
export const LAYERS: Record<string, LayerConverter> = {
  Conv2D: convLayer(false),
  DepthwiseConv2D: convLayer(true),
  SeparableConv2D: separableConv,
  BatchNormalization: batchNormLayer,
  ReLU: reluLayer,
  LeakyReLU: (c, layer, [x], name) => c.em.unary('LeakyRelu', x!, name, { alpha: Number(layer.config.alpha ?? 0.3) }),
  PReLU: (c, layer, [x], name) => c.em.binary('PRelu', x!, c.weight(layerName(layer), 'alpha', true), name),
  ELU: (c, layer, [x], name) => c.em.unary('Elu', x!, name, { alpha: Number(layer.config.alpha ?? 1) }),
  Softmax: (c, layer, [x], name) => c.em.softmax(x!, Number(layer.config.axis ?? -1), name),
  Activation: (c, layer, [x], name) => {
    const act = kerasActivation(layer.config.activation, layerName(layer));
    return act ? c.em.activation(x!, act, name) : c.em.identity(x!, name);
  },
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Average: (c, _l, xs, name) => {
    const s = c.em.sum(xs, `${name}/sum`);
    const n = xs.length;
    const k: TfValue = {
      name: `${name}/n`,
      dtype: 'float32',
      shape: [],
      konst: { dtype: 'float32', shape: [], data: Float32Array.of(1 / n) },
    };
    return c.em.binary('Mul', s, k, name);
  },
  Concatenate: (c, layer, xs, name) => c.em.concat(xs, Number(layer.config.axis ?? -1), name),
  MaxPooling2D: poolLayer('max'),
  AveragePooling2D: poolLayer('avg'),
  GlobalAveragePooling2D: globalPool('mean'),
  GlobalMaxPooling2D: globalPool('max'),
  ZeroPadding2D: zeroPadding,
  Cropping2D: cropping,
  Flatten: (c, _l, [x], name) => c.em.flatten(x!, name),
  Reshape: reshapeLayer,
  Dense: dense,
  Rescaling: rescaling,
  Dropout: identityLayer,
  SpatialDropout2D: identityLayer,
  GaussianNoise: identityLayer,
  GaussianDropout: identityLayer,
  AlphaDropout: identityLayer,
};
