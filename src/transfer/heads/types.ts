import type { Model } from '../../onnx/graph.js';
import type { FeatureSet } from '../prototype.js';

/** Hyper-parameters a gradient-trained head starts from when the user gives none. */
export interface HeadTrainingDefaults {
  epochs: number;
  lr: number;
  batchSize: number;
  weightDecay: number;
  /** dropout before each layer (0: the head has no Dropout) */
  dropout: number;
}

/** A head trained by autodiff: layers of Gemm (+ ReLU, Dropout) over the features; it can sit on a fine-tuned backbone. */
export interface GradientFit<C> {
  kind: 'gradient';
  /** hidden layer sizes ([] for a linear layer) */
  hidden(choice: C): number[];
  defaults: HeadTrainingDefaults;
}

/** A head built from the training vectors in closed form (no epochs); it cannot train below itself. */
export interface ClosedFormFit<C> {
  kind: 'closed-form';
  build(set: FeatureSet, choice: C, io: { inputName: string; outputName: string }): Model;
  /** what run.json records of it */
  config(choice: C, set: FeatureSet): Record<string, number>;
}

/**
 * One kind of head, as `--head` names it. Adding a head kind = a file exporting one of these and a line in
 * heads/index.ts; parsing, formatting, help, validation and training read it from there.
 */
export interface HeadKind<C extends { kind: string }> {
  name: C['kind'];
  /** other names `--head` accepts for it */
  aliases?: readonly string[];
  /** how users write it, for help and errors: 'mlp:256[,128]' */
  syntax: readonly string[];
  summary: string;
  /** the part after the colon (undefined when absent); `bad` throws the parse error */
  parse(arg: string | undefined, bad: (why: string) => never): C;
  format(choice: C): string;
  fit: GradientFit<C> | ClosedFormFit<C>;
}

/** Positive whole numbers separated by commas, as `mlp:512,128` and `knn:5` write them. */
export function positiveInts(text: string, what: string, bad: (why: string) => never): number[] {
  return text.split(',').map((p) => {
    const n = Number(p.trim());
    if (!Number.isInteger(n) || n < 1) bad(`${what} must be positive whole numbers, found '${p}'`);
    return n;
  });
}
