import { buildTrainingGraph, type TrainingGraph } from '../autodiff/build.js';
import { formulationsFor } from '../autodiff/target.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { Session, type Device, type HostTensor } from '../runtime/session.js';
import { mulberry32 } from '../util/rng.js';

/**
 * A provider's fitness to train, checked in seconds: a tiny training graph (dense, depthwise and
 * multiplier convolutions, strided, BatchNormalization on batch statistics, MaxPool, swish, pooling, a
 * linear layer, softmax cross-entropy) built for the provider must give the CPU's loss, gradients and
 * running statistics; and each kernel bug known on some provider (autodiff/target.ts) is probed raw, to
 * say whether it is present and whether Graft writes around it for this provider. Runs in the calling
 * process: WebGPU chooses its adapter once per process, so `graft doctor` runs each provider in a child.
 */

export const SELF_TEST_TOLERANCE = 1e-4;

export type ProbeResult = 'ok' | 'wrong' | 'fails';

export interface KernelProbe {
  name: string;
  description: string;
  result: ProbeResult;
  /** what was seen: the relative error, or the provider's message (first line) */
  detail?: string;
  /** whether training graphs built for this provider avoid the kernel (formulations for its target) */
  workedAround: boolean;
}

export interface SelfTest {
  ok: boolean;
  /** largest difference of a gradient (or running statistic) from the CPU's, relative to its scale */
  worst: number;
  worstOf: string;
  loss: number;
  cpuLoss: number;
  /** one training step on the provider, after a first (warm-up) run, in ms */
  stepMs: number;
  error?: string;
}

export interface ProviderCheck {
  device: Device;
  /** what the training graphs were built for */
  target: string;
  usable: boolean;
  /** why not usable */
  reason?: string;
  /** how to make it usable, when known */
  fix?: string;
  selfTest?: SelfTest;
  probes: KernelProbe[];
  seconds: number;
}

const rand = (n: number, seed: number, scale = 1) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

const f32 = (data: Float32Array, dims: number[]): HostTensor => ({ dtype: 'float32', dims, data });

