import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { shapeOf } from '../formats/json.js';
import { Emitter, type TfValue } from './emitter.js';
import { checkOpset } from './graph-model.js';
import { NCHW } from './layout.js';
import type { HostArray, ReadFile, TfjsImportOptions, TfjsModelJson } from './types.js';
import { loadWeights } from './weights.js';
import { LAYERS, layerName } from './layer-converters.js';
import * as math from './ops-math.js';

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
      found: topo ? `a modelTopology that is ${shapeOf(topo)}` : 'no modelTopology',
      fix: 'for graph models use importTfjsGraphModel (or importTfjsModel, which detects the format)',
    });
  }
  return topo as unknown as ModelConfig;
}

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

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
      return outs.length === 1 && outs[0]!.name !== name ? math.identity(this.em, outs[0]!, name) : outs[0]!;
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
