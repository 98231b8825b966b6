import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { emitL2Normalize, l2NormalizeRows } from './normalize.js';

/** Features of labelled examples: row-major [count, dim] with one class index per row. */
export interface FeatureSet {
  features: Float32Array;
  dim: number;
  labels: Int32Array;
  numClasses: number;
}

export function checkFeatureSet(f: FeatureSet): number {
  const count = f.labels.length;
  if (f.features.length !== count * f.dim) {
    throw new GraftError('SHAPE_MISMATCH', 'Feature matrix and labels disagree on the number of examples', {
      expected: `${count} x ${f.dim} = ${count * f.dim} values`,
      found: `${f.features.length} values`,
    });
  }
  for (const l of f.labels) {
    if (l < 0 || l >= f.numClasses) {
      throw new GraftError('BAD_INPUT', `Label ${l} is outside 0..${f.numClasses - 1}`, { fix: 'check the label map' });
    }
  }
  return count;
}

/** Unit-length class means of unit-length features (nearest class mean in cosine geometry). */
export function classPrototypes(f: FeatureSet): Float32Array {
  const count = checkFeatureSet(f);
  const x = l2NormalizeRows(f.features, f.dim);
  const sums = new Float64Array(f.numClasses * f.dim);
  const counts = new Int32Array(f.numClasses);
  for (let i = 0; i < count; i++) {
    const c = f.labels[i]!;
    counts[c]!++;
    for (let j = 0; j < f.dim; j++) sums[c * f.dim + j]! += x[i * f.dim + j]!;
  }
  const empty = [...counts.keys()].filter((c) => counts[c] === 0);
  if (empty.length) {
    throw new GraftError('BAD_INPUT', `Classes without examples cannot have a prototype: ${empty.join(', ')}`, {
      fix: 'add examples for every class or drop the empty classes',
    });
  }
  return l2NormalizeRows(Float32Array.from(sums), f.dim);
}

/**
 * Nearest-class-mean head as an ONNX graph: logits = scale * cos(x, prototype_c). The scale turns cosine
 * similarities in [-1, 1] into logits whose softmax is a usable probability (temperature scaling refines it).
 */
export function prototypeHead(
  f: FeatureSet,
  opts: { scale?: number; inputName?: string; outputName?: string } = {},
): Model {
  const protos = classPrototypes(f);
  const b = new GraphBuilder('prototype_head');
  const x = b.input(opts.inputName ?? 'features', 'float32', ['N', f.dim]);
  const xn = emitL2Normalize(b, x, 'proto');
  // stored transposed [dim, classes] so the head is one MatMul
  const t = new Float32Array(f.dim * f.numClasses);
  for (let c = 0; c < f.numClasses; c++)
    for (let j = 0; j < f.dim; j++) t[j * f.numClasses + c] = protos[c * f.dim + j]!;
  const sims = b.op('MatMul', [xn, b.initializer('proto.prototypes_t', t, [f.dim, f.numClasses])]);
  const logits = b.op('Mul', [sims, b.scalar(opts.scale ?? 10, 'proto.scale')], undefined, {
    outputs: [opts.outputName ?? 'logits'],
  });
  b.output(logits, 'float32', ['N', f.numClasses]);
  return b.build();
}
