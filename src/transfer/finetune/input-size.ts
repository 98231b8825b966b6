import { GraftError } from '../../errors.js';
import { checkGraph } from '../../onnx/check.js';
import type { Model } from '../../onnx/graph.js';
import { inferShapes } from '../../onnx/shapes.js';

/**
 * The same network taking images of another size: the input's spatial dims change and every shape is
 * inferred again. Convolutional backbones that pool globally accept any size; one that bakes a size into
 * a reshape fails shape inference here, with the node named. Small images (28x28 Fashion-MNIST) gain
 * nothing from being upscaled to 224 and cost (224/96)^2 = 5.4x more at 96.
 */
export function withInputSize(model: Model, size: readonly [number, number]): Model {
  const [h, w] = size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 8 || w < 8) {
    throw new GraftError('BAD_INPUT', 'The input size must be two whole numbers of at least 8', {
      found: `${h}x${w}`,
      fix: 'use e.g. --input-size 96 or 128',
    });
  }
  const out = model.clone();
  const g = out.graph;
  const inputs = g.dataInputs;
  const x = inputs[0];
  const shape = x?.shape;
  if (inputs.length !== 1 || !shape || shape.length !== 4) {
    throw new GraftError('BAD_MODEL', 'Only a model with one image input can change its input size', {
      expected: 'one input of shape [N, 3, H, W] or [N, H, W, 3]',
      found: inputs.map((i) => `${i.name} [${(i.shape ?? []).join(', ')}]`).join('; '),
    });
  }
  const nchw = shape[1] === 3 || shape[1] === 1;
  const next = nchw ? [shape[0], shape[1], h, w] : [shape[0], h, w, shape[3]];
  if (next.every((d, i) => d === shape[i])) return out;
  x.shape = next;
  g.valueInfo.clear();
  // Every output is inferred again: spatial outputs change size, and so does a flattened feature map; a
  // globally pooled [N, C] output comes out as declared. One inference cannot reach keeps its declared shape.
  const declared = g.outputs.map((o) => o.shape);
  for (const o of g.outputs) o.shape = undefined;
  try {
    inferShapes(out, { reset: true });
    g.outputs.forEach((o, i) => {
      if (o.shape === undefined && declared[i] && declared[i].length <= 2) o.shape = declared[i];
    });
  } catch (e) {
    throw new GraftError('BAD_MODEL', `This model cannot take ${h}x${w} images`, {
      expected: 'a network whose shapes follow its input size (convolutions, global pooling)',
      found: (e as Error).message.split('\n')[0],
      fix: 'use the size the model was exported with',
      cause: e,
    });
  }
  checkGraph(g);
  return out;
}
