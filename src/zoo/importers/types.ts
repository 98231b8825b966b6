/**
 * The subset of the TF.js model.json format the importers read. Field names follow TF.js's own
 * (`modelTopology`, `weightsManifest`), so a parsed model.json can be passed as is.
 */

/**
 * Reads a file named relative to model.json (e.g. 'group1-shard1of6.bin'). The zoo's sources supply it
 * from a cache, a tarball or the browser; the importers never touch a file system themselves.
 */
export type ReadFile = (path: string) => Promise<Uint8Array>;

export interface WeightQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  quantization?: WeightQuantization;
  group?: string;
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: unknown;
  weightsManifest?: WeightsGroup[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Where the importers' options meet: what the caller wants the ONNX graph to look like. */
export interface TfjsImportOptions {
  /**
   * Layout of the ONNX model's image input. 'NCHW' (default): the input is [N,3,H,W] and the whole graph
   * runs channels-first. 'NHWC': the input keeps TF.js's [N,H,W,3] and a leading Transpose feeds the
   * channels-first graph.
   */
  inputLayout?: 'NCHW' | 'NHWC';
  /**
   * Static spatial size [H, W] of image inputs whose size the model leaves open (EfficientNet's
   * placeholder is [-1,-1,-1,3]). With it, TF 'SAME' padding becomes exact explicit pads; without it the
   * importer falls back to auto_pad SAME_UPPER and symbolic H/W.
   */
  inputSize?: readonly [number, number];
  /**
   * Values to expose as graph outputs instead of the model's own: TF node names ('name' or 'name:1') for
   * graph models, layer names for layers models. Only what they need is imported (a cut at import time).
   */
  outputs?: readonly string[];
  /** ONNX graph name; default: the model's own name or 'tfjs_model' */
  graphName?: string;
  /** default-domain opset of the output model (13..21); default 17 */
  opset?: number;
  /**
   * A text model that takes a sparse batch of token ids (the two parts of a TF SparseTensor) gets dense
   * inputs instead: `input_ids` and `attention_mask`, both int64 [batch, tokens], the form every other
   * text encoder takes. The sparse parts are computed from them inside the graph.
   */
  sparseTokenInputs?: SparseTokenInputs;
}

export interface SparseTokenInputs {
  /** the placeholder of [count, 2] (sentence, position) coordinates */
  indices: string;
  /** the placeholder of the [count] token ids */
  values: string;
  /**
   * a token id the model treats as absent (USE lite's own mask is `ids > 0`, so id 0 cannot be a token):
   * positions holding it are left out of the sparse batch as padding is, keeping the positions of the rest
   */
  skipId?: number;
}

/** Names of the dense inputs that replace a sparse token batch. */
export const DENSE_TOKEN_INPUTS = { ids: 'input_ids', mask: 'attention_mask' } as const;

/** A decoded weight or constant: TF.js dtypes, TF (row-major, channels-last) layout. */
export interface HostArray {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
