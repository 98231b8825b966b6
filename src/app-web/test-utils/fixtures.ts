// The backbone and images the browser tests train on: the fine-tuning tests' small residual CNN (blocks
// named like exported networks, 3x3 convolutions and batch norms, no kernel_shape attributes) as ONNX bytes
// with preprocessing metadata, and its four-texture task.
import type { Preprocessing } from '../../data/preprocessing.js';
import { encodeModel } from '../../onnx/codec.js';
import { textureImages, tinyCnn } from '../../transfer/finetune/test-utils.js';

export const TINY_SIZE = 16;
export const TINY_CLASSES = ['horizontal', 'vertical', 'checker', 'flat'];

export const TINY_PREPROCESSING: Preprocessing = {
  size: [TINY_SIZE, TINY_SIZE],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  layout: 'NCHW',
  channels: 3,
};

/** stem, two residual blocks, a 1x1 top conv, global pooling: features [N, 16]; ONNX bytes. */
export function tinyBackboneBytes(): Uint8Array {
  const { model } = tinyCnn({ size: TINY_SIZE, channels: 8, blocks: 2, seed: 3 });
  model.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  return encodeModel(model);
}

/** Preprocessed texture images ([N, 3, 16, 16] rows) and their labels. */
export function tinyImages(count: number, seed: number): { pixels: Float32Array; labels: Int32Array } {
  const { data, labels } = textureImages(count, TINY_SIZE, seed);
  return { pixels: data, labels };
}
