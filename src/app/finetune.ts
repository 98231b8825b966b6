import { resolve } from 'node:path';
import type { ImageItem } from '../data/node/images.js';
import { ImageLoader } from '../data/node/loader.js';
import type { Model } from '../onnx/graph.js';
import type { BadFile } from '../report/run-folder.js';
import { Session } from '../runtime/session.js';
import { cut } from '../surgery/cut.js';
import { formatUnfreeze } from '../transfer/finetune/freeze-plan.js';
import { forwardAll } from '../transfer/finetune/forward.js';
import { applyTrainedParams } from '../autodiff/build.js';
import type { KeptModel } from '../report/run-folder.js';
import { crossValidateFineTune } from '../transfer/finetune/cross-validate.js';
import {
  type FineTuneOptions,
  type FineTuneProgress,
  type FineTuneResult,
  type LabelledSamples,
  fineTune,
} from '../transfer/finetune/run.js';
import { AUTO_MIN_HELD_OUT, type Selection, selectCandidate } from '../transfer/finetune/select.js';
import { strategyInfo } from '../transfer/strategies/index.js';
import { GraftError } from '../errors.js';
import { upperGraph } from '../transfer/finetune/split.js';
import { formatHeadChoice } from '../transfer/heads/index.js';
import { graftClassifier } from '../transfer/pipeline-graft.js';
import type { EpochRecord } from '../train/types.js';
import { badFilesOf } from './data.js';
import {
  type FineTuneEvent,
  type FineTuneSetupOptions,
  type FineTuneSetup,
  type ActivationSource,
  setupFineTune,
} from './finetune-setup.js';
import { imageLogLines } from './train-image.js';
import {
  dataFingerprint,
  readProgress,
  readResumeSettings,
  saveProgress,
  saveResumeSettings,
} from './finetune-resume.js';
import { type RunResult, type ScoredSplit, endRun, runRecord, startRun } from './run-end.js';
import { type RunFolderChoice, checkRunFolder } from './run-folder.js';

export interface FineTuneImageOptions extends FineTuneSetupOptions, RunFolderChoice {
  /** the run folder to write */
  out: string;
  /** auto: validation examples it decides on without cross-validating (default AUTO_MIN_HELD_OUT; tests lower it) */
  autoMinHeldOut?: number;
}

export interface FineTuneImageResult extends RunResult {
  unfreeze: string;
  kept: KeptModel;
  badFiles: BadFile[];
  /** the freeze report printed before training */
  freezeReport: string[];
  trainableParams: number;
  totalParams: number;
  phases: FineTuneResult['phases'];
  activations: ActivationSource;
  /** mean seconds per epoch of each phase */
  epochSeconds: Record<string, number>;
  inputSize: [number, number];
  fromScratch: boolean;
}

/** The model a fine-tune saves: its final one, or (auto) the probe when that did better on held-out data. */
interface ModelChoice {
  model: Model;
  kept: KeptModel;
  /** out-of-fold logits of the kept candidate, when auto cross-validated: the temperature is chosen on them */
  calibrateOn?: { logits: Float32Array; labels: Int32Array; folds: number };
}

/**
 * Says which model the run saves and why. A strategy's phases keep their last epoch (a probe phase its
 * lowest-validation-loss epoch), so the saved model is the last phase's; `auto` then compares the model its
 * probe phase ended with against the final one on held-out predictions (the validation split when it holds
 * AUTO_MIN_HELD_OUT examples, else out-of-fold predictions of k-fold cross-validation on all labelled
 * examples) and keeps the better.
 */
