import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { emitL2Normalize, l2NormalizeRows } from './normalize.js';
import { checkFeatureSet, type FeatureSet } from './prototype.js';

/**
 * Cosine k-nearest-neighbours head as an ONNX graph: the stored examples are a [M, dim] initializer;
 * TopK picks the k most similar, their one-hot labels are summed (weighted by similarity when
 * `weighted`), and the output is log of the vote share so softmax(logits) = vote share.
 */
export function knnHead(
  f: FeatureSet,
  opts: { k?: number; weighted?: boolean; inputName?: string; outputName?: string } = {},
): Model {
  const count = checkFeatureSet(f);
  const k = Math.min(opts.k ?? 5, count);
  if (k < 1) throw new GraftError('BAD_INPUT', 'kNN needs at least one stored example');
  const b = new GraphBuilder('knn_head');
  const x = b.input(opts.inputName ?? 'features', 'float32', ['N', f.dim]);
  const xn = emitL2Normalize(b, x, 'knn');
  const memT = new Float32Array(f.dim * count);
  const mem = l2NormalizeRows(f.features, f.dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < f.dim; j++) memT[j * count + i] = mem[i * f.dim + j]!;
  const sims = b.op('MatMul', [xn, b.initializer('knn.memory_t', memT, [f.dim, count])]);
  const [values, indices] = b.opN(
    'TopK',
    [sims, b.ints([k], 'knn.k')],
    { axis: 1, largest: 1, sorted: 1 },
    { outputs: 2 },
  );
  const oneHot = new Float32Array(count * f.numClasses);
  for (let i = 0; i < count; i++) oneHot[i * f.numClasses + f.labels[i]!] = 1;
  const votes = b.op('Gather', [b.initializer('knn.labels_onehot', oneHot, [count, f.numClasses]), indices!], {
    axis: 0,
  }); // [N,k,C]
  let weights = b.op('Unsqueeze', [values!, b.ints([2], 'knn.axis2')]); // [N,k,1]
  if (!opts.weighted) weights = b.op('Add', [b.op('Mul', [weights, b.scalar(0, 'knn.zero')]), b.scalar(1, 'knn.one')]);
  else weights = b.op('Relu', [weights]);
  const weighted = b.op('Mul', [votes, weights]);
  const tally = b.op('ReduceSum', [weighted, b.ints([1], 'knn.axis1')], { keepdims: 0 }); // [N,C]
  const total = b.op('ReduceSum', [tally, b.ints([1], 'knn.axis1b')], { keepdims: 1 });
  const share = b.op('Div', [tally, b.op('Add', [total, b.scalar(1e-12, 'knn.eps')])]);
  const logits = b.op('Log', [b.op('Add', [share, b.scalar(1e-6, 'knn.floor')])], undefined, {
    outputs: [opts.outputName ?? 'logits'],
  });
  b.output(logits, 'float32', ['N', f.numClasses]);
  return b.build();
}
