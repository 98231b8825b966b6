import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { checkGraph } from '../onnx/check.js';
import type { Model } from '../onnx/graph.js';
import { mulberry32 } from '../util/rng.js';

export interface HeadSpec {
  numClasses: number;
  /** hidden layer sizes of an MLP head; [] or undefined: a single linear layer */
  hidden?: number[];
  /** dropout before each linear layer (0 = none) */
  dropout?: number;
  /** how to turn a [N,C,H,W] feature map into [N,C]; ignored for [N,C] features */
  pool?: 'avg' | 'max' | 'flatten';
  seed?: number;
  /** prefix of the new initializers and nodes */
  prefix?: string;
  /** name of the logits output; default 'logits' */
  outputName?: string;
}

export interface GraftedModel {
  model: Model;
  /** the value holding the head's input features ([N, featureDim]) */
  featureValue: string;
  logits: string;
  /** the new head's initializers, in layer order */
  headParams: string[];
  /** initializer holding Dropout's training_mode flag, when dropout is used; set it false for inference */
  trainingFlag?: string;
}

/**
 * Grafts a new head onto the value `at` (typically a backbone's pooled features): optional pooling and
 * flatten, then Gemm layers with ReLU between them, initialised like PyTorch's nn.Linear
 * (uniform in +-1/sqrt(fan_in)) from a seed. The graph's outputs become the logits only.
 */
export function attachHead(model: Model, at: string, spec: HeadSpec): GraftedModel {
  const out = model.clone();
  const g = out.graph;
  const info = g.info(at);
  if (!info?.shape) {
    throw new GraftError('SHAPE_MISMATCH', `Cannot attach a head at '${at}': its shape is unknown`, {
      value: at,
      fix: 'run shape inference on the backbone first, or cut at a value whose shape is declared',
    });
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 1) {
    throw new GraftError('CONFIG', 'A head needs a positive whole number of classes', {
      found: String(spec.numClasses),
    });
  }
  const b = new GraphBuilder(g);
  const prefix = spec.prefix ?? 'head';
  let x = at;
  let dim: number | undefined;
  if (info.shape.length === 4) {
    const pool = spec.pool ?? 'avg';
    if (pool === 'flatten') {
      const [, c, h, w] = info.shape;
      dim = [c, h, w].every((d) => typeof d === 'number') ? (c as number) * (h as number) * (w as number) : undefined;
    } else {
      x = b.op(pool === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x], undefined, { name: `${prefix}_pool` });
      dim = typeof info.shape[1] === 'number' ? info.shape[1] : undefined;
    }
    x = b.op('Flatten', [x], { axis: 1 }, { name: `${prefix}_flatten` });
  } else if (info.shape.length === 2) {
    dim = typeof info.shape[1] === 'number' ? info.shape[1] : undefined;
  } else if (info.shape.length === 3) {
    // [N, T, C] token features: mean over tokens
    x = b.op('ReduceMean', [x, b.ints([1], `${prefix}_axes`)], { keepdims: 0 }, { name: `${prefix}_tokenmean` });
    dim = typeof info.shape[2] === 'number' ? info.shape[2] : undefined;
  }
  if (dim === undefined) {
    throw new GraftError('SHAPE_MISMATCH', `Cannot attach a head at '${at}': its feature size is not static`, {
      value: at,
      expected: '[N, C], [N, T, C] or [N, C, H, W] with a known C (and H, W for flatten)',
      found: `[${info.shape.join(', ')}]`,
    });
  }
  const rng = mulberry32(spec.seed ?? 0);
  const sizes = [...(spec.hidden ?? []), spec.numClasses];
  const headParams: string[] = [];
  let trainingFlag: string | undefined;
  let fanIn = dim;
  sizes.forEach((units, layer) => {
    if (spec.dropout && spec.dropout > 0) {
      trainingFlag ??= b.initializer(`${prefix}.training_mode`, Uint8Array.of(1), [], 'bool');
      const ratio = b.scalar(spec.dropout, `${prefix}.dropout_ratio`);
      x = b.opN(
        'Dropout',
        [x, ratio, trainingFlag],
        { seed: (spec.seed ?? 0) + layer },
        { outputs: 2, name: `${prefix}_dropout${layer}` },
      )[0]!;
    }
    const bound = 1 / Math.sqrt(fanIn);
    const w = Float32Array.from({ length: units * fanIn }, () => (rng() * 2 - 1) * bound);
    const bias = Float32Array.from({ length: units }, () => (rng() * 2 - 1) * bound);
    const wName = b.initializer(`${prefix}.${layer}.weight`, w, [units, fanIn]);
    const bName = b.initializer(`${prefix}.${layer}.bias`, bias, [units]);
    headParams.push(wName, bName);
    const last = layer === sizes.length - 1;
    x = b.op(
      'Gemm',
      [x, wName, bName],
      { transB: 1 },
      { name: `${prefix}_fc${layer}`, outputs: last ? [g.uniqueName(spec.outputName ?? 'logits')] : 1 },
    );
    g.valueInfo.set(x, { name: x, dtype: 'float32', shape: [info.shape![0], units] });
    if (!last) x = b.op('Relu', [x], undefined, { name: `${prefix}_relu${layer}` });
    fanIn = units;
  });
  g.outputs = [{ name: x, dtype: 'float32', shape: [info.shape[0], spec.numClasses] }];
  g.cleanup();
  checkGraph(g);
  return { model: out, featureValue: at, logits: x, headParams, trainingFlag };
}
