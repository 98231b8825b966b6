/**
 * A zoo entry: one typed description of a pretrained model — where its files come from, how to feed it,
 * where its features are and which nodes are its classifier. Browser-safe data only.
 */

export type ModelFormat = 'onnx' | 'tfjs-graph' | 'tfjs-layers' | 'embeddings';
export const MODEL_FORMATS: readonly ModelFormat[] = ['onnx', 'tfjs-graph', 'tfjs-layers', 'embeddings'];

export type ModelTask = 'image-classification' | 'image-feature-extraction' | 'sentence-embedding' | 'word-embedding';
export const MODEL_TASKS: readonly ModelTask[] = [
  'image-classification',
  'image-feature-extraction',
  'sentence-embedding',
  'word-embedding',
];

export type Layout = 'NCHW' | 'NHWC';

/** One place a model's main file can be fetched from. Entries list alternatives, tried in order. */
export interface ModelSource {
  /** a source string: path, https URL, hf:owner/repo/path[@rev] or npm:pkg@x.y.z/path (see sources/spec.ts) */
  uri: string;
  /** sha256 of the main file (hex); required for https URLs */
  sha256?: string;
  /** npm tarball integrity (SRI) pinned by the entry, checked on top of the registry's */
  integrity?: string;
  /** files beside the main one that belong to it (ONNX external data), as relative paths */
  companions?: string[];
}

/** How raw pixels become the model's input, applied in this order: resize, crop, scale, normalize. */
export interface ImagePreprocessing {
  /** multiply 0..255 pixel values by this (1/255 gives 0..1) */
  scale: number;
  /** per-channel mean subtracted after scaling (RGB order) */
  mean: [number, number, number];
  /** per-channel std divided by after the mean */
  std: [number, number, number];
  resize: {
    /** 'shortest-edge' keeps the aspect ratio; 'exact' stretches to [h, w] */
    mode: 'shortest-edge' | 'exact';
    size: number | [number, number];
    filter: 'bilinear' | 'bicubic' | 'nearest';
  };
  /** center crop to [h, w] after resizing; absent: no crop */
  crop?: [number, number];
  channels: 'RGB' | 'BGR';
}

export interface ImageInput {
  kind: 'image';
  /** name of the graph input, when known */
  name?: string;
  /** [height, width] the model was trained at */
  size: [number, number];
  channels: 3;
  /** layout of the source model's input */
  layout: Layout;
}

export interface TextInput {
  kind: 'text';
  /** graph input names (token ids, masks...) */
  names?: string[];
  tokenizer: 'sentencepiece-unigram' | 'wordpiece' | 'word-lookup';
  /** the file holding the tokenizer vocabulary, as a source string */
  vocabulary?: string;
  maxTokens?: number;
}

export type ModelInput = ImageInput | TextInput;

/** Class names: listed inline, or read from a file that comes with the model. */
export type LabelSource =
  | { kind: 'inline'; names: string[] }
  /** a JSON object {"0": "tench", ...} or array */
  | { kind: 'json'; uri: string }
  /** a Hugging Face config.json with id2label */
  | { kind: 'hf-config'; uri: string };

export interface ModelEntry {
  /** 'arch.tag', e.g. 'efficientnet_b0.imagenet' */
  name: string;
  description: string;
  /** SPDX id (or 'unknown'); the license of the weights as published */
  license: string;
  /** what the weights were trained on, honestly: retraining, quantization */
  trainedOn: string;
  task: ModelTask;
  format: ModelFormat;
  sources: ModelSource[];
  input: ModelInput;
  preprocessing?: ImagePreprocessing;
  /** the value holding the pooled features (the usual cut point for feature extraction) */
  featureValue?: string;
  /** length of the feature / embedding vector */
  embeddingSize?: number;
  /** nodes of the original classifier head, removed when a new head is grafted */
  classifierNodes?: string[];
  /** classes of the original head */
  numClasses?: number;
  labels?: LabelSource;
  /** options passed to the converter of TF.js formats */
  convert?: {
    inputSize?: [number, number];
    inputLayout?: Layout;
    /** a text model fed a sparse batch of token ids: its two placeholders, to be fed dense ids and a mask instead */
    sparseTokenInputs?: { indices: string; values: string; skipId?: number };
  };
  /** word-embedding entries: keep only the N most frequent words by default */
  maxWords?: number;
  /** facts a user should know before relying on the model */
  notes?: string[];
}