async function chooseModel(
  setup: FineTuneSetup,
  opts: FineTuneOptions,
  result: FineTuneResult,
  emit: (e: FineTuneEvent) => void,
  minHeldOut: number,
): Promise<ModelChoice> {
  const epochs = result.history.length;
  const offsetOf = (i: number) => result.phases.slice(0, i).reduce((a, p) => a + p.epochs, 0);
  const phaseKept = (i: number): KeptModel => {
    const p = result.phases[i]!;
    const epoch = offsetOf(i) + (p.bestEpoch ?? p.epochs);
    const why =
      p.bestEpoch !== undefined
        ? `the epoch of phase ${p.name} with the lowest validation loss`
        : p.kind === 'probe'
          ? `the last epoch of phase ${p.name}`
          : `the last epoch of phase ${p.name} (phases that train blocks keep their last epoch: their rate anneals to ~0 and their validation loss is a poor guide on small data)`;
    const wise =
      p.interpolated !== undefined
        ? `, its weights then set to start + ${p.interpolated} x (trained - start), between the phase's start and its end (WiSE-FT, --interpolate)`
        : '';
    return { epoch, epochs, phase: p.name, reason: why + wise };
  };
  const lastIndex = result.phases.length - 1;
  const final: ModelChoice = { model: result.model, kept: phaseKept(lastIndex) };
  if (!strategyInfo(setup.strategy).keepsBetter || !result.probeValues || lastIndex < 0) return final;
  const probeIndex = result.phases.map((p) => p.kind).lastIndexOf('probe');
  const probe: ModelChoice = {
    model: applyTrainedParams(opts.model, result.probeValues),
    kept: phaseKept(probeIndex),
  };
  if (probeIndex === lastIndex) return probe;
  const k = setup.classes.length;
  const val = setup.data.val;
  const names = ['probe', result.phases[lastIndex]!.name];
  let selection: Selection;
  let calibrateOn: ModelChoice['calibrateOn'];
  if (val && val.labels.length >= minHeldOut) {
    const logitsOf = async (m: Model) =>
      (await forwardAll(above(m, setup.data.at), val, { outputs: [opts.logits], session: setup.session }))[opts.logits]!
        .data;
    selection = selectCandidate(
      [
        { name: names[0]!, logits: await logitsOf(probe.model) },
        { name: names[1]!, logits: await logitsOf(result.model) },
      ],
      val.labels,
      k,
      { method: 'validation', prefer: names[1] },
    );
  } else {
    const pooled = setup.data.train.labels.length + (val?.labels.length ?? 0);
    emit({
      type: 'stage',
      message: `auto: ${val?.labels.length ?? 0} validation images are fewer than the ${minHeldOut} a decision needs: cross-validating probe and fine-tune on all ${pooled} labelled images`,
    });
    // each fold's probe trains to the epoch the run's probe kept, as the run's own fine-tune started from it
    const oof = await crossValidateFineTune(
      {
        ...opts,
        probeStopAfter: result.phases[probeIndex]?.bestEpoch,
        data: { at: setup.data.at, train: setup.data.train, val },
      },
      {
        seed: setup.seed,
        onFold: (f, n) => emit({ type: 'stage', message: `  fold ${f}/${n}` }),
      },
    );
    selection = selectCandidate(
      [
        { name: names[0]!, logits: oof.logits.probe! },
        { name: names[1]!, logits: oof.logits.final },
      ],
      oof.labels,
      k,
      { method: 'cross-validation', folds: oof.folds, prefer: names[1] },
    );
    const keptLogits = selection.kept === names[0] ? oof.logits.probe! : oof.logits.final;
    calibrateOn = { logits: keptLogits, labels: oof.labels, folds: oof.folds };
  }
  const chosen = selection.kept === names[0] ? probe : final;
  return {
    model: chosen.model,
    kept: {
      ...chosen.kept,
      reason: `${selection.reason}; within it, ${chosen.kept.reason}`,
      selection: {
        method: selection.method,
        examples: selection.examples,
        ...(selection.folds !== undefined ? { folds: selection.folds } : {}),
        candidates: selection.scores,
      },
    },
    ...(calibrateOn ? { calibrateOn } : {}),
  };
}

/** The graph above the cached value (the whole model when the cache holds the images themselves). */
function above(model: Model, at: string): Model {
  return model.graph.dataInputs.some((i) => i.name === at) ? model : upperGraph(model, at);
}

/**
 * Fine-tunes a pretrained image backbone (or trains the architecture from scratch) and writes a run
 * folder in the format `graft train` uses: the freeze report and the phases are printed first, the
 * training inputs come from the freeze-boundary cache when augmentation is off, the softmax temperature
 * is fitted on val, val and test are scored, and model.onnx holds the fine-tuned backbone and head with
 * labels, preprocessing and provenance.
 */
