// Hand-written training graphs (gradients written as ONNX ops by hand) and synthetic data, so the trainer
// is tested independently of the autodiff builder.
import { GraphBuilder } from '../../onnx/builder.js';
import { Rng, glorotUniform } from '../../util/rng.js';
import type { ArrayDataset, TrainerGraph } from '../types.js';

export interface Fixture {
  graph: TrainerGraph;
  params: Record<string, Float32Array>;
}

/** Softmax regression: logits = xW + b, mean cross-entropy; dlogits = (softmax - onehot) / N. */
export function softmaxRegression(inputs: number, classes: number, seed = 1): Fixture {
  const b = new GraphBuilder('softmax_regression');
  const x = b.input('x', 'float32', ['N', inputs]);
  const y = b.input('y', 'int64', ['N']);
  const w = b.input('W', 'float32', [inputs, classes]);
  const bias = b.input('b', 'float32', [classes]);
  const logits = b.op('Add', [b.op('MatMul', [x, w]), bias], undefined, { outputs: ['logits'] });
  const loss = b.op('SoftmaxCrossEntropyLoss', [logits, y], { reduction: 'mean' }, { outputs: ['loss'] });
  const p = b.op('Softmax', [logits], { axis: -1 });
  const onehot = b.op('OneHot', [y, b.ints([classes]), b.constant(Float32Array.of(0, 1), [2])], { axis: -1 });
  const n = b.op('Cast', [b.op('Gather', [b.op('Shape', [x]), b.ints([0])], { axis: 0 })], { to: 1 });
  const dlogits = b.op('Div', [b.op('Sub', [p, onehot]), n]);
  b.op('MatMul', [b.op('Transpose', [x], { perm: [1, 0] }), dlogits], undefined, { outputs: ['grad_W'] });
  b.op('ReduceSum', [dlogits, b.ints([0])], { keepdims: 0 }, { outputs: ['grad_b'] });
  b.output(loss, 'float32', []);
  b.output(logits, 'float32', ['N', classes]);
  b.output('grad_W', 'float32', [inputs, classes]);
  b.output('grad_b', 'float32', [classes]);
  const rng = new Rng(seed);
  return {
    graph: {
      model: b.build({ opset: 17 }),
      dataInputs: [x],
      labels: { name: y, dtype: 'int64', shape: ['N'] },
      params: [w, bias],
      gradOf: { W: 'grad_W', b: 'grad_b' },
      loss,
      logits,
    },
    params: { W: glorotUniform(rng, inputs, classes, inputs * classes), b: new Float32Array(classes) },
  };
}

/** Linear regression with float targets: pred = xW + b, loss = mean((pred - y)^2). */
export function linearRegression(inputs: number, seed = 1): Fixture {
  const b = new GraphBuilder('linear_regression');
  const x = b.input('x', 'float32', ['N', inputs]);
  const y = b.input('y', 'float32', ['N', 1]);
  const w = b.input('W', 'float32', [inputs, 1]);
  const bias = b.input('b', 'float32', [1]);
  const pred = b.op('Add', [b.op('MatMul', [x, w]), bias], undefined, { outputs: ['pred'] });
  const diff = b.op('Sub', [pred, y]);
  const loss = b.op('ReduceMean', [b.op('Mul', [diff, diff])], { keepdims: 0 }, { outputs: ['loss'] });
  const n = b.op('Cast', [b.op('Gather', [b.op('Shape', [x]), b.ints([0])], { axis: 0 })], { to: 1 });
  const dpred = b.op('Div', [b.op('Mul', [diff, b.scalar(2)]), n]);
  b.op('MatMul', [b.op('Transpose', [x], { perm: [1, 0] }), dpred], undefined, { outputs: ['grad_W'] });
  b.op('ReduceSum', [dpred, b.ints([0])], { keepdims: 0 }, { outputs: ['grad_b'] });
  b.output(loss, 'float32', []);
  b.output(pred, 'float32', ['N', 1]);
  b.output('grad_W', 'float32', [inputs, 1]);
  b.output('grad_b', 'float32', [1]);
  const rng = new Rng(seed);
  return {
    graph: {
      model: b.build({ opset: 17 }),
      dataInputs: [x],
      labels: { name: y, dtype: 'float32', shape: ['N', 1] },
      params: [w, bias],
      gradOf: { W: 'grad_W', b: 'grad_b' },
      loss,
      logits: pred,
    },
    params: { W: glorotUniform(rng, inputs, 1, inputs), b: new Float32Array(1) },
  };
}

/**
 * Gaussian blobs: `classes` centres on a circle of radius `spread` in the first two dimensions (the rest
 * is noise), unit-variance samples around them. Separable when spread is large against the noise.
 */
export function blobs(rng: Rng, count: number, dims: number, classes: number, spread = 4, noise = 1): ArrayDataset {
  const features = new Float32Array(count * dims);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = rng.int(classes);
    labels[i] = c;
    const angle = (2 * Math.PI * c) / classes;
    for (let d = 0; d < dims; d++) {
      const centre = d === 0 ? spread * Math.cos(angle) : d === 1 ? spread * Math.sin(angle) : 0;
      features[i * dims + d] = centre + noise * rng.normal();
    }
  }
  return { features, labels };
}

/** y = x·w + 0.5 + small noise, for the regression fixture. */
export function linearData(rng: Rng, count: number, dims: number): ArrayDataset {
  const w = Array.from({ length: dims }, (_, i) => (i % 2 ? -1 : 1) * (1 + i / dims));
  const features = new Float32Array(count * dims);
  const labels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0.5;
    for (let d = 0; d < dims; d++) {
      const v = rng.normal();
      features[i * dims + d] = v;
      s += v * w[d]!;
    }
    labels[i] = s + 0.01 * rng.normal();
  }
  return { features, labels };
}
