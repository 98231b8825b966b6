// A tiny model that looks like a classifier `graft train` wrote (metadata graft.labels and
// graft.preprocessing, input pixel_values [N, 3, 8, 8], output logits), for tests of predict and export.
import { dirname, join } from 'node:path';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { saveOnnxFile } from '../onnx-file.js';

export const TINY_CLASSIFIER_LABELS = ['cat', 'dog'];

export function tinyClassifier(): Model {
  const b = new GraphBuilder('tiny_classifier');
  const x = b.input('pixel_values', 'float32', ['N', 3, 8, 8]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 });
  const w = b.initializer(
    'head.w',
    Float32Array.from({ length: 6 }, (_, i) => (i % 2 ? 0.5 : -0.5) * (i + 1)),
    [3, 2],
  );
  b.output(b.op('MatMul', [pooled, w], {}, { outputs: ['logits'] }), 'float32', ['N', 2]);
  const m = b.build();
  m.metadata.set('graft.labels', JSON.stringify(TINY_CLASSIFIER_LABELS));
  m.metadata.set(
    'graft.preprocessing',
    JSON.stringify({
      size: [8, 8],
      resize: 'squash',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      layout: 'NCHW',
      channels: 3,
    }),
  );
  return m;
}

/** Writes the classifier at `path` with its weights in `dataFile` beside it; returns the data file's path. */
export function writeTinyClassifierWithExternalData(path: string, dataFile = 'weights.bin'): string {
  saveOnnxFile(path, tinyClassifier(), { externalDataThreshold: 0, externalDataFile: dataFile });
  return join(dirname(path), dataFile);
}