export async function fineTuneImageClassifier(opts: FineTuneImageOptions): Promise<FineTuneImageResult> {
  let freezeLines: string[] = [];
  const start = startRun<FineTuneEvent>(opts.onEvent, (e) => {
    if (e.type === 'freeze-report') freezeLines = e.lines;
    return fineTuneLogLines(e);
  });
  const { emit } = start;
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out);
  const { resuming } = checkRunFolder(out, opts);
  const setup = await setupFineTune({ ...opts, onEvent: emit });
  const fingerprint = dataFingerprint(setup.items);
  let resumeFrom: FineTuneProgress | undefined;
  if (resuming) {
    const saved = readResumeSettings(out);
    if (saved.baseModelSha256 !== setup.backbone.sha256 || saved.dataFingerprint !== fingerprint) {
      throw new GraftError(
        'CHECKPOINT',
        `The ${saved.baseModelSha256 !== setup.backbone.sha256 ? 'backbone' : 'data set'} changed since the interrupted run started`,
        {
          file: out,
          fix: 'resume with the same model and data, or start over with --overwrite',
        },
      );
    }
    resumeFrom = readProgress(out);
    emit({
      type: 'stage',
      message: resumeFrom
        ? `resuming after ${resumeFrom.history.length + (resumeFrom.trainer?.epoch ?? 0)} finished epoch(s) (${resumeFrom.phasesDone} of ${setup.phases.length} phases done)`
        : 'resuming from the start: the interrupted run finished no epoch',
    });
  } else {
    saveResumeSettings(out, {
      ...opts,
      data: resolve(cwd, opts.data),
      baseModelSha256: setup.backbone.sha256,
      dataFingerprint: fingerprint,
    });
  }
  const ftOpts: FineTuneOptions = {
    model: setup.classifier.model,
    logits: setup.classifier.logits,
    featureValue: setup.classifier.featureValue,
    headParams: setup.classifier.headParams,
    head: setup.head,
    plan: setup.plan,
    phases: setup.phases,
    data: setup.data,
    numClasses: setup.classes.length,
    batchSize: opts.batchSize,
    weightDecay: opts.weightDecay,
    labelSmoothing: opts.labelSmoothing,
    anchor: opts.anchor,
    seed: setup.seed,
    session: setup.session,
  };
  let result: FineTuneResult;
  try {
    result = await fineTune({
      ...ftOpts,
      resumeFrom,
      onProgress: (p) => saveProgress(out, p),
      onPhase: (e) =>
        emit({
          type: 'phase',
          name: e.phase.name,
          message: `phase ${e.phase.name}: ${e.trainableParams.toLocaleString('en-US')} trainable parameters, inputs ${e.inputs} (at ${e.at})`,
        }),
      onEpoch: (e) => emit({ type: 'epoch', record: e.record, epochs: e.epochs }),
    });
  } finally {
    await setup.dispose();
  }
  const choice = await chooseModel(setup, ftOpts, result, emit, opts.autoMinHeldOut ?? AUTO_MIN_HELD_OUT);
  emit({ type: 'stage', message: 'scoring val and test' });
  const evaluation = await evaluateSplits(setup, choice.model);
  const classes = setup.classes;

  const plan = setup.plan;
  const unfreeze = formatUnfreeze(plan.selector);
  const headText = formatHeadChoice(setup.head);
  const trainSeconds = result.phases.reduce((a, p) => a + p.seconds, 0);
  const epochSeconds: Record<string, number> = {};
  for (const p of result.phases) {
    const recs = result.history.filter((h) => h.phase === p.name);
    if (recs.length) epochSeconds[p.name] = recs.reduce((a, r) => a + r.seconds, 0) / recs.length;
  }
  const config = {
    epochs: setup.settings.epochs,
    lr: setup.settings.lr,
    batch: opts.batchSize ?? 32,
    seed: setup.seed,
    unfreeze,
    bn: plan.bnMode,
    freeze: opts.freeze ?? '',
    headEpochs: opts.headEpochs ?? null,
    probeEpochs: opts.probeEpochs ?? null,
    discriminative: opts.discriminative ?? null,
    anchor: opts.anchor ?? 0,
    interpolate: result.phases.find((p) => p.interpolated !== undefined)?.interpolated ?? 1,
    schedule: opts.schedule ?? null,
    weightDecay: opts.weightDecay ?? null,
    labelSmoothing: opts.labelSmoothing ?? 0,
    valSplit: opts.valSplit ?? 0.1,
    testSplit: opts.testSplit ?? 0,
    fromScratch: setup.fromScratch,
    augment: opts.augment === true,
    inputSize: [...setup.backbone.preprocessing.size],
    resize: setup.backbone.preprocessing.resize,
    featureValue: setup.backbone.featureValue,
    activations: setup.source.kind,
    boundary: plan.boundary,
    trainableParams: plan.trainableCount,
    totalParams: plan.totalCount,
    phases: result.phases.map((p) => `${p.name}: ${p.epochs} epochs, ${p.seconds.toFixed(1)}s`),
  };
  const badFiles = badFilesOf(setup.issues);
  const history = renumber(result.history);
  const { run, counts } = runRecord({
    start,
    model: setup.backbone.name,
    strategy: setup.strategy,
    head: headText,
    config,
    data: { kind: 'image', source: resolve(cwd, opts.data), root: setup.ds.root, classes },
    examples: (['train', 'val', 'test'] as const).flatMap((split) =>
      setup.items[split].map((it) => ({ label: it.label, split })),
    ),
    badFiles,
    featureSeconds: setup.source.seconds,
    trainSeconds,
    perSecond: setup.source.imagesPerSecond,
    trainExamples: setup.items.train.length,
    epochs: history.length,
    device: opts.device,
    threads: opts.threads,
  });
  const featureValue = setup.classifier.featureValue;
  const end = endRun({
    out,
    classes,
    ...evaluation,
    exportModel: ({ temperature, provenance }) =>
      graftClassifier({
        backbone: cut(choice.model, featureValue),
        featureValue,
        head: upperGraph(choice.model, featureValue),
        labels: classes,
        preprocessing: setup.backbone.preprocessing,
        temperature,
        provenance,
      }),
    provenance: { baseModelSha256: setup.backbone.sha256, featureValue: setup.backbone.featureValue, config },
    trainExamples: setup.items.train.length,
    run,
    history,
    kept: choice.kept,
    ...(choice.calibrateOn ? { calibrateOn: choice.calibrateOn } : {}),
    datasetReport: { ...setup.ds.report, issues: setup.issues },
    log: start.log,
    files: {
      'finetune.json': {
        strategy: setup.strategy,
        unfreeze,
        bn: plan.bnMode,
        boundary: plan.boundary,
        blocks: plan.blocks.map((p) => ({
          name: p.block.name,
          kind: p.block.kind,
          params: p.block.paramCount,
          trainable: p.trainableCount,
          batchNorms: p.block.batchNorms.length,
          bn: p.bn,
          input: p.block.input,
        })),
        phases: result.phases,
        epochSeconds,
        activations: setup.source,
        batchNormStats: result.batchNormStats ?? null,
        reinitialized: setup.reinitialized ?? null,
        kept: choice.kept,
      },
    },
    unit: 'images',
    say: (message) => emit({ type: 'stage', message }),
  });
  return {
    runDir: out,
    modelPath: end.modelPath,
    model: setup.backbone.name,
    strategy: run.strategy,
    unfreeze,
    head: headText,
    classes,
    counts,
    badFiles,
    val: end.val,
    test: end.test,
    temperature: end.temperature,
    calibration: end.metrics.calibration?.fit,
    kept: choice.kept,
    freezeReport: freezeLines,
    trainableParams: plan.trainableCount,
    totalParams: plan.totalCount,
    phases: result.phases,
    activations: setup.source,
    epochSeconds,
    epochs: history.length,
    seconds: run.timing.totalSeconds,
    inputSize: [setup.backbone.preprocessing.size[0], setup.backbone.preprocessing.size[1]],
    fromScratch: setup.fromScratch,
    reports: end.reports,
  };
}

