import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { type LrFindResult, findLearningRate } from '../transfer/finetune/lr-find.js';
import { type FineTuneOptions, preparePhase } from '../transfer/finetune/run.js';
import type { PhaseSpec } from '../transfer/strategies/index.js';
import { paramsFromModel } from '../train/trainer.js';
import { type FineTuneSetupOptions, type ActivationSource, setupFineTune } from './finetune-setup.js';

export interface LrFindImageOptions extends FineTuneSetupOptions {
  startLr?: number;
  endLr?: number;
  steps?: number;
  /** write the sweep as CSV (.csv) or JSON (anything else) */
  out?: string;
}

export interface LrFindImageResult extends LrFindResult {
  /** the phase swept: the strategy's main training phase */
  phase: string;
  trainableParams: number;
  freezeReport: string[];
  activations: ActivationSource;
  outFile?: string;
}

/**
 * `graft lr-find`: sets up fine-tuning exactly as `graft train` would (data, backbone, freeze plan,
 * activation cache) and runs the learning-rate range test on the strategy's main training phase, from a
 * fresh head. With the default `--unfreeze none` that is the head alone on cached pooled features, which
 * takes seconds; `--unfreeze last:2` sweeps the head and the top two blocks together.
 */
export async function lrFindImages(opts: LrFindImageOptions): Promise<LrFindImageResult> {
  let freezeLines: string[] = [];
  const setup = await setupFineTune({
    ...opts,
    defaultUnfreeze: 'none',
    augment: false,
    onEvent: (e) => {
      if (e.type === 'freeze-report') freezeLines = e.lines;
      opts.onEvent?.(e);
    },
  });
  try {
    const main = [...setup.phases].reverse().find((p) => p.kind === 'train');
    const phase: PhaseSpec = main ?? {
      name: 'head',
      kind: 'train',
      blocks: [],
      epochs: 1,
      lr: setup.settings.lr,
      schedule: 'constant',
    };
    const ftOpts: FineTuneOptions = {
      model: setup.classifier.model,
      logits: setup.classifier.logits,
      featureValue: setup.classifier.featureValue,
      headParams: setup.classifier.headParams,
      plan: setup.plan,
      phases: [phase],
      data: setup.data,
      numClasses: setup.classes.length,
      batchSize: opts.batchSize,
      weightDecay: opts.weightDecay,
      labelSmoothing: opts.labelSmoothing,
      seed: setup.seed,
      session: setup.session,
    };
    const prepared = await preparePhase(ftOpts, setup.classifier.model, phase);
    opts.onEvent?.({
      type: 'stage',
      message: `sweeping the learning rate for phase ${phase.name}: ${prepared.trainableCount.toLocaleString('en-US')} trainable parameters, inputs ${prepared.inputs} (at ${prepared.at})`,
    });
    const result = await findLearningRate({
      graph: prepared.graph,
      params: paramsFromModel(setup.classifier.model, prepared.graph.params),
      train: prepared.train,
      batchSize: opts.batchSize,
      startLr: opts.startLr,
      endLr: opts.endLr,
      steps: opts.steps,
      weightDecay: opts.weightDecay,
      groups: prepared.groups,
      seed: setup.seed,
      session: setup.session,
    });
    let outFile: string | undefined;
    if (opts.out) {
      outFile = resolve(opts.cwd ?? process.cwd(), opts.out);
      writeSweep(outFile, result);
    }
    return {
      ...result,
      phase: phase.name,
      trainableParams: prepared.trainableCount,
      freezeReport: freezeLines,
      activations: setup.source,
      outFile,
    };
  } finally {
    await setup.dispose();
  }
}

function writeSweep(file: string, r: LrFindResult): void {
  try {
    if (file.toLowerCase().endsWith('.csv')) {
      const rows = r.points.map((p) => `${p.step},${p.lr},${p.loss},${p.smoothed}`);
      writeFileSync(file, ['step,lr,loss,smoothed', ...rows].join('\n') + '\n');
    } else writeFileSync(file, JSON.stringify(r, null, 1) + '\n');
  } catch (e) {
    throw new GraftError('IO', 'Cannot write the learning-rate sweep', {
      file,
      found: (e as Error).message,
      fix: 'check that the folder exists and is writable',
    });
  }
}
