// k-fold cross-validation of a fine-tune on the freeze-boundary cache: every fold runs the strategy's phases
// on the other folds' cached activations and scores its held-out fold twice, with the model its probe phase
// ended with and with its final model. `auto` decides between the two from these out-of-fold logits when
// the validation split is too small to decide on, and calibrates from them.
import { applyTrainedParams } from '../../autodiff/build.js';
import type { Model } from '../../onnx/graph.js';
import { foldCount, stratifiedFolds } from '../cross-validate.js';
import { forwardAll } from './forward.js';
import { type FineTuneOptions, type LabelledSamples, fineTune } from './run.js';
import { upperGraph } from './split.js';

export interface FineTuneOutOfFold {
  /** per candidate, logits of every pooled example ([n, classes]) from the fold model that did not see it */
  logits: { probe?: Float32Array; final: Float32Array };
  /** the pooled examples' labels: training rows first, then validation rows */
  labels: Int32Array;
  folds: number;
  seconds: number;
}

/** Rows of cached activations, in the given order. */
export function sampleRows(s: LabelledSamples, rows: readonly number[]): LabelledSamples {
  const per = s.sampleDims.reduce((a, d) => a * d, 1);
  const data = new Float32Array(rows.length * per);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    data.set(s.data.subarray(r * per, (r + 1) * per), i * per);
    labels[i] = s.labels[r]!;
  });
  return { data, sampleDims: s.sampleDims, labels };
}

/** Training then validation activations as one pool. */
export function poolSamples(train: LabelledSamples, val?: LabelledSamples): LabelledSamples {
  if (!val) return train;
  const data = new Float32Array(train.data.length + val.data.length);
  data.set(train.data);
  data.set(val.data, train.data.length);
  const labels = new Int32Array(train.labels.length + val.labels.length);
  labels.set(train.labels);
  labels.set(val.labels, train.labels.length);
  return { data, sampleDims: train.sampleDims, labels };
}

/**
 * Runs `opts.phases` on each fold's training part of the pooled (train + val) cached activations and returns
 * the out-of-fold logits of the probe and of the final model. Folds have no validation split: a probe
 * phase trains there to `opts.probeStopAfter` (the epoch the full run's probe kept), else keeps its last
 * epoch; augmentation is off in the folds (they train on the cached, un-augmented
 * activations). Costs `folds` fine-tunes on (k-1)/k of the data: `auto` calls it only when the data are small.
 */
export async function crossValidateFineTune(
  opts: FineTuneOptions,
  o: { folds?: number; seed?: number; onFold?: (fold: number, folds: number) => void } = {},
): Promise<FineTuneOutOfFold> {
  const started = performance.now();
  const pool = poolSamples(opts.data.train, opts.data.val);
  const k = foldCount(pool.labels, o.folds);
  const fold = stratifiedFolds(pool.labels, k, o.seed ?? opts.seed ?? 0);
  const n = pool.labels.length;
  const classes = opts.numClasses;
  const at = opts.data.at;
  const above = (m: Model) => (m.graph.dataInputs.some((i) => i.name === at) ? m : upperGraph(m, at));
  const scores = async (m: Model, held: LabelledSamples) =>
    (await forwardAll(above(m), held, { outputs: [opts.logits], session: opts.session }))[opts.logits]!.data;
  const final = new Float32Array(n * classes);
  let probe: Float32Array | undefined;
  for (let f = 0; f < k; f++) {
    o.onFold?.(f + 1, k);
    const inFold: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? inFold : rest).push(i);
    const held = sampleRows(pool, inFold);
    const res = await fineTune({
      ...opts,
      data: { at, train: sampleRows(pool, rest) },
      resumeFrom: undefined,
      onProgress: undefined,
      onPhase: undefined,
      onEpoch: undefined,
    });
    const put = (into: Float32Array, out: Float32Array) =>
      inFold.forEach((r, i) => into.set(out.subarray(i * classes, (i + 1) * classes), r * classes));
    put(final, await scores(res.model, held));
    if (res.probeValues) {
      probe ??= new Float32Array(n * classes);
      put(probe, await scores(applyTrainedParams(opts.model, res.probeValues), held));
    }
  }
  return {
    logits: { ...(probe ? { probe } : {}), final },
    labels: pool.labels,
    folds: k,
    seconds: (performance.now() - started) / 1000,
  };
}
