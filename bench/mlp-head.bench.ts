// Issue 2 benchmark: an MLP head (1280 -> 256 -> 10) on 1280-d features, 50k samples, batch 256, 10 epochs.
// Reports end-to-end training throughput and, side by side in one process, the cost of one training-step
// run (loss + logits + all gradients) relative to one forward-only run of the same graph in onnxruntime.
import { buildTrainingGraph } from '../src/autodiff/index.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { Session, f32, i64 } from '../src/runtime/session.js';
import { Trainer, paramsFromModel } from '../src/train/index.js';
import { attachHead } from '../src/surgery/head.js';
import { mulberry32, gaussian } from '../src/util/rng.js';
import { timeMedian, type BenchContext, type BenchResult } from './harness.js';

export const description = 'MLP head on 1280-d features: training throughput and train-step/forward cost ratio';

const DIM = 1280;
const CLASSES = 10;
const BATCH = 256;

function synthetic(count: number, seed: number) {
  const n = gaussian(mulberry32(seed));
  const centres = Array.from({ length: CLASSES }, () => Float32Array.from({ length: DIM }, () => n()));
  const features = new Float32Array(count * DIM);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % CLASSES;
    labels[i] = c;
    for (let j = 0; j < DIM; j++) features[i * DIM + j] = centres[c]![j]! * 0.3 + n();
  }
  return { features, labels };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const quick = ctx.args.includes('--quick');
  const samples = quick ? 5_000 : 50_000;
  const epochs = quick ? 2 : 10;
  const b = new GraphBuilder('features');
  b.input('features', 'float32', ['N', DIM]);
  b.output(b.op('Identity', ['features'], undefined, { outputs: ['feat'] }), 'float32', ['N', DIM]);
  b.graph.valueInfo.set('feat', { name: 'feat', dtype: 'float32', shape: ['N', DIM] });
  const head = attachHead(b.build(), 'feat', { numClasses: CLASSES, hidden: [256], seed: 1 });
  const graph = buildTrainingGraph(head.model, {
    logits: head.logits,
    loss: { kind: 'softmax-cross-entropy' },
    trainable: head.headParams,
  });

  // Side-by-side step cost: same batch, same weights, forward-only vs the training graph.
  const data = synthetic(samples, 7);
  const x = f32(data.features.subarray(0, BATCH * DIM), [BATCH, DIM]);
  const fwd = await Session.create(head.model);
  const train = await Session.create(graph.model);
  const params = paramsFromModel(head.model, graph.params);
  const feeds: Record<string, ReturnType<typeof f32>> = { features: x };
  for (const p of graph.params) feeds[p] = f32(params[p]!, [...head.model.graph.initializers.get(p)!.dims]);
  const trainFeeds = { ...feeds, [graph.labels.name]: i64(Array.from(data.labels.subarray(0, BATCH)), [BATCH]) };
  const fwdOnly = { features: x };
  const reps = quick ? 20 : 100;
  const tFwd = await timeMedian(() => fwd.run(fwdOnly), reps, 5);
  const tTrain = await timeMedian(() => train.run(trainFeeds), reps, 5);
  await fwd.dispose();
  await train.dispose();
  ctx.log(`forward ${tFwd.toFixed(3)} ms, training step ${tTrain.toFixed(3)} ms per batch of ${BATCH}`);

  // End to end: the trainer (session + host optimizer + shuffling), 10 epochs.
  const trainer = new Trainer({
    graph,
    params,
    optimizer: { name: 'adamw', lr: 1e-3 },
    batchSize: BATCH,
    epochs,
    seed: 1,
  });
  const fit = await trainer.fit({ features: data.features, labels: data.labels });
  await trainer.dispose();
  const last = fit.history[fit.history.length - 1]!;
  const samplesPerSec = (samples * epochs) / fit.seconds;
  const ratio = tTrain / tFwd;
  return {
    name: 'mlp-head',
    rows: [
      {
        measure: 'forward-only run (batch 256)',
        value: `${tFwd.toFixed(2)} ms`,
        note: 'onnxruntime CPU, default threads',
      },
      { measure: 'training-step run (loss+grads)', value: `${tTrain.toFixed(2)} ms`, note: 'same graph, same batch' },
      {
        measure: 'training step / forward',
        value: `${ratio.toFixed(2)}x`,
        note: `target <= 3.5x: ${ratio <= 3.5 ? 'met' : 'NOT met'}`,
      },
      {
        measure: `training throughput (${samples} samples x ${epochs} epochs)`,
        value: `${Math.round(samplesPerSec)} samples/s`,
        note: `incl. AdamW on host; ${fit.seconds.toFixed(1)} s; final train acc ${(last.trainAcc! * 100).toFixed(1)}%`,
      },
    ],
  };
}
