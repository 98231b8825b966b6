import { GraftError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import { Session, type HostTensor, type SessionOptions } from '../runtime/session.js';
import { gatherBatch, prepareDataset, type PreparedDataset } from './batches.js';
import { CallbackList, type Callback, type CancelFit } from './events.js';
import { accuracyModeFor, countCorrect, type AccuracyMode } from './metrics.js';
import { getOptimizer } from './optim/registry.js';
import type { Optimizer, OptimizerOptions } from './optim/types.js';
import { Rng, type RngState } from '../util/rng.js';
import { constantSchedule, type Schedule } from './schedules.js';
import type { ArrayDataset, CancelLevel, EpochRecord, TrainerGraph, TrainerView, TrainingCheckpoint } from './types.js';

export interface TrainerOptions {
  graph: TrainerGraph;
  /** initial parameter values; default: the graph's initializers of the same names */
  params?: Readonly<Record<string, Float32Array>>;
  /** an optimizer, or a registry name with options; default AdamW with its defaults */
  optimizer?: Optimizer | ({ name: string } & OptimizerOptions);
  /** multiplier of the base learning rate over training progress; default constant 1 */
  schedule?: Schedule;
  batchSize: number;
  epochs: number;
  /** seeds the shuffling; same seed, same batch order (default 0) */
  seed?: number;
  /** default true */
  shuffle?: boolean;
  /** drop the last batch when it is smaller than batchSize (default false: train on it) */
  dropLast?: boolean;
  /** batch size for evaluation (default: batchSize) */
  evalBatchSize?: number;
  callbacks?: readonly Callback[];
  /** passed to onnxruntime (device, intraOpThreads: 1 gives bit-reproducible runs) */
  session?: SessionOptions;
  /** how accuracy is read; 'auto' picks from label type and logits size */
  accuracy?: AccuracyMode | 'auto';
  /** extra JSON-safe facts stored in checkpoints (model name, data source, ...) */
  config?: Record<string, unknown>;
}

export interface EvalResult {
  loss: number;
  /** undefined for regression targets */
  acc?: number;
}

export interface FitResult {
  history: EpochRecord[];
  params: Record<string, Float32Array>;
  /** epochs run by this call (fewer than asked when resumed or stopped) */
  epochsRun: number;
  /** why training ended early (a CancelFit's reason), if it did */
  stopReason?: string;
  seconds: number;
}

/**
 * Trains a training graph: one onnxruntime session fed with a batch, its labels and the current
 * parameters returns the loss, logits and gradients; the optimizer updates the parameters on the host.
 * Create, `fit`, then `dispose` (which releases the session).
 */
export class Trainer implements TrainerView {
  readonly graph: TrainerGraph;
  readonly optimizer: Optimizer;
  readonly epochs: number;
  private readonly opts: TrainerOptions;
  private readonly schedule: Schedule;
  private readonly callbackList: CallbackList;
  private readonly paramValues: Record<string, Float32Array> = {};
  private readonly paramDims: Record<string, number[]> = {};
  private readonly trainFetches: string[];
  private rng: Rng;
  private session?: Session;
  private historyRecords: EpochRecord[] = [];
  private state = {
    epoch: 0,
    step: 0,
    batch: 0,
    batchesPerEpoch: 0,
    totalSteps: 0,
    batchSize: 0,
    batchIndices: new Uint32Array(0) as Uint32Array,
    loss: undefined as number | undefined,
    lrScale: 1,
    cancelled: undefined as CancelLevel | undefined,
    /** set while an epoch's batches run: a snapshot then records the epoch's starting clock and stream */
    epochStart: undefined as { step: number; rng: RngState } | undefined,
  };

  constructor(opts: TrainerOptions) {
    checkPositiveInt(opts.batchSize, 'batchSize');
    checkPositiveInt(opts.epochs, 'epochs', true);
    if (opts.evalBatchSize !== undefined) checkPositiveInt(opts.evalBatchSize, 'evalBatchSize');
    this.opts = opts;
    this.graph = opts.graph;
    this.epochs = opts.epochs;
    this.schedule = opts.schedule ?? constantSchedule(1);
    this.callbackList = new CallbackList(opts.callbacks ?? []);
    this.rng = new Rng(opts.seed ?? 0);
    checkGraph(opts.graph);
    for (const name of opts.graph.params) {
      const init = opts.params?.[name] ?? initializerValue(opts.graph, name);
      const dims = paramDims(opts.graph, name, init.length);
      this.paramDims[name] = dims;
      this.paramValues[name] = Float32Array.from(init);
    }
    this.optimizer =
      opts.optimizer === undefined
        ? getOptimizer('adamw')
        : 'step' in opts.optimizer
          ? opts.optimizer
          : getOptimizer(opts.optimizer.name, withoutName(opts.optimizer));
    this.optimizer.attach(opts.graph.params.map((name) => ({ name, dims: this.paramDims[name]! })));
    const g = opts.graph;
    this.trainFetches = [...new Set([g.loss, g.logits, ...g.params.map((p) => g.gradOf[p]!)])];
  }

  // ---- TrainerView -------------------------------------------------------------------------------

  get epoch(): number {
    return this.state.epoch;
  }
  get completedEpochs(): number {
    return this.historyRecords.length;
  }
  get step(): number {
    return this.state.step;
  }
  get totalSteps(): number {
    return this.state.totalSteps;
  }
  get batch(): number {
    return this.state.batch;
  }
  get batchesPerEpoch(): number {
    return this.state.batchesPerEpoch;
  }
  get batchSize(): number {
    return this.state.batchSize;
  }
  get batchIndices(): Uint32Array {
    return this.state.batchIndices;
  }
  get loss(): number | undefined {
    return this.state.loss;
  }
  get history(): readonly EpochRecord[] {
    return this.historyRecords;
  }
  get lastRecord(): EpochRecord | undefined {
    return this.historyRecords[this.historyRecords.length - 1];
  }
  get hyper(): Readonly<Record<string, number>> {
    return this.optimizer.hyper;
  }
  get lr(): number {
    return (this.optimizer.hyper.lr ?? 0) * this.state.lrScale;
  }
  get params(): Readonly<Record<string, Float32Array>> {
    return this.paramValues;
  }
  get cancelled(): CancelLevel | undefined {
    return this.state.cancelled;
  }

  setHyper(patch: Readonly<Record<string, number>>): void {
    this.optimizer.setHyper(patch);
  }

  setParams(values: Readonly<Record<string, Float32Array>>): void {
    for (const [name, v] of Object.entries(values)) {
      const cur = this.paramValues[name];
      if (!cur || cur.length !== v.length) {
        throw new GraftError('SHAPE_MISMATCH', `Cannot set parameter '${name}'`, {
          value: name,
          expected: cur ? `${cur.length} values` : 'a trainable parameter name',
          found: cur ? `${v.length} values` : name,
          choices: cur ? undefined : Object.keys(this.paramValues).slice(0, 50),
        });
      }
    }
    for (const [name, v] of Object.entries(values)) this.paramValues[name]!.set(v);
  }

  /**
   * The resumable state. Taken between epochs (in afterEpoch, or outside fit) it resumes exactly. Taken
   * mid-epoch, it records the epoch's starting shuffle and step, so a resume re-runs that whole epoch in
   * the same order, starting from the parameters as they were at the snapshot.
   */
  snapshot(): TrainingCheckpoint {
    const params: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.paramValues)) params[k] = v.slice();
    const start = this.state.epochStart;
    return {
      epoch: this.completedEpochs,
      step: start?.step ?? this.state.step,
      params,
      optimizer: this.optimizer.state(),
      rng: start?.rng ?? this.rng.state(),
      history: this.historyRecords.map((r) => ({ ...r })),
      config: this.describe(),
      callbacks: this.callbackList.states(),
    };
  }

  // ---- control -----------------------------------------------------------------------------------

  /**
   * Continues from a checkpoint: parameters, optimizer memory, random stream, history and callback
   * state. The next `fit` starts at the epoch after the checkpoint's last completed one.
   */
  restore(ckpt: TrainingCheckpoint): void {
    const want = this.graph.params;
    const have = Object.keys(ckpt.params);
    const missing = want.filter((n) => !(n in ckpt.params));
    const extra = have.filter((n) => !want.includes(n));
    const wrong = want.filter((n) => ckpt.params[n] && ckpt.params[n]!.length !== this.paramValues[n]!.length);
    if (missing.length || extra.length || wrong.length) {
      throw new GraftError('CHECKPOINT', 'The checkpoint does not match the trainable parameters', {
        expected: `${want.length} parameters as in the training graph`,
        found: [
          missing.length ? `missing ${missing.slice(0, 5).join(', ')}` : '',
          extra.length ? `unexpected ${extra.slice(0, 5).join(', ')}` : '',
          wrong.length ? `wrong size ${wrong.slice(0, 5).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
        fix: 'resume with the same model and freeze settings the checkpoint was trained with, or start fresh',
      });
    }
    this.optimizer.loadState(ckpt.optimizer);
    for (const n of want) this.paramValues[n]!.set(ckpt.params[n]!);
    this.rng = Rng.fromState(ckpt.rng);
    this.historyRecords = ckpt.history.map((r) => ({ ...r }));
    this.state.step = ckpt.step;
    this.state.epoch = ckpt.epoch;
    if (ckpt.epoch !== this.historyRecords.length) {
      throw new GraftError('CHECKPOINT', 'The checkpoint is inconsistent', {
        expected: `${ckpt.epoch} history records (one per completed epoch)`,
        found: `${this.historyRecords.length}`,
        fix: 'start fresh or use another checkpoint',
      });
    }
    this.callbackList.loadStates(ckpt.callbacks);
  }

  /** Trains from the current state up to `epochs` epochs, evaluating on `validation` after each. */
  async fit(train: ArrayDataset, validation?: ArrayDataset): Promise<FitResult> {
    const started = now();
    const classes = this.numOutputs();
    const trainSet = prepareDataset(this.graph, train, 'training', classes);
    const valSet = validation ? prepareDataset(this.graph, validation, 'validation', classes) : undefined;
    const bs = this.opts.batchSize;
    const batches = this.opts.dropLast ? Math.floor(trainSet.count / bs) : Math.ceil(trainSet.count / bs);
    if (batches === 0) {
      throw new GraftError('BAD_INPUT', 'The training set is smaller than one batch and dropLast is on', {
        expected: `at least ${bs} samples`,
        found: `${trainSet.count}`,
        fix: 'lower batchSize or turn dropLast off',
      });
    }
    this.state.batchesPerEpoch = batches;
    this.state.totalSteps = this.epochs * batches;
    const session = await this.ensureSession();
    const firstEpoch = this.completedEpochs;
    let stopReason: string | undefined;
    this.state.cancelled = undefined;
    await this.callbackList.withEvents(
      'fit',
      this,
      async () => {
        for (let e = this.completedEpochs; e < this.epochs; e++) {
          this.state.epoch = e;
          await this.runEpoch(session, trainSet, valSet);
        }
      },
      (c) => {
        if (c) {
          stopReason = (c as CancelFit).reason;
          this.state.cancelled = 'fit';
        }
      },
    );
    const params: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.paramValues)) params[k] = v.slice();
    return {
      history: this.historyRecords.map((r) => ({ ...r })),
      params,
      epochsRun: this.completedEpochs - firstEpoch,
      stopReason,
      seconds: (now() - started) / 1000,
    };
  }

  /** Mean loss (and accuracy) over a dataset with the current parameters. */
  async evaluate(data: ArrayDataset): Promise<EvalResult> {
    const set = prepareDataset(this.graph, data, 'evaluation', this.numOutputs());
    return this.evaluateOn(await this.ensureSession(), set);
  }

  /** Releases the onnxruntime session. The trainer can still snapshot, but not fit or evaluate. */
  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.dispose();
  }

  // ---- the loop ----------------------------------------------------------------------------------

  private async runEpoch(
    session: Session,
    trainSet: PreparedDataset,
    valSet: PreparedDataset | undefined,
  ): Promise<void> {
    const started = now();
    const bs = this.opts.batchSize;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let accKnown = false;
    let val: EvalResult | undefined;
    this.state.cancelled = undefined;
    await this.callbackList.withEvents(
      'epoch',
      this,
      async () => {
        this.state.epochStart = { step: this.state.step, rng: this.rng.state() };
        const order = this.opts.shuffle === false ? identity(trainSet.count) : this.rng.permutation(trainSet.count);
        for (let b = 0; b < this.state.batchesPerEpoch; b++) {
          const indices = order.subarray(b * bs, Math.min(trainSet.count, (b + 1) * bs));
          const batch = gatherBatch(trainSet, indices);
          this.state.batch = b;
          this.state.batchSize = indices.length;
          this.state.batchIndices = indices;
          this.state.loss = undefined;
          this.state.lrScale = this.schedule(this.state.step / this.state.totalSteps);
          this.state.cancelled = undefined;
          await this.callbackList.withEvents(
            'batch',
            this,
            async () => {
              const out = await session.run(this.feeds(batch.inputs, batch.labels), this.trainFetches);
              const loss = scalarOf(out[this.graph.loss], this.graph.loss);
              this.state.loss = loss;
              lossSum += loss * indices.length;
              seen += indices.length;
              const mode = this.accuracyMode(out[this.graph.logits]!, batch.labels);
              if (mode !== 'none') {
                accKnown = true;
                correct += countCorrect(out[this.graph.logits]!, batch.labels, mode);
              }
              await this.callbackList.emit('afterLoss', this);
              const grads: Record<string, Float32Array> = {};
              for (const p of this.graph.params) grads[p] = out[this.graph.gradOf[p]!]!.data as Float32Array;
              this.optimizer.step(this.paramValues, grads, this.state.lrScale);
            },
            (c) => {
              if (c) this.state.cancelled = 'batch';
            },
          );
          this.state.step++;
        }
        if (valSet) val = await this.evaluateOn(session, valSet);
      },
      (c) => {
        this.state.epochStart = undefined;
        if (c) this.state.cancelled = 'epoch';
        this.historyRecords.push({
          epoch: this.state.epoch + 1,
          trainLoss: seen ? lossSum / seen : NaN,
          trainAcc: accKnown && seen ? correct / seen : undefined,
          valLoss: val?.loss,
          valAcc: val?.acc,
          lr: this.lr,
          steps: this.state.step,
          seconds: (now() - started) / 1000,
        });
      },
    );
  }

  private async evaluateOn(session: Session, set: PreparedDataset): Promise<EvalResult> {
    const bs = this.opts.evalBatchSize ?? this.opts.batchSize;
    const order = identity(set.count);
    let lossSum = 0;
    let correct = 0;
    let accKnown = false;
    for (let at = 0; at < set.count; at += bs) {
      const batch = gatherBatch(set, order.subarray(at, Math.min(set.count, at + bs)));
      const n = batch.labels.dims[0]!;
      const out = await session.run(this.feeds(batch.inputs, batch.labels), [this.graph.loss, this.graph.logits]);
      lossSum += scalarOf(out[this.graph.loss], this.graph.loss) * n;
      const mode = this.accuracyMode(out[this.graph.logits]!, batch.labels);
      if (mode !== 'none') {
        accKnown = true;
        correct += countCorrect(out[this.graph.logits]!, batch.labels, mode);
      }
    }
    return { loss: lossSum / set.count, acc: accKnown ? correct / set.count : undefined };
  }

  private feeds(inputs: Record<string, HostTensor>, labels: HostTensor): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = { ...inputs, [this.graph.labels.name]: labels };
    for (const p of this.graph.params) {
      feeds[p] = { dtype: 'float32', dims: this.paramDims[p]!, data: this.paramValues[p]! };
    }
    return feeds;
  }

  private accuracyMode(logits: HostTensor, labels: HostTensor): AccuracyMode {
    const forced = this.opts.accuracy ?? 'auto';
    if (forced !== 'auto') return forced;
    const n = labels.dims[0]!;
    const perSample = labels.data.length / n;
    return accuracyModeFor(labels.dtype, perSample, logits.data.length / n);
  }

  private numOutputs(): number | undefined {
    const shape = this.graph.model.graph.info(this.graph.logits)?.shape;
    const last = shape?.[shape.length - 1];
    return shape && shape.length >= 2 && typeof last === 'number' ? last : undefined;
  }

  private async ensureSession(): Promise<Session> {
    // A training graph runs without onnxruntime's memory pattern unless asked: the planned block comes on
    // top of what the first run allocated (see SessionOptions.memoryPattern; bench finetune measures it).
    this.session ??= await Session.create(this.graph.model, { memoryPattern: false, ...this.opts.session });
    return this.session;
  }

  private describe(): Record<string, unknown> {
    const o = this.opts;
    return {
      ...(o.config ?? {}),
      batchSize: o.batchSize,
      epochs: o.epochs,
      seed: o.seed ?? 0,
      shuffle: o.shuffle !== false,
      dropLast: o.dropLast === true,
      optimizer: this.optimizer.describe(),
      params: { ...this.paramDims },
      loss: this.graph.loss,
      labels: { name: this.graph.labels.name, dtype: this.graph.labels.dtype },
    };
  }
}

function checkGraph(g: TrainerGraph): void {
  const graph = g.model.graph;
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const needIn = [...g.dataInputs, g.labels.name, ...g.params].filter((n) => !inputs.has(n));
  const needOut = [g.loss, g.logits, ...g.params.map((p) => g.gradOf[p] ?? `(no gradient for ${p})`)].filter(
    (n) => !outputs.has(n),
  );
  if (needIn.length || needOut.length) {
    throw new GraftError('BAD_GRAPH', 'The training graph does not expose what the trainer needs', {
      expected:
        'data inputs, labels and parameters as graph inputs; loss, logits and one gradient per parameter as outputs',
      found: [
        needIn.length ? `missing inputs: ${needIn.slice(0, 8).join(', ')}` : '',
        needOut.length ? `missing outputs: ${needOut.slice(0, 8).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
      fix: 'build the graph with buildTrainingGraph, which adds these',
    });
  }
  for (const p of g.params) {
    const dtype = graph.info(p)?.dtype;
    if (dtype !== undefined && dtype !== 'float32') {
      throw new GraftError('BAD_GRAPH', `Trainable parameter '${p}' is not float32`, {
        value: p,
        expected: 'float32',
        found: dtype,
        fix: 'freeze it, or convert the model to float32 before training',
      });
    }
  }
}

function initializerValue(g: TrainerGraph, name: string): Float32Array {
  const t = g.model.graph.initializers.get(name);
  if (!t) {
    throw new GraftError('CONFIG', `No initial value for trainable parameter '${name}'`, {
      value: name,
      expected: 'params[name] in the trainer options, or an initializer of that name in the training graph',
      found: 'neither',
      fix: "pass the forward model's values: `params: paramsFromModel(model, graph.params)`",
    });
  }
  return t.toArray() as Float32Array;
}

/** Initial values of trainable parameters, read (as float32 copies) from the forward model's initializers. */
export function paramsFromModel(model: Model, names: readonly string[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const name of names) {
    const t = model.graph.initializers.get(name);
    if (!t || (t.dtype !== 'float32' && t.dtype !== 'float64')) {
      throw new GraftError('NOT_FOUND', `The model has no float initializer '${name}'`, {
        value: name,
        expected: 'a float32 initializer of the forward model',
        found: t ? t.dtype : 'nothing of that name',
        fix: 'pass the forward model the training graph was built from',
      });
    }
    out[name] = Float32Array.from(t.toArray() as Float32Array | Float64Array);
  }
  return out;
}

function paramDims(g: TrainerGraph, name: string, size: number): number[] {
  const shape = g.model.graph.inputs.find((i) => i.name === name)?.shape;
  const dims = shape?.every((d): d is number => typeof d === 'number')
    ? shape
    : g.model.graph.initializers.get(name)?.dims;
  if (!dims) {
    throw new GraftError('BAD_GRAPH', `Trainable parameter '${name}' has no static shape`, {
      value: name,
      fix: 'declare the parameter input with its full shape',
    });
  }
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== size) {
    throw new GraftError('SHAPE_MISMATCH', `Initial value of '${name}' has the wrong size`, {
      value: name,
      expected: `${n} values ([${dims.join(', ')}])`,
      found: `${size}`,
    });
  }
  return [...dims];
}

function scalarOf(t: HostTensor | undefined, name: string): number {
  if (!t || t.data.length !== 1) {
    throw new GraftError('BAD_GRAPH', `Loss output '${name}' is not a scalar`, {
      value: name,
      expected: '1 value (mean over the batch)',
      found: t ? `${t.data.length} values [${t.dims.join(', ')}]` : 'nothing',
    });
  }
  return Number(t.data[0]);
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function checkPositiveInt(v: number, what: string, allowZero = false): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new GraftError(
      'CONFIG',
      `Trainer option '${what}' must be a ${allowZero ? 'non-negative' : 'positive'} integer`,
      {
        value: what,
        found: String(v),
      },
    );
  }
}

function withoutName(o: { name: string } & OptimizerOptions): OptimizerOptions {
  const { name: _name, ...rest } = o;
  return rest;
}

function now(): number {
  return globalThis.performance.now();
}
