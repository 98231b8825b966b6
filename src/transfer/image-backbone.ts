// What makes a loaded ONNX network an image backbone: its one image input (layout and fixed size), the value
// its features are read at, and those features pooled to one vector per image. Shared by the Node recipes
// (app/backbone.ts, which adds the zoo's downloads and the feature cache) and the browser recipe (app-web),
// which gets its model as bytes; nothing here touches files.
import { GraftError } from '../errors.js';
import type { Layout } from '../data/preprocessing.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { inferShapes } from '../onnx/shapes.js';
import { inspectModel } from '../zoo/inspect.js';

/** The single image input of a backbone. */
export interface ImageInput {
  name: string;
  layout: Layout;
  /** [height, width], fixed in the model */
  size: [number, number];
}

/** The model's one data input as an image input: [N, 3, H, W] or [N, H, W, 3] with a fixed H and W. */
export function imageInputOf(model: Model, file?: string): ImageInput {
  const inputs = model.graph.dataInputs;
  if (inputs.length !== 1) {
    throw new GraftError('BAD_MODEL', 'An image backbone must have exactly one data input', {
      file,
      found: inputs.map((i) => i.name).join(', ') || 'none',
      fix: 'export the model with a single image input',
    });
  }
  const input = inputs[0]!;
  const shape = input.shape;
  const layout = shape?.[1] === 3 ? 'NCHW' : shape?.[3] === 3 ? 'NHWC' : undefined;
  const hw = layout === 'NCHW' ? shape!.slice(2, 4) : layout === 'NHWC' ? shape!.slice(1, 3) : undefined;
  if (!layout || !hw || typeof hw[0] !== 'number' || typeof hw[1] !== 'number') {
    throw new GraftError('BAD_MODEL', 'Cannot tell the image size the backbone takes', {
      file,
      value: input.name,
      expected: 'an input of shape [N, 3, H, W] or [N, H, W, 3] with a fixed H and W',
      found: `[${(shape ?? []).map((d) => d ?? '?').join(', ')}]`,
      fix: 'export the model with a fixed input size',
    });
  }
  return { name: input.name, layout, size: [hw[0], hw[1]] };
}

/** A model whose single output is already [N, dim] is a feature extractor; else the classifier's input. */
export function detectFeatureValue(model: Model, file?: string): string {
  const out = model.graph.outputs;
  const report = inspectModel(model);
  // a classifier ends in [N, classes] too: a detected head with weights means the features are before it
  if (report.classifier && report.classifier.parameters > 0) return report.classifier.featureValue;
  if (out.length === 1 && out[0]!.shape?.length === 2) return out[0]!.name;
  const found = report.classifier?.featureValue ?? report.cutPoints[0]?.value;
  if (!found) {
    throw new GraftError('BAD_MODEL', 'Cannot find where the features of this model are', {
      file,
      fix: 'name the value with --cut (`graft inspect MODEL` lists cut points)',
    });
  }
  return found;
}

export interface PooledFeatures {
  model: Model;
  /** the pooled [N, dim] value (the value cut at when it already was one) */
  output: string;
  dim: number;
  /** how spatial or token features were reduced: 'none', 'spatial-mean' or 'token-mean' */
  pooling: string;
}

/**
 * [N, C, H, W] maps are averaged over space and [N, T, C] tokens over T, so every backbone yields one
 * vector per image. `model` is changed in place (a cut model whose only output is `value`).
 */
export function poolFeatures(model: Model, value: string, file?: string): PooledFeatures {
  let info = model.graph.info(value);
  if (!info?.shape) {
    inferShapes(model);
    info = model.graph.info(value);
  }
  const s = info?.shape;
  const fail = (): never => {
    throw new GraftError('SHAPE_MISMATCH', `The features at '${value}' do not have a usable shape`, {
      file,
      value,
      expected: '[N, dim], [N, C, H, W] or [N, T, dim] with a fixed feature size',
      found: s ? `[${s.map((d) => d ?? '?').join(', ')}]` : 'an unknown shape',
      fix: 'cut at the pooled features (`graft inspect MODEL` lists cut points)',
    });
  };
  if (!s) return fail();
  if (s.length === 2) {
    if (typeof s[1] !== 'number') return fail();
    return { model, output: value, dim: s[1], pooling: 'none' };
  }
  const b = new GraphBuilder(model.graph);
  let out: string;
  let dim: number | string | undefined;
  if (s.length === 4) {
    dim = s[1];
    const pooled = b.op('GlobalAveragePool', [value], undefined, { name: 'features_pool' });
    out = b.op(
      'Flatten',
      [pooled],
      { axis: 1 },
      { name: 'features_flatten', outputs: [b.graph.uniqueName('pooled_features')] },
    );
  } else if (s.length === 3) {
    dim = s[2];
    out = b.op(
      'ReduceMean',
      [value, b.ints([1], 'features_axes')],
      { keepdims: 0 },
      {
        name: 'features_tokenmean',
        outputs: [b.graph.uniqueName('pooled_features')],
      },
    );
  } else return fail();
  if (typeof dim !== 'number') return fail();
  model.graph.valueInfo.set(out, { name: out, dtype: 'float32', shape: [s[0], dim] });
  model.graph.outputs = [{ name: out, dtype: 'float32', shape: [s[0], dim] }];
  model.graph.touch().cleanup();
  return { model, output: out, dim, pooling: s.length === 4 ? 'spatial-mean' : 'token-mean' };
}
