import { GraftError } from '../errors.js';
import type { DType } from '../onnx/dtype.js';
import { checkGraph } from '../onnx/check.js';
import type { Dim, Model } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { appendBackward } from './backward.js';
import { legalizeForTarget } from './legalize.js';
import { prepareForward } from './forward.js';
import { recomputeCheapProducts } from './recompute.js';
import { scheduleForMemory } from './schedule.js';
import { isBatchNormTraining } from './rules/norm.js';
import { Emitter, floatArray } from './emitter.js';
import { emitLoss, labelsInfo, type LossSpec } from './losses.js';
import { TypeEnv } from './shapes.js';

export interface TrainingSpec {
  /** value name in the forward graph holding the model's output (the loss input) */
  logits: string;
  loss: LossSpec;
  /** initializer names to train; every other initializer stays frozen inside the graph */
  trainable: string[];
  /**
   * 'train' (default): every Dropout of the training graph drops (training_mode = true, opset 12+), as
   * PyTorch's model.train() does; the inference model keeps its own mode. 'as-is': leave Dropout nodes as
   * the model has them. Dropout before opset 12 has no training mode and stays the identity.
   */
  dropout?: 'train' | 'as-is';
  /**
   * 'frozen' (default): BatchNormalization keeps the statistics the model has (the fixed running statistics
   * of exported inference models), as Keras does for fine-tuning and as small batches need; each such BN is
   * folded into the Conv before it (see batchnorm.ts). 'train': every BN whose scale or bias is trainable
   * normalises with the batch's own statistics (PyTorch's model.train()); its running mean and variance
   * become graph inputs that default to the model's values, and their updated values (ONNX semantics:
   * momentum-weighted, biased batch variance) become outputs listed in `stateUpdates`, for the trainer to
   * feed back into the next step and write into the exported model.
   */
  batchNorm?: 'frozen' | 'train';
  /**
   * The execution provider the graph will run on ('cpu' by default). 'webgpu' (onnxruntime-node's bundled
   * provider and the browser's) selects formulations that avoid kernels it computes wrongly (see target.ts);
   * every other provider gets the CPU graph.
   */
  target?: string;
}

/**
 * A model that computes, in one onnxruntime run, the loss, the logits and the gradient of the loss with
 * respect to every trainable parameter. Feed: the data inputs, the labels, and the current parameter values.
 */
export interface TrainingGraph {
  model: Model;
  /** forward graph inputs the caller feeds with data (batch) */
  dataInputs: string[];
  /** labels input: int64 class indices [N] for softmax-cross-entropy, float targets shaped like the logits otherwise */
  labels: { name: string; dtype: DType; shape: Dim[] };
  /** trainable parameters, now graph inputs (same names as the initializers they were) */
  params: string[];
  /** parameter -> graph output holding dLoss/dparam (exactly the parameter's shape and type) */
  gradOf: Record<string, string>;
  /** scalar loss output */
  loss: string;
  /** logits output */
  logits: string;
  /**
   * Model state the step updates besides the parameters: input name (a BN running mean or variance, fed
   * like a parameter and defaulting to the model's value) -> output holding its new value. Empty unless
   * `batchNorm: 'train'`.
   */
  stateUpdates: Record<string, string>;
}

const FLOAT_PARAM_TYPES: ReadonlySet<DType> = new Set(['float32', 'float64']);

/**
 * Compiles a forward model and a loss into a training graph of standard ONNX ops (reverse-mode autodiff
 * over the graph). The backward pass covers only the path from the loss to the trainable parameters.
 */