/**
 * Logits of val and test. Cached activations go through the trained graph above the boundary; a split
 * without cached activations (test, when the first block trained or augmentation was on) is decoded and
 * run through the whole fine-tuned model in batches.
 */
async function evaluateSplits(setup: FineTuneSetup, model: Model): Promise<{ val?: ScoredSplit; test?: ScoredSplit }> {
  const at = setup.data.at;
  const atInput = at === setup.backbone.inputName;
  const upper = atInput ? model : upperGraph(model, at);
  const logits = setup.classifier.logits;
  const fromCache = async (s: LabelledSamples, items: ImageItem[]): Promise<ScoredSplit> => ({
    logits: (await forwardAll(upper, s, { outputs: [logits], session: setup.session }))[logits]!.data,
    labels: s.labels,
    ids: items.map((it) => it.id),
  });
  const val = setup.data.val ? await fromCache(setup.data.val, setup.items.val) : undefined;
  let test: ScoredSplit | undefined;
  if (setup.test) test = await fromCache(setup.test, setup.items.test);
  else if (setup.items.test.length) test = await streamLogits(setup, model, setup.items.test);
  return { val, test };
}

async function streamLogits(setup: FineTuneSetup, model: Model, items: ImageItem[]): Promise<ScoredSplit> {
  const session = await Session.create(model, setup.session);
  const logitsName = setup.classifier.logits;
  const input = setup.backbone.inputName;
  const classes = setup.classes.length;
  const out = new Float32Array(items.length * classes);
  const labels = new Int32Array(items.length);
  let row = 0;
  const scored: ImageItem[] = [];
  try {
    const loader = new ImageLoader(items, {
      preprocessing: setup.backbone.preprocessing,
      labels: setup.ds.labels,
      batchSize: 64,
      limits: setup.limits,
    });
    for await (const b of loader.epoch()) {
      const r = await session.run({ [input]: { dtype: 'float32', dims: b.dims, data: b.x } }, [logitsName]);
      out.set(r[logitsName]!.data as Float32Array, row * classes);
      labels.set(b.labels, row);
      scored.push(...b.items);
      row += b.items.length;
    }
  } finally {
    await session.dispose();
  }
  return { logits: out.subarray(0, row * classes), labels: labels.subarray(0, row), ids: scored.map((it) => it.id) };
}

