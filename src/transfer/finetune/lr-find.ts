import { GraftError } from '../../errors.js';
import type { SessionOptions } from '../../runtime/session.js';
import { CancelFit } from '../../train/events.js';
import type { ParamGroupSpec } from '../../train/optim/types.js';
import { Trainer } from '../../train/trainer.js';
import type { ArrayDataset, TrainerGraph } from '../../train/types.js';

export interface LrFindOptions {
  graph: TrainerGraph;
  params: Readonly<Record<string, Float32Array>>;
  train: ArrayDataset;
  batchSize?: number;
  /** first and last rate of the sweep (default 1e-7 .. 10) */
  startLr?: number;
  endLr?: number;
  /** optimizer steps in the sweep (default 100) */
  steps?: number;
  weightDecay?: number;
  /** discriminative groups: their multipliers apply on top of the swept rate */
  groups?: readonly ParamGroupSpec[];
  seed?: number;
  /** stop once the smoothed loss exceeds this multiple of its minimum (default 4) */
  divergeFactor?: number;
  session?: SessionOptions;
}

export interface LrFindPoint {
  step: number;
  lr: number;
  loss: number;
  /** exponentially smoothed loss (0.98), bias-corrected */
  smoothed: number;
}

export interface LrSuggestion {
  /** where the smoothed loss falls fastest (per decade of rate) */
  steepest: number;
  /** a tenth of the rate at the lowest smoothed loss */
  minimumTenth: number;
  /** what to use: the steepest point, capped by minimumTenth * 3 so it stays clear of divergence */
  suggested: number;
}

export interface LrFindResult {
  points: LrFindPoint[];
  suggestion?: LrSuggestion;
  stoppedEarly: boolean;
  reason: string;
  seconds: number;
}

/**
 * The learning-rate range test (Smith 2015, fastai's lr_find): train from the given parameters while the
 * rate grows geometrically from `startLr` to `endLr`, one step per batch, recording the loss; stop when
 * it diverges. Built from the trainer, an exponential schedule and a stopping callback. The parameters
 * passed in are not changed.
 */
export async function findLearningRate(opts: LrFindOptions): Promise<LrFindResult> {
  const start = opts.startLr ?? 1e-7;
  const end = opts.endLr ?? 10;
  const steps = opts.steps ?? 100;
  if (!(start > 0 && end > start)) {
    throw new GraftError('BAD_INPUT', 'The learning-rate sweep needs 0 < start < end', {
      found: `${start} .. ${end}`,
      fix: 'use e.g. --start-lr 1e-7 --end-lr 10',
    });
  }
  if (!(Number.isInteger(steps) && steps >= 5)) {
    throw new GraftError('BAD_INPUT', 'The learning-rate sweep needs at least 5 steps', { found: String(steps) });
  }
  const bs = opts.batchSize ?? 32;
  const count = opts.train.labels.length;
  const perEpoch = Math.max(1, Math.ceil(count / bs));
  const epochs = Math.ceil(steps / perEpoch);
  const total = epochs * perEpoch;
  // rate at step k: start * (end/start)^(k/(steps-1)); the trainer's progress is k / total
  const schedule = (p: number) => (start / end) * Math.pow(end / start, Math.min(1, (p * total) / (steps - 1)));
  const factor = opts.divergeFactor ?? 4;
  const points: LrFindPoint[] = [];
  let avg = 0;
  let best = Infinity;
  let reason = `swept ${steps} steps`;
  const recorder = {
    name: 'lrFind',
    afterLoss: (t: { step: number; lr: number; loss: number | undefined }) => {
      const loss = t.loss ?? NaN;
      const k = points.length;
      avg = 0.98 * avg + 0.02 * loss;
      const smoothed = avg / (1 - Math.pow(0.98, k + 1));
      points.push({ step: k, lr: t.lr, loss, smoothed });
      if (!Number.isFinite(loss)) {
        reason = `the loss became ${loss} at lr ${t.lr.toExponential(2)}`;
        throw new CancelFit(reason);
      }
      best = Math.min(best, smoothed);
      if (k > 5 && smoothed > factor * best) {
        reason = `the loss diverged (over ${factor}x its minimum) at lr ${t.lr.toExponential(2)}`;
        throw new CancelFit(reason);
      }
      if (k + 1 >= steps) throw new CancelFit(reason);
    },
  };
  const params: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(opts.params)) params[k] = v.slice();
  const trainer = new Trainer({
    graph: opts.graph,
    params,
    optimizer: { name: 'adamw', lr: end, weightDecay: opts.weightDecay, groups: opts.groups },
    schedule,
    batchSize: bs,
    epochs,
    seed: opts.seed ?? 0,
    callbacks: [recorder],
    session: opts.session,
  });
  let fit;
  try {
    fit = await trainer.fit(opts.train);
  } finally {
    await trainer.dispose();
  }
  const ok = points.filter((p) => Number.isFinite(p.loss));
  return {
    points,
    suggestion: suggestLearningRate(ok),
    stoppedEarly: points.length < steps,
    reason: fit.stopReason ?? reason,
    seconds: fit.seconds,
  };
}

