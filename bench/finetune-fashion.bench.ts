// Issue 5 acceptance: Fashion-MNIST with 100 labelled training images per class (10% of them held out for
// validation), tested on the full 10,000-image test set:
//   - the linear probe of the transfer issue (`trainImageClassifier`, the code behind `graft train`),
//   - fine-tuning the last blocks of EfficientNet-B0 on freeze-boundary activations (no augmentation),
//   - training from scratch: a small CNN (and, with --scratch=efficientnet, EfficientNet-B0 itself);
// plus the epoch-time benchmark: partial fine-tuning with the activation cache against a head-only epoch.
// Every row runs through the library functions behind the CLI and prints the equivalent command.
//
//   npm run bench -- finetune-fashion [--only=lp,ft,scratch,timing] [--sizes=96,224] [--unfreeze=last:1,last:2,last:3]
//        [--strategy=full] [--epochs=15] [--lr=3e-3] [--label-smoothing=0.1] [--scratch=small,efficientnet]
//        [--scratch-epochs=30] [--train=fixture|seeded:SEED] [--test-count=10000] [--rounds=3]
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { buildTrainingGraph } from '../src/autodiff/build.js';
import { loadFashionMnist } from '../src/data/node/idx.js';
import type { Preprocessing } from '../src/data/preprocessing.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import type { Model } from '../src/onnx/graph.js';
import { saveOnnxFile } from '../src/node/onnx-file.js';
import { type Backbone, loadBackbone, resizedBackbone, withBackboneResize } from '../src/app/backbone.js';
import { fineTuneImageClassifier } from '../src/app/finetune.js';
import { trainImageClassifier } from '../src/app/train-image.js';
import { detectBlocks } from '../src/transfer/finetune/blocks.js';
import { forwardAll } from '../src/transfer/finetune/forward.js';
import { parseUnfreeze, planFreeze } from '../src/transfer/finetune/freeze-plan.js';
import { composeClassifier, createHead } from '../src/transfer/finetune/head.js';
import { contractBatchedGradients } from '../src/transfer/finetune/optimize.js';
import { upperGraph } from '../src/transfer/finetune/split.js';
import type { FineTuneStrategy } from '../src/transfer/strategies/index.js';
import { cut } from '../src/surgery/cut.js';
import { Rng } from '../src/util/rng.js';
import { Trainer, paramsFromModel } from '../src/train/trainer.js';
import { mulberry32 } from '../src/util/rng.js';
import type { BenchContext, BenchResult } from './harness.js';

export const description =
  'Fashion-MNIST, 100 train images per class: EfficientNet-B0 linear probe vs fine-tuning its last blocks (activation cache) vs from scratch, full 10k test set; epoch time of partial fine-tuning vs a head-only epoch';

const FIXTURE = fileURLToPath(new URL('../fixtures/fashion-mnist-small/', import.meta.url));

function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function writePng(dir: string, name: string, pixels: Uint8Array): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(join(dir, name));
}

/**
 * train/: the committed fixture's 100 images per class (the first 100 of each class in the official file;
 * the data the transfer issue's linear probe was measured on), or a seeded draw of 100 per class;
 * test/: the first `count` official test images. Written once as PNGs.
 */
async function prepareData(train: string, count: number, log: (s: string) => void): Promise<string> {
  const root = join(tmpdir(), `graft-finetune-bench-${train.replace(/[^a-z0-9]+/gi, '-')}-${count}`);
  const done = join(root, '.complete');
  if (existsSync(done)) return root;
  const folders = JSON.parse(readFileSync(join(FIXTURE, 'classes.json'), 'utf8')) as string[];
  const tr = loadFashionMnist('train');
  if (train === 'fixture') {
    mkdirSync(join(root, 'train'), { recursive: true });
    for (const f of folders) {
      const dir = join(root, 'train', f);
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(join(FIXTURE, 'train', f))) {
        writeFileSync(join(dir, file), readFileSync(join(FIXTURE, 'train', f, file)));
      }
    }
  } else {
    const seed = Number(train.split(':')[1] ?? 0);
    const perm = new Rng(seed).permutation(tr.count);
    const taken = new Array<number>(10).fill(0);
    for (const i of perm) {
      const c = tr.labels[i]!;
      if (taken[c]! >= 100) continue;
      taken[c]!++;
      await writePng(
        join(root, 'train', folders[c]!),
        `${String(i).padStart(5, '0')}.png`,
        tr.images.subarray(i * 784, (i + 1) * 784),
      );
    }
  }
  const te = loadFashionMnist('test');
  log(`writing ${count} test images as PNG under ${root}/test`);
  for (let i = 0; i < Math.min(count, te.count); i++) {
    await writePng(
      join(root, 'test', folders[te.labels[i]!]!),
      `${String(i).padStart(5, '0')}.png`,
      te.images.subarray(i * 784, (i + 1) * 784),
    );
  }
  writeFileSync(done, '');
  return root;
}