/** What train.log keeps of a fine-tune's events. */
function fineTuneLogLines(e: FineTuneEvent): string[] {
  switch (e.type) {
    case 'freeze-report':
      return ['freeze report:', ...e.lines];
    case 'phases':
      return ['phases:', ...e.lines.map((l) => `  ${l}`)];
    case 'phase':
      return [e.message];
    default:
      return imageLogLines(e);
  }
}

/** Epochs numbered 1.. across phases (run folders want one increasing count); the phase stays in each row. */
function renumber(history: readonly (EpochRecord & { phase: string })[]): (EpochRecord & { phase: string })[] {
  return history.map((h, i) => ({ ...h, epoch: i + 1 }));
}

/** What a resumed run takes from the new command: where it runs and where models come from, not what it trains. */
export type ResumeRuntime = Pick<
  FineTuneImageOptions,
  'device' | 'threads' | 'cacheDir' | 'offline' | 'refresh' | 'env' | 'cwd' | 'onEvent' | 'onSourceEvent' | 'limits'
>;

/**
 * Continues the fine-tune interrupted in `runDir` from its last finished epoch, with the data and settings it
 * started with (saved in the run folder); the model it writes is the one the uninterrupted run would have.
 */
export async function resumeFineTuneRun(runDir: string, runtime: ResumeRuntime): Promise<FineTuneImageResult> {
  const out = resolve(runtime.cwd ?? process.cwd(), runDir);
  checkRunFolder(out, { resume: true });
  const { baseModelSha256: _sha, dataFingerprint: _fp, ...saved } = readResumeSettings(out);
  return fineTuneImageClassifier({ ...saved, ...runtime, out, resume: true });
}