/** The self-test network: every family whose formulation differs between providers, on a 2x3x10x10 batch. */
export function selfTestModel(): { model: Model; logits: string; trainable: string[] } {
  const b = new GraphBuilder('graft-self-test');
  b.input('image', 'float32', [2, 3, 10, 10]);
  const w = (name: string, dims: number[], seed: number) => {
    const fanIn = dims.slice(1).reduce((a, d) => a * d, 1);
    return b.initializer(
      name,
      rand(
        dims.reduce((a, d) => a * d, 1),
        seed,
        Math.sqrt(3 / fanIn),
      ),
      dims,
    );
  };
  let x = b.op('Conv', ['image', w('dense.weight', [6, 3, 3, 3], 1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  x = b.op('BatchNormalization', [
    x,
    b.initializer(
      'bn.weight',
      rand(6, 2, 0.2).map((v) => 1 + v),
      [6],
    ),
    b.initializer('bn.bias', rand(6, 3, 0.1), [6]),
    b.initializer('bn.running_mean', new Float32Array(6), [6]),
    b.initializer('bn.running_var', new Float32Array(6).fill(1), [6]),
  ]);
  x = b.op('Relu', [x]);
  x = b.op('Conv', [x, w('depthwise.weight', [6, 1, 3, 3], 4)], {
    group: 6,
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  });
  // a depth multiplier of 2: its input gradient is a grouped ConvTranspose with 2 inputs per group
  x = b.op('Conv', [x, w('multiplier.weight', [12, 1, 3, 3], 5), b.initializer('multiplier.bias', rand(12, 6), [12])], {
    group: 6,
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  });
  x = b.op('Mul', [x, b.op('Sigmoid', [x])]);
  x = b.op('MaxPool', [x], { kernel_shape: [2, 2], pads: [0, 0, 1, 1] });
  x = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 });
  const logits = b.op('Gemm', [x, w('fc.weight', [4, 12], 7), b.initializer('fc.bias', rand(4, 8), [4])], {
    transB: 1,
  });
  b.output(logits, 'float32', [2, 4]);
  const model = b.build({ opset: 17 });
  const trainable = [...model.graph.initializers.keys()].filter((n) => !/running_/.test(n));
  return { model, logits, trainable };
}

function scaledDifference(a: HostTensor, b: HostTensor): number {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return Infinity;
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  let [worst, scale] = [0, 0];
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  if (!Number.isFinite(worst)) return Infinity;
  return scale === 0 ? worst : worst / scale;
}

async function runOnce(
  model: Model,
  device: Device,
  feeds: Record<string, HostTensor>,
  outputs?: string[],
  raw = false,
) {
  const s = await Session.create(model, { device, rewriteForProvider: !raw });
  try {
    return await s.run(feeds, outputs);
  } finally {
    await s.dispose();
  }
}

/** The self-test: the provider's training graph against the CPU's, same batch and parameters. */
export async function selfTest(device: Device, target: string = device): Promise<SelfTest> {
  const { model, logits, trainable } = selfTestModel();
  const build = (t?: string) =>
    buildTrainingGraph(model, {
      logits,
      loss: { kind: 'softmax-cross-entropy' },
      trainable,
      batchNorm: 'train',
      target: t,
    });
  const cpu = build();
  const mine = build(target);
  const feeds: Record<string, HostTensor> = {
    image: f32(rand(2 * 3 * 10 * 10, 11), [2, 3, 10, 10]),
    [cpu.labels.name]: { dtype: 'int64', dims: [2], data: BigInt64Array.from([1n, 3n]) },
  };
  for (const p of trainable) {
    const t = model.graph.initializers.get(p)!;
    feeds[p] = f32(t.toArray() as Float32Array, [...t.dims]);
  }
  const outputsOf = (tg: TrainingGraph) => [
    tg.loss,
    ...tg.params.map((p) => tg.gradOf[p]!),
    ...Object.values(tg.stateUpdates),
  ];
  const want = await runOnce(cpu.model, 'cpu', feeds, outputsOf(cpu));
  const s = await Session.create(mine.model, { device });
  let got: Record<string, HostTensor>;
  let stepMs: number;
  try {
    got = await s.run(feeds, outputsOf(mine));
    const t0 = performance.now();
    await s.run(feeds, outputsOf(mine));
    stepMs = performance.now() - t0;
  } finally {
    await s.dispose();
  }
  let worst = 0;
  let worstOf = '-';
  const compare = (what: string, a: string, b: string) => {
    const e = scaledDifference(got[b]!, want[a]!);
    if (!(e <= worst)) [worst, worstOf] = [e, what];
  };
  for (const p of trainable) compare(`d${p}`, cpu.gradOf[p]!, mine.gradOf[p]!);
  for (const [state, out] of Object.entries(cpu.stateUpdates)) compare(state, out, mine.stateUpdates[state]!);
  const loss = got[mine.loss]!.data[0] as number;
  const cpuLoss = want[cpu.loss]!.data[0] as number;
  compare('loss', cpu.loss, mine.loss);
  return { ok: worst <= SELF_TEST_TOLERANCE, worst, worstOf, loss, cpuLoss, stepMs };
}

interface ProbeSpec {
  name: string;
  description: string;
  /** the formulation flag (or legalisation) that avoids the kernel on targets that need it */
  build(): { model: Model; feeds: Record<string, HostTensor> };
}

function oneNode(
  op: string,
  inputs: [string, number[]][],
  attrs: Record<string, number | number[]>,
  outputs = 1,
  opset = 17,
): { model: Model; feeds: Record<string, HostTensor> } {
  const b = new GraphBuilder(`probe-${op}`);
  const feeds: Record<string, HostTensor> = {};
  inputs.forEach(([name, dims], i) => {
    b.input(name, 'float32', dims);
    feeds[name] = f32(
      rand(
        dims.reduce((a, d) => a * d, 1),
        20 + i,
      ),
      dims,
    );
  });
  const outs = b.opN(
    op,
    inputs.map(([n]) => n),
    attrs,
    { outputs: Array.from({ length: outputs }, (_, i) => `y${i}`) },
  );
  for (const o of outs) b.output(o);
  return { model: b.build({ opset }), feeds };
}

/** The kernels some provider gets wrong (autodiff/target.ts), each as a one-node model. */
const PROBES: readonly ProbeSpec[] = [
  {
    name: 'grouped-conv-width-9',
    description: 'grouped Conv with 9 output channels per group (a 3x3 weight gradient by unfold)',
    build: () =>
      oneNode(
        'Conv',
        [
          ['x', [1, 2, 5, 5]],
          ['w', [18, 1, 3, 3]],
        ],
        { group: 2, kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
      ),
  },
  {
    name: 'grouped-conv-transpose-2-to-1',
    description: 'grouped ConvTranspose with 2 input channels and 1 output channel per group',
    build: () =>
      oneNode(
        'ConvTranspose',
        [
          ['x', [1, 4, 3, 3]],
          ['w', [4, 1, 3, 3]],
        ],
        { group: 2, kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      ),
  },
  {
    name: 'slice-reverse',
    description: 'Slice with step -1 (a kernel flip)',
    build: () => {
      const b = new GraphBuilder('probe-slice');
      b.input('x', 'float32', [4, 1, 3, 3]);
      b.output(
        b.op('Slice', ['x', b.ints([-1, -1]), b.ints([-(2 ** 31), -(2 ** 31)]), b.ints([2, 3]), b.ints([-1, -1])]),
      );
      return { model: b.build({ opset: 17 }), feeds: { x: f32(rand(36, 30), [4, 1, 3, 3]) } };
    },
  },
  {
    name: 'conv-without-kernel-shape',
    description: 'Conv without a kernel_shape attribute',
    build: () =>
      oneNode(
        'Conv',
        [
          ['x', [1, 2, 5, 5]],
          ['w', [3, 2, 3, 3]],
        ],
        { pads: [1, 1, 1, 1] },
      ),
  },
  {
    name: 'maxpool-indices',
    description: 'MaxPool returning its Indices output',
    build: () => oneNode('MaxPool', [['x', [1, 2, 6, 6]]], { kernel_shape: [3, 3], strides: [2, 2] }, 2),
  },
  {
    name: 'batchnorm-training',
    description: 'BatchNormalization in training mode (batch statistics)',
    build: () => {
      const b = new GraphBuilder('probe-bn');
      b.input('x', 'float32', [4, 3, 2, 2]);
      const c = (name: string, v: number[]) => b.initializer(name, Float32Array.from(v), [3]);
      const y = b.opN(
        'BatchNormalization',
        ['x', c('s', [1, 1.5, 0.5]), c('b', [0, 0.1, -0.1]), c('m', [0, 0, 0]), c('v', [1, 1, 1])],
        { training_mode: 1 },
        { outputs: ['y', 'mean', 'var'] },
      );
      for (const o of y) b.output(o);
      return { model: b.build({ opset: 15 }), feeds: { x: f32(rand(48, 31), [4, 3, 2, 2]) } };
    },
  },
];

/** Runs every known-bug probe on `device` (raw, no Graft formulation) and compares with the CPU. */
export async function probeKernels(device: Device, target: string = device): Promise<KernelProbe[]> {
  const webgpuSafe = formulationsFor(target).target === 'webgpu';
  const out: KernelProbe[] = [];
  for (const p of PROBES) {
    const { model, feeds } = p.build();
    const want = await runOnce(model, 'cpu', feeds);
    let result: ProbeResult = 'ok';
    let detail: string | undefined;
    try {
      // raw: the probe is of the kernel itself, not of the rewrites Session applies
      const got = await runOnce(model, device, feeds, undefined, true);
      let worst = 0;
      for (const [name, w] of Object.entries(want)) {
        const g = got[name];
        const e =
          !g || g.dims.join() !== w.dims.join()
            ? Infinity
            : w.dtype === 'int64'
              ? Number(!(g.data as BigInt64Array).every((v, i) => v === (w.data as BigInt64Array)[i]))
              : scaledDifference(g, w);
        worst = Math.max(worst, e);
      }
      if (!(worst <= SELF_TEST_TOLERANCE)) {
        result = 'wrong';
        detail = worst === Infinity ? 'wrong shape' : `relative error ${worst.toExponential(2)}`;
      }
    } catch (e) {
      result = 'fails';
      detail = firstLine(e);
    }
    out.push({ name: p.name, description: p.description, result, detail, workedAround: webgpuSafe });
  }
  return out;
}

function firstLine(e: unknown): string {
  const fields = (e as { fields?: { found?: string } }).fields;
  const text = fields?.found ?? (e instanceof Error ? e.message : String(e));
  return text
    .split('\n')[0]!
    .replace(/^.*Status Message: /, '')
    .slice(0, 200);
}

/** Self-test and probes for one provider, in this process. */
export async function checkProvider(device: Device, target: string = device): Promise<ProviderCheck> {
  const t0 = performance.now();
  const check: ProviderCheck = { device, target, usable: false, probes: [], seconds: 0 };
  try {
    check.selfTest = await selfTest(device, target);
    if (device !== 'cpu') check.probes = await probeKernels(device, target);
    const unhandled = check.probes.filter((p) => p.result !== 'ok' && !p.workedAround);
    if (!check.selfTest.ok) {
      check.reason = `gradients differ from the CPU's: ${check.selfTest.worstOf} by ${check.selfTest.worst.toExponential(2)} (tolerance ${SELF_TEST_TOLERANCE})`;
    } else if (unhandled.length) {
      check.reason = `kernels Graft does not work around here: ${unhandled.map((p) => `${p.name} (${p.result})`).join(', ')}`;
    } else check.usable = true;
  } catch (e) {
    const fields = (e as { fields?: { found?: string; fix?: string } }).fields;
    const what = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    check.reason = fields?.found ? `${what} (${fields.found.split('\n')[0]!.slice(0, 200)})` : what;
    const fix = fields?.fix;
    if (fix) check.fix = fix;
  }
  check.seconds = (performance.now() - t0) / 1000;
  return check;
}