/**
 * The from-scratch baseline small enough to train in minutes: three stages of two conv-BN-ReLU (16, 32, 64
 * channels, max-pooling between stages) on the 28x28 images, global average pooling, 64-d features.
 */
function writeSmallCnn(file: string): string {
  const rnd = mulberry32(5);
  const b = new GraphBuilder('small_cnn');
  let x = b.input('image', 'float32', ['N', 3, 28, 28]);
  let cin = 3;
  [16, 32, 64].forEach((cout, s) => {
    const p = `stage_${s + 1}`;
    for (const k of [1, 2]) {
      const name = `${p}/conv${k}`;
      const w = b.initializer(
        `${name}.weight`,
        Float32Array.from({ length: cout * cin * 9 }, () => rnd() - 0.5),
        [cout, cin, 3, 3],
      );
      x = b.op(
        'Conv',
        [x, w, b.initializer(`${name}.bias`, new Float32Array(cout), [cout])],
        { pads: [1, 1, 1, 1] },
        { name: `${name}/Conv` },
      );
      x = b.op(
        'BatchNormalization',
        [
          x,
          b.initializer(`${name}.bn.weight`, new Float32Array(cout).fill(1), [cout]),
          b.initializer(`${name}.bn.bias`, new Float32Array(cout), [cout]),
          b.initializer(`${name}.bn.mean`, new Float32Array(cout), [cout]),
          b.initializer(`${name}.bn.var`, new Float32Array(cout).fill(1), [cout]),
        ],
        undefined,
        { name: `${name}/bn/BatchNormalization` },
      );
      x = b.op('Relu', [x], undefined, { name: `${name}/Relu` });
      cin = cout;
    }
    if (s < 2) x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { name: `${p}/pool/MaxPool` });
  });
  const pooled = b.op('GlobalAveragePool', [x], undefined, { name: 'pool/GlobalAveragePool' });
  const features = b.op('Flatten', [pooled], { axis: 1 }, { name: 'pool/Flatten', outputs: ['features'] });
  b.output(features, 'float32', ['N', 64]);
  const model = b.build();
  model.opsetImports = [{ domain: '', version: 17 }];
  const pre: Preprocessing = {
    size: [28, 28],
    resize: 'squash',
    scale: 1 / 255,
    mean: [0.286, 0.286, 0.286],
    std: [0.353, 0.353, 0.353],
    layout: 'NCHW',
    channels: 3,
  };
  model.metadata.set('graft.preprocessing', JSON.stringify(pre));
  saveOnnxFile(file, model);
  return file;
}

interface TimedConfig {
  unfreeze: string;
  inputs: string;
  graph: ReturnType<typeof buildTrainingGraph>;
  params: Record<string, Float32Array>;
  data: { data: Float32Array; sampleDims: readonly number[]; labels: Int32Array };
  seconds: number[];
}

/** A training graph starting at `at` (the image input, or a cached activation) for `trainable`. */
function timedConfig(
  model: Model,
  logits: string,
  at: string,
  trainable: string[],
  data: TimedConfig['data'],
  unfreeze: string,
  inputs: string,
): TimedConfig {
  const graph = buildTrainingGraph(upperGraph(model, at), {
    logits,
    loss: { kind: 'softmax-cross-entropy' },
    trainable,
  });
  contractBatchedGradients(graph.model);
  return { unfreeze, inputs, graph, params: paramsFromModel(model, graph.params), data, seconds: [] };
}

/**
 * The epoch-time benchmark on 900 training images at one input size. Configurations take turns, one
 * epoch each per round (medians over the rounds), so load from other work on the machine hits them alike.
 */