/**
 * Reads a rate off the sweep: the steepest descent of the smoothed loss per decade (a centred difference
 * over a few points, ignoring the first tenth where the average is still warming up), and a tenth of the
 * rate at the minimum. Undefined when the sweep is too short to say.
 */
export function suggestLearningRate(points: readonly LrFindPoint[]): LrSuggestion | undefined {
  if (points.length < 8) return undefined;
  let minAt = 0;
  points.forEach((p, i) => {
    if (p.smoothed < points[minAt]!.smoothed) minAt = i;
  });
  const skip = Math.max(1, Math.floor(points.length / 10));
  const span = 2;
  let steepAt = -1;
  let steepSlope = 0;
  for (let i = Math.max(skip, span); i <= minAt && i + span < points.length; i++) {
    const a = points[i - span]!;
    const b = points[i + span]!;
    const slope = (b.smoothed - a.smoothed) / (Math.log10(b.lr) - Math.log10(a.lr));
    if (slope < steepSlope) {
      steepSlope = slope;
      steepAt = i;
    }
  }
  const minimumTenth = points[minAt]!.lr / 10;
  const steepest = steepAt >= 0 ? points[steepAt]!.lr : minimumTenth;
  return { steepest, minimumTenth, suggested: Math.min(steepest, minimumTenth * 3) };
}

/** The sweep as text: loss against log-rate, `width` x `height` characters, with the suggestion marked. */
export function plotLrFind(
  points: readonly LrFindPoint[],
  suggestion?: LrSuggestion,
  width = 60,
  height = 14,
): string[] {
  const ok = points.filter((p) => Number.isFinite(p.smoothed));
  if (ok.length < 2) return ['(too few points to plot)'];
  const xs = ok.map((p) => Math.log10(p.lr));
  const ys = ok.map((p) => p.smoothed);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  // clip the diverging tail so the interesting part fills the plot
  const lo = Math.min(...ys);
  const hi = Math.min(Math.max(...ys), lo + 3 * (ys[0]! - lo || 1));
  const grid = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  const col = (x: number) => Math.round(((x - x0) / (x1 - x0 || 1)) * (width - 1));
  const row = (y: number) => height - 1 - Math.round(((Math.min(y, hi) - lo) / (hi - lo || 1)) * (height - 1));
  ok.forEach((p, i) => {
    grid[row(ys[i]!)]![col(xs[i]!)] = '*';
  });
  if (suggestion) {
    const c = col(Math.log10(suggestion.suggested));
    for (let r = 0; r < height; r++) if (grid[r]![c] === ' ') grid[r]![c] = '|';
  }
  const label = (v: number) => v.toFixed(3).padStart(8);
  const lines = grid.map(
    (r, i) => `${i === 0 ? label(hi) : i === height - 1 ? label(lo) : ' '.repeat(8)} ${r.join('')}`,
  );
  const left = `1e${x0.toFixed(1)}`;
  const right = `1e${x1.toFixed(1)}`;
  lines.push(`${' '.repeat(9)}${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}`);
  lines.push(
    `${' '.repeat(9)}learning rate (log scale)${suggestion ? `; | marks the suggestion ${suggestion.suggested.toExponential(1)}` : ''}`,
  );
  return lines;
}
