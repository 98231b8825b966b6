// Provider parity: the same gradient computed by the CPU graph on the CPU provider and by the graph built
// for another provider on that provider. Test-only (autodiff itself never imports a runtime).
import { Session, type Device, type HostTensor } from '../../runtime/session.js';
import type { TrainingGraph } from '../build.js';
import { vjpProblem, type GradCheckCase, type Runner, type TensorData } from '../gradcheck.js';
import { ortRunner } from './ort-runner.js';

export function deviceRunner(device: Device): Runner {
  return async (model) => {
    const s = await Session.create(model, { device, intraOpThreads: 1 });
    return { run: (feeds) => s.run(feeds), dispose: () => s.dispose() };
  };
}

/** Largest |a - b| over largest |b|: an error relative to the gradient's scale, 0 for two zero tensors. */
export function scaledDifference(a: TensorData, b: TensorData): number {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return Infinity;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  if (!Number.isFinite(worst)) return Infinity;
  return scale === 0 ? worst : worst / scale;
}

export interface RowParity {
  name: string;
  /** gradient output -> scaled difference from the CPU's */
  errors: Record<string, number>;
  worst: number;
}

/** A row in float32 (providers such as WebGPU have no float64 kernels). */
export function asFloat32(row: GradCheckCase): GradCheckCase {
  return { ...row, dtype: 'float32' };
}

/**
 * Runs one gradient-check row's backward graph on the CPU (CPU formulations) and on `device` (the
 * formulations of `target`), on the same inputs and cotangents, and compares every gradient.
 */
export async function rowParity(row: GradCheckCase, device: Device, target: string): Promise<RowParity> {
  const c = asFloat32(row);
  const cpu = await vjpProblem(c, ortRunner);
  const other = await vjpProblem(c, ortRunner, target);
  const run = async (runner: Runner, p: typeof cpu) => {
    const s = await runner(p.vjp);
    try {
      const feeds = Object.fromEntries(Object.entries(p.feeds).filter(([k]) => p.vjp.graph.isGraphInput(k)));
      return await s.run(feeds);
    } finally {
      await s.dispose();
    }
  };
  const want = await run(ortRunner, cpu);
  const got = await run(deviceRunner(device), other);
  const errors: Record<string, number> = {};
  for (const [out, w] of cpu.gradOutputs) {
    const mine = [...other.gradOutputs].find(([, v]) => v.name === w.name)?.[0];
    errors[`d${w.name}`] = mine ? scaledDifference(got[mine]!, want[out]!) : Infinity;
  }
  return { name: cpu.name, errors, worst: Math.max(0, ...Object.values(errors)) };
}

export interface GraphParity {
  /** loss on the CPU and on the provider */
  loss: [number, number];
  /** parameter (or updated model state, such as a BN running mean) -> scaled difference from the CPU's */
  errors: Record<string, number>;
  worst: { param: string; error: number };
}

/**
 * Runs a training graph built for the CPU on the CPU and the same model's graph built for `target` on
 * `device`, fed the same batch and parameters, and compares the loss and every gradient.
 */
export async function trainingGraphParity(
  cpuGraph: TrainingGraph,
  providerGraph: TrainingGraph,
  feeds: Record<string, HostTensor>,
  device: Device,
): Promise<GraphParity> {
  const run = async (tg: TrainingGraph, on: Device) => {
    const s = await Session.create(tg.model, { device: on });
    try {
      return await s.run(feeds, [tg.loss, ...tg.params.map((p) => tg.gradOf[p]!), ...Object.values(tg.stateUpdates)]);
    } finally {
      await s.dispose();
    }
  };
  const want = await run(cpuGraph, 'cpu');
  const got = await run(providerGraph, device);
  const errors: Record<string, number> = {};
  let worst = { param: '-', error: 0 };
  const compared: [string, string, string][] = [
    ...cpuGraph.params.map((p): [string, string, string] => [p, cpuGraph.gradOf[p]!, providerGraph.gradOf[p]!]),
    ...Object.entries(cpuGraph.stateUpdates).map(([state, out]): [string, string, string] => [
      `${state} (updated)`,
      out,
      providerGraph.stateUpdates[state]!,
    ]),
  ];
  for (const [what, a, b] of compared) {
    const error = scaledDifference(got[b]!, want[a]!);
    errors[what] = error;
    if (!(error <= worst.error)) worst = { param: what, error };
  }
  return {
    loss: [want[cpuGraph.loss]!.data[0] as number, got[providerGraph.loss]!.data[0] as number],
    errors,
    worst,
  };
}