async function timing(
  backbone: Backbone,
  specs: string[],
  rounds: number,
  log: (s: string) => void,
): Promise<BenchResult['rows']> {
  const size = backbone.preprocessing.size[0];
  const cls = composeClassifier(backbone.model, backbone.featureValue, createHead(backbone.dim, 10, { seed: 0 }));
  const blocks = detectBlocks(cls.model, { headParams: cls.headParams });
  const n = 900;
  const rnd = mulberry32(1);
  const images = {
    data: Float32Array.from({ length: n * 3 * size * size }, () => rnd()),
    sampleDims: [3, size, size],
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
  };
  const input = backbone.inputName;
  const lift = async (value: string) => {
    const r = (await forwardAll(cut(cls.model, value), images, { outputs: [value] }))[value]!;
    return { ...r, labels: images.labels };
  };
  const head = planFreeze(cls.model.graph, blocks, { unfreeze: { kind: 'none' } });
  const configs: TimedConfig[] = [
    timedConfig(cls.model, cls.logits, input, head.trainable, images, 'none', 'images (no cache)'),
    timedConfig(
      cls.model,
      cls.logits,
      backbone.featureValue,
      head.trainable,
      await lift(backbone.featureValue),
      'none',
      'pooled-feature cache',
    ),
  ];
  for (const spec of specs) {
    const plan = planFreeze(cls.model.graph, blocks, { unfreeze: parseUnfreeze(spec) });
    const cached = await lift(plan.boundary);
    configs.push(
      timedConfig(
        cls.model,
        cls.logits,
        plan.boundary,
        plan.trainable,
        cached,
        spec,
        `activation cache [${cached.sampleDims.join('x')}]`,
      ),
      timedConfig(cls.model, cls.logits, input, plan.trainable, images, spec, 'images (no cache)'),
    );
  }
  for (let r = 0; r < rounds; r++) {
    log(`timing at ${size}px: round ${r + 1}/${rounds} (${configs.length} configurations, one epoch each)`);
    for (const c of configs) {
      const trainer = new Trainer({
        graph: c.graph,
        params: c.params,
        optimizer: { name: 'adamw', lr: 1e-4 },
        batchSize: 32,
        epochs: 1,
        seed: r,
      });
      try {
        const fit = await trainer.fit({
          features: c.data.data,
          labels: c.data.labels,
          featureShape: c.data.sampleDims,
        });
        c.seconds.push(fit.history[0]!.seconds);
      } finally {
        await trainer.dispose();
      }
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const headImages = median(configs[0]!.seconds);
  const headCached = median(configs[1]!.seconds);
  return configs.map((c) => {
    const s = median(c.seconds);
    return {
      size,
      unfreeze: c.unfreeze,
      inputs: c.inputs,
      'epoch s': round(s),
      'x head (images)': round(s / headImages),
      ...(c.inputs.startsWith('activation') ? { 'x head (cached)': round(s / headCached) } : {}),
    };
  });
}

function round(v: number, digits = 3): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Stage messages and every fifth epoch, so long runs show progress. */
function progress(log: (s: string) => void) {
  return (e: {
    type: string;
    message?: string;
    record?: { epoch: number; trainLoss: number; valAcc?: number; seconds: number };
    epochs?: number;
  }) => {
    if ((e.type === 'stage' || e.type === 'phase') && e.message) log(`  ${e.message}`);
    if (e.type === 'epoch' && e.record && (e.record.epoch % 5 === 0 || e.record.epoch === 1)) {
      log(
        `  epoch ${e.record.epoch}/${e.epochs}: loss ${e.record.trainLoss.toFixed(4)}, val acc ${e.record.valAcc?.toFixed(3)}, ${e.record.seconds.toFixed(1)}s`,
      );
    }
  };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const only = new Set((arg(ctx.args, 'only') ?? 'lp,ft,scratch,timing').split(','));
  const sizes = (arg(ctx.args, 'sizes') ?? '96,224').split(',').map(Number);
  const specs = (arg(ctx.args, 'unfreeze') ?? 'last:1,last:2,last:3').split(',');
  const strategy = (arg(ctx.args, 'strategy') ?? 'full') as FineTuneStrategy;
  const epochs = Number(arg(ctx.args, 'epochs') ?? 15);
  const lr = Number(arg(ctx.args, 'lr') ?? 3e-3);
  const labelSmoothing = Number(arg(ctx.args, 'label-smoothing') ?? 0.1);
  const scratch = (arg(ctx.args, 'scratch') ?? 'small').split(',');
  const scratchEpochs = Number(arg(ctx.args, 'scratch-epochs') ?? 30);
  const train = arg(ctx.args, 'train') ?? 'fixture';
  const count = Number(arg(ctx.args, 'test-count') ?? 10000);
  const rounds = Number(arg(ctx.args, 'rounds') ?? 3);
  const data = await prepareData(train, count, ctx.log);
  const runs = join(tmpdir(), 'graft-finetune-bench-runs');
  const rows: BenchResult['rows'] = [];
  const timingRows: BenchResult['rows'] = [];
  const base = await loadBackbone({});
  const at = (size: number) => {
    const squashed = withBackboneResize(base, 'squash');
    return size === base.preprocessing.size[0] ? squashed : resizedBackbone(squashed, size);
  };
  const row = (
    what: string,
    size: number,
    r: { test?: { accuracy: number; examples: number }; val?: { accuracy: number } },
    extra: Record<string, string | number>,
    cmd: string,
  ) => {
    ctx.log(`${what} at ${size}px: test ${r.test?.accuracy.toFixed(4)}  (${cmd})`);
    rows.push({
      run: what,
      px: size,
      'test acc': Number((r.test?.accuracy ?? NaN).toFixed(4)),
      'val acc': Number((r.val?.accuracy ?? NaN).toFixed(4)),
      test: r.test?.examples ?? 0,
      ...extra,
      command: cmd,
    });
  };
  const dataArg = `${data}`;
  if (only.has('lp')) {
    for (const size of sizes) {
      const out = join(runs, `lp-${size}`);
      const r = await trainImageClassifier({
        overwrite: true,
        data,
        out,
        strategy: 'linear-probe',
        backbone: at(size),
        resize: 'squash',
      });
      row(
        'linear probe',
        size,
        r,
        { 'train s': round(r.seconds - r.features.seconds, 1), 'feature s': round(r.features.seconds, 1) },
        size === 224
          ? `graft train ${dataArg} --strategy linear-probe --out ${out}`
          : `(library: trainImageClassifier with the backbone at ${size}px; graft train has no --input-size for cached-feature strategies)`,
      );
    }
  }
  if (only.has('ft')) {
    for (const size of sizes) {
      for (const unfreeze of specs) {
        const out = join(runs, `${strategy}-${unfreeze.replace(':', '')}-${size}`);
        const r = await fineTuneImageClassifier({
          overwrite: true,
          data,
          out,
          strategy,
          unfreeze,
          inputSize: size,
          epochs,
          lr,
          labelSmoothing,
          backbone: base,
          onEvent: progress(ctx.log),
        });
        const main = r.phases[r.phases.length - 1]!;
        row(
          `${strategy} ${unfreeze}`,
          size,
          r,
          {
            'train s': round(
              r.phases.reduce((a, p) => a + p.seconds, 0),
              1,
            ),
            'epoch s': round(r.epochSeconds[main.name] ?? NaN, 2),
            'feature s': round(r.activations.seconds, 1),
            trainable: r.trainableParams,
          },
          `graft train ${dataArg} --strategy ${strategy} --unfreeze ${unfreeze} --input-size ${size} --epochs ${epochs} --lr ${lr} --label-smoothing ${labelSmoothing} --out ${out}`,
        );
      }
    }
  }
  if (only.has('scratch')) {
    if (scratch.includes('small')) {
      const file = writeSmallCnn(join(runs, 'small-cnn.onnx'));
      const out = join(runs, 'scratch-small-cnn');
      const r = await fineTuneImageClassifier({
        overwrite: true,
        data,
        out,
        model: file,
        fromScratch: true,
        bn: 'train',
        epochs: scratchEpochs,
        lr,
        labelSmoothing,
        onEvent: progress(ctx.log),
      });
      row(
        'from scratch: small CNN (6 conv, BN)',
        28,
        r,
        {
          'train s': round(r.phases[0]!.seconds, 1),
          'epoch s': round(r.epochSeconds.full ?? NaN, 2),
          trainable: r.trainableParams,
        },
        `graft train ${dataArg} --model ${file} --strategy full --from-scratch --bn train --epochs ${scratchEpochs} --lr ${lr} --label-smoothing ${labelSmoothing} --out ${out}`,
      );
    }
    if (scratch.includes('efficientnet')) {
      const size = sizes[0]!;
      const out = join(runs, `scratch-efficientnet-${size}`);
      const r = await fineTuneImageClassifier({
        overwrite: true,
        data,
        out,
        fromScratch: true,
        inputSize: size,
        epochs: scratchEpochs,
        lr,
        labelSmoothing,
        backbone: base,
        onEvent: progress(ctx.log),
      });
      row(
        'from scratch: EfficientNet-B0',
        size,
        r,
        {
          'train s': round(r.phases[0]!.seconds, 1),
          'epoch s': round(r.epochSeconds.full ?? NaN, 2),
          trainable: r.trainableParams,
        },
        `graft train ${dataArg} --strategy full --from-scratch --input-size ${size} --epochs ${scratchEpochs} --lr ${lr} --label-smoothing ${labelSmoothing} --out ${out}`,
      );
    }
  }
  if (only.has('timing')) {
    for (const size of sizes) timingRows.push(...(await timing(at(size), specs, rounds, ctx.log)));
  }
  return {
    name: 'finetune-fashion',
    rows: [...rows, ...timingRows],
    notes: [
      `data: ${data} (train/ = ${train === 'fixture' ? 'fixtures/fashion-mnist-small/train, the first 100 images per class' : `100 per class drawn with ${train}`}, 10% held out for val; test/ = first ${count} official test images)`,
      'images are squashed (28x28 upscaled) to the backbone input; fine-tuning rows train on activations cached at the freeze boundary, no augmentation',
      "epoch-time rows: 900 images, batch 32, medians over rounds in which the configurations take turns; 'x head (images)' = epoch time / a head-only epoch whose frozen backbone runs forward every step (what a head costs without a cache); 'x head (cached)' = / a head-only epoch on cached pooled features",
    ],
  };
}
