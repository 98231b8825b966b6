// The WebGPU rewrites compute what the nodes they replace compute: each rewritten one-node model runs on the
// CPU next to the original (no GPU needed here; provider-parity.test.ts runs them on WebGPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import type { Model } from '../onnx/graph.js';
import { Session, f32, type HostTensor } from '../runtime/session.js';
import { legalizeForTarget, unsafeNodes } from './legalize.js';
import { graphDigest } from './test-utils/digest.js';
import { rng } from './gradcheck.js';

interface Case {
  name: string;
  model: Model;
  feeds: Record<string, HostTensor>;
  /** rewrites expected, by op type */
  rewrites: Record<string, number>;
}

function oneNode(
  name: string,
  op: string,
  inputs: [string, number[]][],
  attrs: Record<string, number | number[] | string>,
  outputs: string[] = ['y'],
  opset = 17,
  constants: Record<string, { data: number[]; dims: number[]; dtype?: 'int64' | 'float32' }> = {},
): Omit<Case, 'rewrites'> {
  const b = new GraphBuilder(name);
  const r = rng(7);
  const feeds: Record<string, HostTensor> = {};
  const names = inputs.map(([input, dims]) => {
    const c = constants[input];
    if (c) {
      if (c.dtype === 'int64') b.initializer(input, BigInt64Array.from(c.data.map(BigInt)), c.dims, 'int64');
      else b.initializer(input, Float32Array.from(c.data), c.dims);
      return input;
    }
    b.input(input, 'float32', dims);
    const n = dims.reduce((a, d) => a * d, 1);
    feeds[input] = f32(
      Float32Array.from({ length: n }, () => r() * 2 - 1),
      dims,
    );
    return input;
  });
  const ys = b.opN(op, names, attrs, { outputs });
  for (const y of ys) b.output(y);
  return { name, model: b.build({ opset }), feeds };
}

const ints = (data: number[]) => ({ data, dims: [data.length], dtype: 'int64' as const });

const CASES: Case[] = [
  {
    ...oneNode(
      'conv, 9 outputs per group, bias',
      'Conv',
      [
        ['x', [2, 4, 5, 5]],
        ['w', [18, 2, 3, 3]],
        ['b', [18]],
      ],
      {
        group: 2,
        kernel_shape: [3, 3],
        pads: [1, 1, 1, 1],
      },
    ),
    rewrites: { Conv: 1 },
  },
  {
    ...oneNode(
      'conv, 6 outputs per group, strided, no kernel_shape',
      'Conv',
      [
        ['x', [1, 3, 7, 7]],
        ['w', [18, 1, 3, 3]],
      ],
      {
        group: 3,
        strides: [2, 2],
      },
    ),
    rewrites: { Conv: 1 },
  },
  {
    ...oneNode(
      'conv without kernel_shape',
      'Conv',
      [
        ['x', [1, 2, 5, 5]],
        ['w', [3, 2, 2, 3]],
      ],
      { pads: [0, 1, 0, 1] },
    ),
    rewrites: { Conv: 1 },
  },
  {
    ...oneNode(
      'conv transpose, 2 inputs and 1 output per group, bias, output_padding',
      'ConvTranspose',
      [
        ['x', [2, 4, 3, 3]],
        ['w', [4, 1, 3, 3]],
        ['b', [2]],
      ],
      { group: 2, kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
    ),
    rewrites: { ConvTranspose: 1 },
  },
  {
    ...oneNode(
      'slice, steps -1 on two axes (a kernel flip)',
      'Slice',
      [
        ['x', [3, 2, 3, 4]],
        ['s', [2]],
        ['e', [2]],
        ['a', [2]],
        ['st', [2]],
      ],
      {},
      ['y'],
      17,
      { s: ints([-1, -1]), e: ints([-(2 ** 31), -(2 ** 31)]), a: ints([2, 3]), st: ints([-1, -1]) },
    ),
    rewrites: { Slice: 1 },
  },
  {
    ...oneNode(
      'slice, step -2 from past the end, a positive step on another axis',
      'Slice',
      [
        ['x', [5, 7]],
        ['s', [2]],
        ['e', [2]],
        ['a', [2]],
        ['st', [2]],
      ],
      {},
      ['y'],
      17,
      { s: ints([100, 1]), e: ints([-100, 6]), a: ints([1, 0]), st: ints([-2, 2]) },
    ),
    rewrites: { Slice: 1 },
  },
  {
    ...oneNode(
      'batch norm in training mode with running statistics',
      'BatchNormalization',
      [
        ['x', [4, 3, 2, 5]],
        ['s', [3]],
        ['b', [3]],
        ['m', [3]],
        ['v', [3]],
      ],
      { training_mode: 1, momentum: 0.7, epsilon: 0.01 },
      ['y', 'mean', 'var'],
      15,
      { m: { data: [0.1, -0.2, 0.3], dims: [3] }, v: { data: [1, 0.5, 2], dims: [3] } },
    ),
    rewrites: { BatchNormalization: 1 },
  },
  {
    ...oneNode(
      'layer norm with broadcast scale and bias',
      'LayerNormalization',
      [
        ['x', [3, 4, 5]],
        ['s', [1, 5]],
        ['b', [4, 1]],
      ],
      { axis: 1 },
      ['y'],
      17,
    ),
    rewrites: { LayerNormalization: 1 },
  },
];

async function runCpu(model: Model, feeds: Record<string, HostTensor>) {
  const s = await Session.create(model, { intraOpThreads: 1 });
  try {
    return await s.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => model.graph.isGraphInput(k))));
  } finally {
    await s.dispose();
  }
}

for (const c of CASES) {
  test(`webgpu rewrite: ${c.name} computes what the node did`, async () => {
    const rewritten = c.model.clone();
    assert.ok(unsafeNodes(c.model, 'webgpu').length > 0 || c.name.startsWith('layer norm'), 'the case is unsafe as is');
    assert.deepEqual(legalizeForTarget(rewritten, 'webgpu'), c.rewrites);
    assert.deepEqual(unsafeNodes(rewritten, 'webgpu'), []);
    const [want, got] = [await runCpu(c.model, c.feeds), await runCpu(rewritten, c.feeds)];
    for (const o of c.model.graph.outputs) {
      assert.deepEqual(got[o.name]!.dims, want[o.name]!.dims, o.name);
      const [a, b] = [got[o.name]!.data as Float32Array, want[o.name]!.data as Float32Array];
      b.forEach((v, i) =>
        assert.ok(Math.abs(a[i]! - v) <= 1e-5 * (1 + Math.abs(v)), `${o.name}[${i}] ${a[i]} vs ${v}`),
      );
    }
  });
}

test('targets without known kernel bugs are left exactly as they are', () => {
  for (const target of [undefined, 'cpu', 'wasm', 'cuda']) {
    for (const c of CASES) {
      const m = c.model.clone();
      assert.deepEqual(legalizeForTarget(m, target), {});
      assert.equal(graphDigest(m), graphDigest(c.model));
      assert.deepEqual(unsafeNodes(m, target), []);
    }
  }
});

test('what cannot be rewritten is refused at build time, naming the node', () => {
  const c = oneNode(
    'grouped 3-D conv',
    'Conv',
    [
      ['x', [1, 2, 3, 3, 3]],
      ['w', [2, 1, 2, 2, 2]],
    ],
    {
      group: 2,
      kernel_shape: [2, 2, 2],
    },
  );
  assert.throws(
    () => legalizeForTarget(c.model.clone(), 'webgpu'),
    (e: Error) => /WebGPU provider cannot run/.test(e.message) && /3-D convolution with groups/.test(e.message),
  );
});
