import type { HostTensor } from '../runtime/session.js';

/**
 * How accuracy is read from logits and labels:
 *  - 'argmax': class indices (or one-hot/soft float targets of the same size) vs the arg-max logit
 *  - 'binary': one logit per sample, positive means class 1
 *  - 'none': regression targets, no accuracy
 */
export type AccuracyMode = 'argmax' | 'binary' | 'none';

/** Picks the accuracy mode from the label type and the logits' per-sample size. */
export function accuracyModeFor(
  labelDtype: string,
  labelSampleSize: number,
  numOutputs: number | undefined,
): AccuracyMode {
  const intLabels = labelDtype !== 'float32';
  if (intLabels) return numOutputs === 1 ? 'binary' : 'argmax';
  if (numOutputs !== undefined && numOutputs > 1 && labelSampleSize === numOutputs) return 'argmax';
  return 'none';
}

/** Number of correctly classified samples in a batch. */
export function countCorrect(logits: HostTensor, labels: HostTensor, mode: AccuracyMode): number {
  if (mode === 'none') return 0;
  const n = labels.dims[0] ?? 0;
  const k = n === 0 ? 0 : logits.data.length / n;
  const z = logits.data as Float32Array;
  const intLabels = labels.dtype !== 'float32';
  let correct = 0;
  for (let i = 0; i < n; i++) {
    if (mode === 'binary') {
      const predicted = z[i]! > 0 ? 1 : 0;
      const truth = intLabels ? Number(labels.data[i]) : (labels.data[i] as number) > 0.5 ? 1 : 0;
      if (predicted === truth) correct++;
      continue;
    }
    const predicted = argmax(z, i * k, k);
    const truth = intLabels ? Number(labels.data[i]) : argmax(labels.data as Float32Array, i * k, k);
    if (predicted === truth) correct++;
  }
  return correct;
}

function argmax(a: Float32Array, at: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[at + j]! > a[at + best]!) best = j;
  return best;
}