export function buildTrainingGraph(model: Model, spec: TrainingSpec): TrainingGraph {
  const m = model.clone();
  const g = m.graph;
  const opset = m.opset;
  validate(m, spec);
  const dataInputs = g.dataInputs.map((i) => i.name);

  if ((spec.dropout ?? 'train') === 'train' && opset >= 12) enableDropout(m);
  const stateUpdates = spec.batchNorm === 'train' ? enableBatchStatistics(m, spec.trainable) : {};
  prepareForward(g, opset, new Set([spec.logits]));
  const env = TypeEnv.fromGraph(g, opset);

  for (const p of spec.trainable) {
    const t = g.initializers.get(p)!;
    g.initializers.delete(p);
    if (!g.isGraphInput(p)) g.inputs.push({ name: p, dtype: t.dtype, shape: [...t.dims] });
  }
  g.touch();

  const logitsType = env.type(spec.logits);
  const logitsDtype = logitsType?.dtype ?? 'float32';
  const logitsShape = logitsType?.shape;
  if (!logitsShape) {
    throw new GraftError('CONFIG', 'The shape of the logits is not known', {
      value: spec.logits,
      expected: 'a value whose rank (and class dimension) can be inferred from the model inputs',
      fix: 'give the model inputs static ranks, or choose a logits value after a Gemm/MatMul/Flatten',
    });
  }
  const e = new Emitter(g, env, spec.target);
  const labelsName = e.freshName('labels');
  const labels = { name: labelsName, ...labelsInfo(spec.loss, logitsShape, logitsDtype) };
  g.inputs.push({ name: labels.name, dtype: labels.dtype, shape: [...labels.shape] });
  env.declare(labels.name, { dtype: labels.dtype, shape: labels.shape });

  e.prefix = 'loss';
  const { loss, gradLogits } = emitLoss(e, spec.logits, labels.name, spec.loss, e.freshName('loss'));
  const { grads } = appendBackward(e, { seeds: new Map([[spec.logits, gradLogits]]), wrt: spec.trainable });

  const gradOf: Record<string, string> = {};
  const outputNames = new Set<string>([loss, spec.logits]);
  // Gradient values produced by backward nodes are renamed to their output names instead of being copied
  // by Identity nodes; a value serving two parameters (or already an output) gets an Identity for the second.
  const renamed = new Map<string, string>();
  const emitted = new Set<string>(e.emitted.flatMap((n) => n.outputs));
  e.prefix = 'grad';
  for (const p of spec.trainable) {
    const t = env.type(p)!;
    let v = grads.get(p) ?? null;
    // A parameter that cannot influence the loss still gets its (zero) gradient, so the trainer's
    // bookkeeping needs no special case.
    if (v === null) {
      v = e.emit('ConstantOfShape', [e.ints(t.shape as number[])], { value: zeroTensor(t.dtype!) });
      emitted.add(v);
    }
    checkGradShape(env.shape(v), t.shape as number[], p);
    const want = e.freshName(`${p}_grad`);
    const current = renamed.get(v) ?? v;
    if (!renamed.has(v) && emitted.has(v) && !outputNames.has(v) && !g.isGraphInput(v)) {
      renamed.set(v, want);
    } else {
      e.emit('Identity', [current], undefined, { outputs: [want] });
    }
    outputNames.add(want);
    gradOf[p] = want;
  }
  for (const n of e.emitted) {
    n.outputs = n.outputs.map((o) => renamed.get(o) ?? o);
    n.inputs = n.inputs.map((i) => renamed.get(i) ?? i);
  }
  g.touch();
  recomputeCheapProducts(g, env, new Set(e.emitted), (base) => e.freshName(base));

  g.outputs = [
    { name: loss, dtype: logitsDtype, shape: [] },
    { name: spec.logits, dtype: logitsDtype, shape: [...logitsShape] },
    ...spec.trainable.map((p) => {
      const t = env.type(p)!;
      return { name: gradOf[p]!, dtype: t.dtype, shape: [...(t.shape ?? [])] };
    }),
    ...Object.entries(stateUpdates).map(([state, updated]) => {
      const t = env.type(state);
      return { name: updated, dtype: t?.dtype, shape: t?.shape && [...t.shape] };
    }),
  ];
  g.cleanup();
  legalizeForTarget(m, spec.target);
  scheduleForMemory(g, labels.name);
  checkGraph(g);
  return {
    model: m,
    dataInputs,
    labels,
    params: [...spec.trainable],
    gradOf,
    loss,
    logits: spec.logits,
    stateUpdates,
  };
}

/**
 * Switches the BatchNormalization nodes with a trainable scale or bias to training mode (batch statistics)
 * and exposes their running statistics: inputs with the model's values as defaults, updated values as new
 * outputs. Returns running-statistic input -> updated output.
 */
function enableBatchStatistics(m: Model, trainable: readonly string[]): Record<string, string> {
  const g = m.graph;
  const train = new Set(trainable);
  const updates: Record<string, string> = {};
  const fresh = (base: string) => g.uniqueName(base);
  for (const bn of g.nodes) {
    if (bn.opType !== 'BatchNormalization' || (bn.domain !== '' && bn.domain !== 'ai.onnx')) continue;
    if (!train.has(bn.inputs[1]!) && !train.has(bn.inputs[2]!)) continue;
    if (isBatchNormTraining(bn, m.opset)) continue;
    const [mean, variance] = [bn.inputs[3]!, bn.inputs[4]!];
    for (const stat of [mean, variance]) {
      const users = g.consumers(stat).length;
      if (users !== 1 || updates[stat]) {
        throw new GraftError('CONFIG', 'A BatchNormalization running statistic is shared between nodes', {
          node: bn.label,
          value: stat,
          expected: 'one BatchNormalization node per running mean/variance',
          found: `${users} consumers`,
          fix: "give each BN its own statistics, or keep batchNorm: 'frozen'",
        });
      }
    }
    const newMean = fresh(`${mean}_updated`);
    bn.outputs = [bn.outputs[0]!, newMean, fresh(`${variance}_updated`)];
    if (m.opset >= 14) bn.attrs.training_mode = { type: 'int', value: 1 };
    // opsets 9-13 select training mode by the outputs: they also return the saved batch statistics
    else bn.outputs.push(fresh(`${bn.outputs[0]}_saved_mean`), fresh(`${bn.outputs[0]}_saved_inv_std`));
    updates[mean] = newMean;
    updates[variance] = bn.outputs[2]!;
    for (const stat of [mean, variance]) {
      const t = g.initializers.get(stat);
      if (t && !g.isGraphInput(stat)) g.inputs.push({ name: stat, dtype: t.dtype, shape: [...t.dims] });
    }
  }
  g.touch();
  return updates;
}

