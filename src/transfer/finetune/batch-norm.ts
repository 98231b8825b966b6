import { legalizeForTarget } from '../../autodiff/legalize.js';
import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { Session, type SessionOptions } from '../../runtime/session.js';

/**
 * A copy of the model whose named BatchNormalization nodes normalise with the statistics of each batch
 * (training_mode = 1, opset 14+). Only the training graph gets this; the exported model stays in inference
 * mode, with running statistics re-estimated by `estimateBatchNormStats`.
 */
export function withTrainingBatchNorms(model: Model, labels: readonly string[]): Model {
  if (labels.length === 0) return model;
  if (model.opset < 14) {
    throw new GraftError('CONFIG', 'Training BatchNormalization layers needs a model of opset 14 or later', {
      opset: model.opset,
      expected: 'opset >= 14 (BatchNormalization has a training_mode attribute from 14 on)',
      found: `opset ${model.opset}`,
      fix: 'keep --bn inference (the default), or re-export the model with opset 14+',
    });
  }
  const m = model.clone();
  const want = new Set(labels);
  let found = 0;
  for (const n of m.graph.nodes) {
    if (n.opType !== 'BatchNormalization' || !want.has(n.label)) continue;
    n.attrs.training_mode = { type: 'int', value: 1 };
    // onnxruntime wants the running-statistic outputs in training mode; nothing reads them, since the
    // statistics are re-estimated after training
    const y = n.outputs[0]!;
    n.outputs = [
      y,
      n.outputs[1] || m.graph.uniqueName(`${y}_running_mean`),
      n.outputs[2] || m.graph.uniqueName(`${y}_running_var`),
    ];
    found++;
  }
  if (found !== want.size) {
    throw new GraftError('NOT_FOUND', 'Some BatchNormalization nodes to train are not in the model', {
      expected: `${want.size} nodes`,
      found: String(found),
    });
  }
  m.graph.touch();
  return m;
}

export interface BatchNormStats {
  /** running-mean initializer name -> values */
  mean: Record<string, Float32Array>;
  /** running-variance initializer name -> values */
  variance: Record<string, Float32Array>;
  samples: number;
}

/**
 * Population statistics of the inputs of the named BatchNormalization nodes over a data set ("precise
 * BN"): the model runs in batches as it trained (those BNs on batch statistics), and each BN's per-channel
 * mean and mean square are averaged over all samples. Replaces the exponential moving average the
 * running statistics would otherwise follow, which a few epochs on small data leave noisy.
 */
export async function estimateBatchNormStats(opts: {
  /** forward model whose `labels` BNs are in training mode (withTrainingBatchNorms) */
  model: Model;
  labels: readonly string[];
  input: string;
  data: Float32Array;
  sampleDims: readonly number[];
  batchSize?: number;
  session?: SessionOptions;
}): Promise<BatchNormStats> {
  const m = opts.model.clone();
  const g = m.graph;
  const b = new GraphBuilder(g);
  const want = new Set(opts.labels);
  const taps: { mean: string; sq: string; runMean: string; runVar: string; channels: number }[] = [];
  for (const n of [...g.nodes]) {
    if (n.opType !== 'BatchNormalization' || !want.has(n.label)) continue;
    const x = n.inputs[0]!;
    const rank = g.info(x)?.shape?.length ?? 4;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    const reduce = (v: string) =>
      m.opset >= 18
        ? b.op('ReduceMean', [v, b.ints(axes, 'bn_stats_axes')], { keepdims: 0 })
        : b.op('ReduceMean', [v], { axes, keepdims: 0 });
    const mean = reduce(x);
    const sq = reduce(b.op('Mul', [x, x]));
    const runMean = n.inputs[3]!;
    const runVar = n.inputs[4]!;
    const channels = g.initializers.get(runMean)?.size ?? 0;
    if (!g.initializers.has(runMean) || !g.initializers.has(runVar)) {
      throw new GraftError('BAD_MODEL', 'A BatchNormalization node reads running statistics that are not constants', {
        node: n.label,
        fix: 'freeze this layer with --bn inference',
      });
    }
    taps.push({ mean, sq, runMean, runVar, channels });
  }
  g.outputs = taps.flatMap((t) => [
    { name: t.mean, dtype: 'float32' as const, shape: [t.channels] },
    { name: t.sq, dtype: 'float32' as const, shape: [t.channels] },
  ]);
  g.touch().cleanup();
  const per = opts.sampleDims.reduce((a, d) => a * d, 1);
  const count = opts.data.length / per;
  const sums = taps.map((t) => ({ mean: new Float64Array(t.channels), sq: new Float64Array(t.channels) }));
  legalizeForTarget(m, opts.session?.device);
  const session = await Session.create(m, opts.session);
  try {
    const bs = opts.batchSize ?? 64;
    for (let at = 0; at < count; at += bs) {
      const n = Math.min(bs, count - at);
      const out = await session.run({
        [opts.input]: {
          dtype: 'float32',
          dims: [n, ...opts.sampleDims],
          data: opts.data.subarray(at * per, (at + n) * per),
        },
      });
      taps.forEach((t, i) => {
        const mean = out[t.mean]!.data as Float32Array;
        const sq = out[t.sq]!.data as Float32Array;
        for (let c = 0; c < t.channels; c++) {
          sums[i]!.mean[c]! += mean[c]! * n;
          sums[i]!.sq[c]! += sq[c]! * n;
        }
      });
    }
  } finally {
    await session.dispose();
  }
  const stats: BatchNormStats = { mean: {}, variance: {}, samples: count };
  taps.forEach((t, i) => {
    const mean = Float32Array.from(sums[i]!.mean, (v) => v / count);
    stats.mean[t.runMean] = mean;
    stats.variance[t.runVar] = Float32Array.from(sums[i]!.sq, (v, c) => Math.max(0, v / count - mean[c]! ** 2));
  });
  return stats;
}

/** The model with new running statistics written into its BatchNormalization initializers. */
export function withBatchNormStats(model: Model, stats: BatchNormStats): Model {
  const m = model.clone();
  for (const [name, v] of [...Object.entries(stats.mean), ...Object.entries(stats.variance)]) {
    const t = m.graph.initializers.get(name);
    if (!t) continue;
    m.graph.initializers.set(name, Tensor.from(name, v, t.dims));
  }
  m.graph.touch();
  return m;
}
