// How `auto` chooses between the probe and the fine-tuned model: on held-out predictions of both, the one
// that gets more examples right, and on a tie the one with the lower log loss; or, with a preferred candidate,
// that one unless another gets significantly more right.
import { argmaxRows, logLoss, softmax } from '../../eval/index.js';

/**
 * Held-out examples `auto` wants before it decides on the validation split alone; with fewer it decides by
 * k-fold cross-validation on all labelled examples. Why 300: the two candidates disagree on roughly q = 10%
 * of the examples (measured on Fashion-MNIST and the glyphs at 10-100 images per class), so the standard
 * error of their measured accuracy difference on n examples is about sqrt(q / n). A decision on noise costs
 * most when the true gap is about one standard error (picked wrong ~16% of the time), an expected loss of
 * ~0.16 sqrt(q / n): 0.3 points at n = 300, 0.5 points at n = 100. Cross-validation scores every labelled
 * example instead of a tenth of them.
 */
export const AUTO_MIN_HELD_OUT = 300;

export interface CandidateScore {
  name: string;
  /** fraction right on the held-out examples */
  accuracy: number;
  /** mean log loss on them (uncalibrated) */
  logLoss: number;
}

export interface Selection {
  /** the name of the candidate kept */
  kept: string;
  method: 'validation' | 'cross-validation';
  /** held-out predictions each candidate was judged on */
  examples: number;
  /** cross-validation: the folds */
  folds?: number;
  scores: CandidateScore[];
  /** one sentence: which was kept and why */
  reason: string;
}

/**
 * Picks the candidate with the higher held-out accuracy, and on equal accuracy the lower log loss (the
 * first listed when both tie). Candidates' logits are row-major [n, classes] for the same examples.
 *
 * With `prefer`, that candidate is kept unless another gets more examples right by more than two standard
 * errors of the paired difference: with b examples only the other gets right and c only the preferred one,
 * the other must have b - c > 2 sqrt(b + c) (McNemar's z above 2, the usual bar of significance). `auto`
 * prefers the fine-tune, which is built not to fall below the probe: on Fashion-MNIST at 10 and 25 images per
 * class it is above the probe on the test set, while 5-fold cross-validation on 100 or 250 images, where the
 * two differ by a few examples, picked the probe in five of six runs; at one standard error it still did in
 * two of them (docs/benchmarks.md, issue 13).
 */
export function selectCandidate(
  candidates: readonly { name: string; logits: Float32Array }[],
  labels: Int32Array,
  numClasses: number,
  how: { method: Selection['method']; folds?: number; prefer?: string },
): Selection {
  // per candidate: which examples it gets right (its top class, first on ties, is the label) and its log loss
  const judged = candidates.map((c) => {
    const probs = softmax({ data: c.logits, numClasses });
    const top = argmaxRows(probs);
    const hits = Uint8Array.from(labels, (label, i) => (top[i] === label ? 1 : 0));
    const right = hits.reduce((a, h) => a + h, 0);
    return { hits, right, score: { name: c.name, accuracy: right / labels.length, logLoss: logLoss(probs, labels) } };
  });
  const scores: CandidateScore[] = judged.map((j) => j.score);
  const preferred = how.prefer === undefined ? -1 : candidates.findIndex((c) => c.name === how.prefer);
  if (how.prefer !== undefined && preferred < 0) throw new Error(`selectCandidate: no candidate '${how.prefer}'`);
  // the candidates that may be kept: all, or the preferred one and those that beat it beyond the noise
  const eligible = judged.filter((j, i) => preferred < 0 || i === preferred || beats(j.hits, judged[preferred]!.hits));
  let bestJudged = eligible[0]!;
  for (const j of eligible.slice(1)) {
    if (j.right > bestJudged.right || (j.right === bestJudged.right && j.score.logLoss < bestJudged.score.logLoss))
      bestJudged = j;
  }
  const best = bestJudged.score;
  const others = scores.filter((s) => s !== best);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const where =
    how.method === 'validation'
      ? `on ${labels.length} validation examples`
      : `out of fold in ${how.folds}-fold cross-validation on ${labels.length} labelled examples`;
  const tie = preferred < 0 && judged.some((j) => j !== bestJudged && j.right === bestJudged.right);
  const keptPreferred = preferred >= 0 && best === scores[preferred];
  const reason =
    `kept ${best.name}: accuracy ${pct(best.accuracy)}` +
    others.map((o) => ` vs ${pct(o.accuracy)} for ${o.name}`).join('') +
    ` ${where}` +
    (tie
      ? `, a tie broken by log loss (${best.logLoss.toFixed(3)} vs ${others.map((o) => o.logLoss.toFixed(3)).join(', ')})`
      : '') +
    (keptPreferred && others.length
      ? `; ${best.name} is kept unless another gets more examples right by more than two standard errors, and none did`
      : preferred >= 0 && !keptPreferred
        ? `, more than two standard errors above ${how.prefer}`
        : '');
  return { kept: best.name, method: how.method, examples: labels.length, folds: how.folds, scores, reason };
}

/** Whether `a` gets more examples right than `b` by more than two standard errors of the paired difference. */
function beats(a: Uint8Array, b: Uint8Array): boolean {
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > b[i]!) onlyA++;
    else if (b[i]! > a[i]!) onlyB++;
  }
  return onlyA - onlyB > 2 * Math.sqrt(onlyA + onlyB);
}