/** Feeds a constant `true` to every Dropout's training_mode input. */
function enableDropout(m: Model): void {
  const g = m.graph;
  const dropouts = g.nodes.filter((n) => n.opType === 'Dropout' && (n.domain === '' || n.domain === 'ai.onnx'));
  if (dropouts.length === 0) return;
  let name = 'dropout_training';
  for (let k = 1; g.allValueNames().has(name); k++) name = `dropout_training_${k}`;
  g.initializers.set(name, Tensor.from(name, Uint8Array.of(1), [], 'bool'));
  for (const n of dropouts) n.inputs = [n.inputs[0]!, n.inputs[1] ?? '', name];
  g.touch();
}

function zeroTensor(dtype: DType): Tensor {
  return Tensor.from('value', floatArray(dtype, [0]), [1], dtype);
}

function checkGradShape(found: Dim[] | undefined, want: number[], param: string): void {
  if (!found) return;
  const ok =
    found.length === want.length && found.every((d, i) => d === undefined || typeof d === 'string' || d === want[i]);
  if (!ok) {
    throw new GraftError('BAD_GRAPH', 'A gradient rule produced a gradient of the wrong shape', {
      value: param,
      expected: `[${want.join(', ')}]`,
      found: `[${found.join(', ')}]`,
      fix: 'this is a bug in a Graft gradient rule; please report it with the model',
    });
  }
}

function validate(m: Model, spec: TrainingSpec): void {
  const g = m.graph;
  if (!g.producer(spec.logits) && !g.isGraphInput(spec.logits)) {
    const candidates = g.nodes.flatMap((n) => n.outputs).filter((o) => o);
    throw new GraftError('NOT_FOUND', 'The logits value is not in the model', {
      value: spec.logits,
      expected: 'the name of a value produced by a node',
      found: 'no node produces it',
      choices: candidates.slice(-20),
      fix: 'pass the output name of the classifier (see `graft inspect`)',
    });
  }
  const seen = new Set<string>();
  for (const p of spec.trainable) {
    if (seen.has(p)) {
      throw new GraftError('CONFIG', 'A trainable parameter is listed twice', { value: p, fix: 'list it once' });
    }
    seen.add(p);
    const t = g.initializers.get(p);
    if (!t) {
      const choices = [...g.initializers.values()].filter((x) => FLOAT_PARAM_TYPES.has(x.dtype)).map((x) => x.name);
      throw new GraftError('NOT_FOUND', 'A trainable parameter is not an initializer of the model', {
        value: p,
        expected: 'the name of a float initializer',
        found: g.isGraphInput(p) ? 'a graph input' : 'nothing of that name',
        choices: choices.length > 40 ? [...choices.slice(0, 40), `... ${choices.length - 40} more`] : choices,
        fix: 'use the initializer names shown by `graft inspect` (or surgery parameter discovery)',
      });
    }
    if (!FLOAT_PARAM_TYPES.has(t.dtype)) {
      throw new GraftError('CONFIG', 'Only float32/float64 parameters can be trained', {
        value: p,
        expected: 'float32 or float64',
        found: t.dtype,
        fix: 'freeze this parameter, or dequantize the model first',
      });
    }
  }
}

/**
 * The inference model with trained parameter values written into its initializers. `model` is the forward
 * model the training graph was built from; it is not modified.
 */
export function applyTrainedParams(model: Model, params: Readonly<Record<string, Float32Array | Float64Array>>): Model {
  const m = model.clone();
  for (const [name, data] of Object.entries(params)) {
    const t = m.graph.initializers.get(name);
    if (!t) {
      throw new GraftError('NOT_FOUND', 'A trained parameter is not an initializer of the model', {
        value: name,
        fix: 'pass the forward model the training graph was built from',
      });
    }
    const given: DType = data instanceof Float64Array ? 'float64' : 'float32';
    if (given !== t.dtype) {
      throw new GraftError('BAD_INPUT', 'A trained parameter has the wrong element type', {
        value: name,
        expected: t.dtype,
        found: given,
      });
    }
    if (data.length !== t.size) {
      throw new GraftError('SHAPE_MISMATCH', 'A trained parameter has the wrong number of elements', {
        value: name,
        expected: `${t.size} (shape [${t.dims.join(', ')}])`,
        found: String(data.length),
      });
    }
    const fresh = Tensor.from(name, data.slice(), t.dims, t.dtype);
    m.graph.initializers.set(name, fresh);
  }
  m.graph.touch();
  return m;
}
