import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { composeHead } from '../../surgery/compose.js';
import { attachHead } from '../../surgery/head.js';
import { parameterNames } from '../../surgery/params.js';
import { HEAD_INPUT, HEAD_OUTPUT } from '../pipeline-head.js';

/**
 * A fresh head over [N, dim] features (input HEAD_INPUT, output HEAD_OUTPUT), laid out exactly as
 * `trainHead` lays out its heads (`head.0.weight`, ...), so a probed head's values drop into it.
 */
export function createHead(dim: number, numClasses: number, opts: { hidden?: number[]; seed?: number } = {}): Model {
  const b = new GraphBuilder('head');
  b.input(HEAD_INPUT, 'float32', ['N', dim]);
  return attachHead(b.build(), HEAD_INPUT, {
    numClasses,
    hidden: opts.hidden ?? [],
    seed: opts.seed ?? 0,
    outputName: HEAD_OUTPUT,
  }).model;
}

export interface ComposedClassifier {
  /** backbone and head in one graph: image input to logits */
  model: Model;
  logits: string;
  /** the head's parameters (the same names as in the head model) */
  headParams: string[];
  /** the value the head reads: the backbone's pooled features */
  featureValue: string;
}

/** Grafts `head` onto the backbone's feature value, keeping the head's parameter names. */
export function composeClassifier(backbone: Model, featureValue: string, head: Model): ComposedClassifier {
  const headParams = parameterNames(head.graph);
  const clash = headParams.filter((p) => backbone.graph.allValueNames().has(p));
  if (clash.length) {
    throw new GraftError('BAD_MODEL', 'The backbone already has values named like the head parameters', {
      found: clash.join(', '),
      fix: 'rename the backbone initializers, or give the head another prefix',
    });
  }
  const model = composeHead(backbone, featureValue, head);
  return { model, logits: model.graph.outputs[0]!.name, headParams, featureValue };
}
