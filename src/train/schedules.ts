import { GraftError } from '../errors.js';

/**
 * A schedule maps training progress (0 at the first step, 1 at the end) to a multiplier of the base
 * learning rate. Pure functions, so they compose, plot and resume without state.
 */
export type Schedule = (progress: number) => number;

export function constantSchedule(value = 1): Schedule {
  return () => value;
}

/** Linear interpolation from `from` to `to`. */
export function linearSchedule(from: number, to: number): Schedule {
  return (p) => from + (to - from) * clamp01(p);
}

/** Half-cosine from `from` to `to` (cosine annealing). */
export function cosineSchedule(from = 1, to = 0): Schedule {
  return (p) => to + ((from - to) * (1 + Math.cos(Math.PI * clamp01(p)))) / 2;
}

/** Geometric interpolation (what an LR range test sweeps). Both ends must be positive. */
export function exponentialSchedule(from: number, to: number): Schedule {
  if (!(from > 0 && to > 0)) {
    throw new GraftError('CONFIG', 'An exponential schedule needs positive end points', {
      expected: 'from > 0 and to > 0',
      found: `from ${from}, to ${to}`,
      fix: 'use a linear schedule to reach zero',
    });
  }
  return (p) => from * Math.pow(to / from, clamp01(p));
}

/** Multiplies by `gamma` at each milestone (given as fractions of training, e.g. [0.5, 0.75]). */
export function stepSchedule(opts: { milestones: readonly number[]; gamma?: number }): Schedule {
  const gamma = opts.gamma ?? 0.1;
  const milestones = [...opts.milestones].sort((a, b) => a - b);
  for (const m of milestones) checkFraction(m, 'milestone');
  return (p) => {
    let k = 0;
    for (const m of milestones) if (p >= m) k++;
    return Math.pow(gamma, k);
  };
}

/**
 * Runs `schedules[i]` over the share `fractions[i]` of training, each seeing its own progress 0..1
 * (fastai's combine_scheds). Fractions must sum to 1.
 */
export function combineSchedules(fractions: readonly number[], schedules: readonly Schedule[]): Schedule {
  if (fractions.length !== schedules.length || fractions.length === 0) {
    throw new GraftError('CONFIG', 'combineSchedules needs one fraction per schedule', {
      expected: `${schedules.length} fraction(s)`,
      found: `${fractions.length}`,
    });
  }
  for (const f of fractions) checkFraction(f, 'fraction');
  const total = fractions.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) {
    throw new GraftError('CONFIG', 'Schedule fractions must add up to 1', {
      expected: '1',
      found: String(total),
      fix: 'scale the fractions so they sum to 1',
    });
  }
  const starts: number[] = [];
  let acc = 0;
  for (const f of fractions) {
    starts.push(acc);
    acc += f;
  }
  return (progress) => {
    const p = clamp01(progress);
    let i = fractions.length - 1;
    for (let k = 0; k < fractions.length; k++) {
      if (fractions[k]! > 0 && p < starts[k]! + fractions[k]!) {
        i = k;
        break;
      }
    }
    // skip trailing zero-length segments when p === 1
    while (i > 0 && fractions[i] === 0) i--;
    const local = fractions[i]! > 0 ? (p - starts[i]!) / fractions[i]! : 1;
    return schedules[i]!(clamp01(local));
  };
}

/** Linear warm-up from `startFactor` to 1 over the first `fraction` of training, then `after`. */
export function withWarmup(fraction: number, after: Schedule = constantSchedule(1), startFactor = 0): Schedule {
  checkFraction(fraction, 'warm-up fraction');
  if (fraction === 0) return after;
  if (fraction === 1) return linearSchedule(startFactor, 1);
  return combineSchedules([fraction, 1 - fraction], [linearSchedule(startFactor, 1), after]);
}

export interface OneCycleOptions {
  /** share of training spent rising to the peak (default 0.25) */
  pctStart?: number;
  /** the start is the peak divided by this (default 25) */
  divFactor?: number;
  /** the end is the start divided by this (default 1e4) */
  finalDivFactor?: number;
}

/** One-cycle policy as a multiplier of the peak learning rate: cosine up, then cosine down. */
export function oneCycleSchedule(opts: OneCycleOptions = {}): Schedule {
  const pct = opts.pctStart ?? 0.25;
  const start = 1 / (opts.divFactor ?? 25);
  const end = start / (opts.finalDivFactor ?? 1e4);
  return combineSchedules([pct, 1 - pct], [cosineSchedule(start, 1), cosineSchedule(1, end)]);
}

/** A schedule described by data, for config files and the CLI. */
export type ScheduleSpec =
  | { kind: 'constant'; warmup?: number }
  | { kind: 'step'; milestones: number[]; gamma?: number; warmup?: number }
  | { kind: 'cosine'; final?: number; warmup?: number }
  | { kind: 'linear'; final?: number; warmup?: number }
  | ({ kind: 'onecycle' } & OneCycleOptions);

export const SCHEDULE_KINDS = ['constant', 'step', 'cosine', 'linear', 'onecycle'] as const;

export function scheduleFromSpec(spec: ScheduleSpec): Schedule {
  switch (spec.kind) {
    case 'constant':
      return withWarmup(spec.warmup ?? 0);
    case 'step':
      return withWarmup(spec.warmup ?? 0, stepSchedule(spec));
    case 'cosine':
      return withWarmup(spec.warmup ?? 0, cosineSchedule(1, spec.final ?? 0));
    case 'linear':
      return withWarmup(spec.warmup ?? 0, linearSchedule(1, spec.final ?? 0));
    case 'onecycle':
      return oneCycleSchedule(spec);
    default:
      throw new GraftError('CONFIG', 'Unknown learning-rate schedule', {
        found: String((spec as { kind?: unknown }).kind),
        choices: SCHEDULE_KINDS,
        fix: 'use one of the valid choices',
      });
  }
}

function clamp01(p: number): number {
  return p <= 0 ? 0 : p >= 1 ? 1 : p;
}

function checkFraction(f: number, what: string): void {
  if (!(f >= 0 && f <= 1)) {
    throw new GraftError('CONFIG', `A schedule ${what} must lie in [0, 1]`, {
      expected: 'a fraction of training between 0 and 1',
      found: String(f),
    });
  }
}
