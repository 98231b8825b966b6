import { GraftError } from '../../errors.js';
import { checkGraph } from '../../onnx/check.js';
import type { Model, ValueInfo } from '../../onnx/graph.js';
import { inferShapes } from '../../onnx/shapes.js';

/**
 * The part of a model above the value `at`: `at` becomes its only data input, and everything computed
 * only to produce `at` is dropped. With `at` the input of the first trainable block, this is the graph
 * trained on cached activations. Fails when a node above `at` reads a value computed below it other than
 * `at` itself (a skip connection across the split), which would make the split lossy.
 */
export function upperGraph(model: Model, at: string): Model {
  const out = model.clone();
  const g = out.graph;
  if (g.isGraphInput(at) && !g.initializers.has(at)) return out;
  const producer = g.producer(at);
  if (!producer) {
    throw new GraftError('NOT_FOUND', `Cannot split the model at '${at}': no node produces it`, {
      value: at,
      fix: 'split at a block boundary (the freeze report lists them)',
    });
  }
  let info: ValueInfo | undefined = g.info(at);
  if (!info?.shape) {
    inferShapes(out);
    info = g.info(at);
  }
  g.toposort();
  // descendants of `at`: what the upper graph must compute
  const above = new Set<string>([at]);
  const keep = new Set<number>();
  g.nodes.forEach((n, i) => {
    if (n.inputs.some((v) => above.has(v))) {
      keep.add(i);
      for (const o of n.outputs) if (o) above.add(o);
    }
  });
  const constants = new Set<string>(g.initializers.keys());
  // Constant nodes and shape computations on constants that the upper graph reads are copied along.
  g.nodes.forEach((n, i) => {
    if (!keep.has(i) && n.inputs.every((v) => !v || constants.has(v)) && n.opType !== 'RandomNormal') {
      for (const o of n.outputs) if (o) constants.add(o);
    }
  });
  const needed = new Set<number>(keep);
  g.nodes.forEach((n, i) => {
    if (keep.has(i) || !n.outputs.some((o) => constants.has(o))) return;
    needed.add(i);
  });
  for (const i of keep) {
    const n = g.nodes[i]!;
    const stray = n.inputs.find((v) => v && !above.has(v) && !constants.has(v));
    if (stray !== undefined) {
      throw new GraftError('BAD_GRAPH', `Cannot split the model at '${at}': a later node also reads '${stray}'`, {
        value: at,
        node: n.label,
        expected: 'a value through which all data flows (a block boundary)',
        found: `'${stray}' is computed below the split and read above it`,
        fix: 'unfreeze from a block boundary instead (the freeze report lists them)',
      });
    }
  }
  g.nodes = g.nodes.filter((_, i) => needed.has(i));
  g.inputs = [{ ...info, name: at, dtype: info?.dtype ?? 'float32' }];
  g.touch().cleanup();
  checkGraph(g);
  return out;
}
