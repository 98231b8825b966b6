import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import {
  combineSchedules,
  constantSchedule,
  cosineSchedule,
  exponentialSchedule,
  linearSchedule,
  oneCycleSchedule,
  scheduleFromSpec,
  stepSchedule,
  withWarmup,
} from './schedules.js';

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('basic schedules give the values worked out by hand', () => {
  assert.equal(constantSchedule()(0.3), 1);
  assert.equal(constantSchedule(0.5)(0.9), 0.5);
  near(linearSchedule(1, 0)(0.25), 0.75, 'linear');
  near(cosineSchedule()(0), 1, 'cosine start');
  near(cosineSchedule()(0.5), 0.5, 'cosine middle');
  near(cosineSchedule()(0.25), (1 + Math.SQRT1_2) / 2, 'cosine quarter');
  near(cosineSchedule()(1), 0, 'cosine end');
  near(cosineSchedule(1, 0.1)(1), 0.1, 'cosine floor');
  near(exponentialSchedule(1e-6, 1)(0.5), 1e-3, 'exponential middle');
  const step = stepSchedule({ milestones: [0.75, 0.5], gamma: 0.1 });
  assert.equal(step(0.49), 1);
  near(step(0.5), 0.1, 'first milestone');
  near(step(0.8), 0.01, 'second milestone');
  // progress outside [0, 1] is clamped
  near(linearSchedule(1, 0)(-1), 1, 'clamp low');
  near(linearSchedule(1, 0)(2), 0, 'clamp high');
});

test('combineSchedules gives each part its own progress; warm-up is a combination', () => {
  const s = combineSchedules([0.25, 0.75], [linearSchedule(0, 1), linearSchedule(1, 0.4)]);
  near(s(0), 0, 'start');
  near(s(0.125), 0.5, 'half of the first part');
  near(s(0.25), 1, 'second part starts');
  near(s(0.625), 0.7, 'half of the second part');
  near(s(1), 0.4, 'end');
  const w = withWarmup(0.1, cosineSchedule());
  near(w(0), 0, 'warm-up start');
  near(w(0.05), 0.5, 'warm-up middle');
  near(w(0.1), 1, 'peak');
  near(w(0.55), 0.5, 'cosine half way');
  near(w(1), 0, 'end');
  near(withWarmup(0.2, constantSchedule(), 0.1)(0.1), 0.55, 'warm-up from a start factor');
});

test('one-cycle rises from peak/25 to the peak over 25%, then falls to peak/25e4', () => {
  const s = oneCycleSchedule();
  near(s(0), 1 / 25, 'start');
  near(s(0.125), (1 / 25 + 1) / 2, 'half way up');
  near(s(0.25), 1, 'peak');
  near(s(1), 1 / 25 / 1e4, 'end');
  const custom = oneCycleSchedule({ pctStart: 0.5, divFactor: 10, finalDivFactor: 10 });
  near(custom(0.5), 1, 'custom peak');
  near(custom(1), 0.01, 'custom end');
});

test('schedules from specs, and errors for bad fractions and kinds', () => {
  near(scheduleFromSpec({ kind: 'cosine', warmup: 0.1 })(0.05), 0.5, 'spec warm-up');
  near(scheduleFromSpec({ kind: 'linear', final: 0.5 })(1), 0.5, 'spec linear');
  near(scheduleFromSpec({ kind: 'step', milestones: [0.5] })(0.6), 0.1, 'spec step');
  assert.throws(
    () => combineSchedules([0.5, 0.4], [constantSchedule(), constantSchedule()]),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && /add up to 1/.test(e.message),
  );
  assert.throws(() => combineSchedules([1], []), /one fraction per schedule/);
  assert.throws(() => withWarmup(1.5), /must lie in \[0, 1\]/);
  assert.throws(
    () => scheduleFromSpec({ kind: 'poly' } as never),
    (e: unknown) => e instanceof GraftError && e.fields.choices!.includes('onecycle'),
  );
  assert.throws(() => exponentialSchedule(0, 1), /positive end points/);
});
