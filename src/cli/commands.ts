import type { App } from '../app/index.js';
import type { PullSettings } from '../zoo/node/pull.js';
import type { CliIo } from './io.js';
import {
  limitOptions,
  outputOptions,
  registryOptions,
  sourceOptions,
  type AnyOptionTable,
  type LimitSettings,
  type OptionTable,
  type OutputSettings,
  type RegistrySettings,
} from './options.js';
import type { SourceSettings } from '../zoo/sources/events.js';
import type { ResizeMode } from '../data/preprocessing.js';
import type { Device } from '../runtime/session.js';
import {
  type FeatureStrategy,
  type FineTuneStrategy,
  type StrategyName,
  STRATEGIES,
  strategyNames,
} from '../transfer/strategies/index.js';
import { HEAD_KINDS } from '../transfer/heads/index.js';
import {
  type FineTuneCliSettings,
  type LrFindOnlySettings,
  fineTuneOptions,
  lrFindOnlyOptions,
} from './finetune-options.js';
import { textTableOptions, textTrainOptions } from './text-options.js';
import type { TextOnlySettings } from '../app/train-text.js';
import { CACHE_COMMANDS } from './cache-commands.js';

export interface ArgSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** the last argument only: takes every remaining positional (FILES...) */
  variadic?: boolean;
}

export interface CommandContext<O> {
  /** the recipes the command calls (tests pass a recording App) */
  app: App;
  options: Partial<O>;
  /** the command's table entry (flags by setting name), when run through runCli */
  command?: AnyCommand;
  args: Record<string, string | undefined>;
  /** every value of a variadic last argument; [] otherwise */
  rest?: readonly string[];
  io: CliIo;
}

export interface CommandModule<O> {
  run(ctx: CommandContext<O>): Promise<number>;
}

/** One subcommand: its words, arguments and option table; its code is imported only when it runs. */
export interface CommandSpec<O> {
  path: readonly string[];
  summary: string;
  args: readonly ArgSpec[];
  options: OptionTable<O>;
  examples?: readonly string[];
  load(): Promise<CommandModule<O>>;
}

/** A command with its settings type erased, as the parser and the help see the table. */
export interface AnyCommand {
  path: readonly string[];
  summary: string;
  args: readonly ArgSpec[];
  options: AnyOptionTable;
  examples?: readonly string[];
  load(): Promise<CommandModule<Record<string, unknown>>>;
}

/** Checks a command against its own settings type, then erases the type for the shared table. */
function define<O>(spec: CommandSpec<O>): AnyCommand {
  return spec as unknown as AnyCommand;
}

export type ZooListSettings = OutputSettings & RegistrySettings;
export type ZooPullSettings = OutputSettings & RegistrySettings & SourceSettings & Pick<PullSettings, 'maxWords'>;
export type InspectSettings = OutputSettings & RegistrySettings & SourceSettings;
export type ReportSettings = OutputSettings & { out?: string };

/** Which backbone, where to cut it and how to resize images for it. */
export interface BackboneCliSettings {
  model?: string;
  cut?: string;
  resize?: ResizeMode | 'auto';
  extractBatch?: number;
}

/** Where onnxruntime runs. */
export interface RuntimeCliSettings {
  device?: Device;
  threads?: number;
}

export interface HeadCliSettings {
  strategy?: StrategyName;
  head?: string;
  epochs?: number;
  lr?: number;
  batch?: number;
  weightDecay?: number;
  dropout?: number;
  valSplit?: number;
  testSplit?: number;
  seed?: number;
  classWeight?: 'none' | 'balanced';
}

export type TrainSettings = OutputSettings &
  LimitSettings &
  RegistrySettings &
  SourceSettings &
  BackboneCliSettings &
  RuntimeCliSettings &
  HeadCliSettings &
  FineTuneCliSettings &
  TextOnlySettings & { out?: string; overwrite?: boolean; resume?: string };
export type LrFindSettings = OutputSettings &
  LimitSettings &
  RegistrySettings &
  SourceSettings &
  BackboneCliSettings &
  RuntimeCliSettings &
  Pick<HeadCliSettings, 'head' | 'lr' | 'batch' | 'weightDecay' | 'valSplit' | 'seed'> &
  Omit<FineTuneCliSettings, 'augment' | 'headEpochs' | 'probeEpochs' | 'schedule' | 'anchor' | 'interpolate'> &
  LrFindOnlySettings & { strategy?: FineTuneStrategy };
export type DemoSettings = OutputSettings &
  SourceSettings &
  RuntimeCliSettings &
  Pick<HeadCliSettings, 'seed'> & { strategy?: FeatureStrategy; out?: string; model?: string };
/** Columns of a text table, for the commands that read one. */
export interface TextTableCliSettings {
  textField?: string;
  labelField?: string;
}
export type PredictSettings = OutputSettings &
  LimitSettings &
  RuntimeCliSettings &
  Pick<TextTableCliSettings, 'textField'> & { top?: number; batch?: number; text?: string };
export type EvalSettings = OutputSettings &
  LimitSettings &
  RuntimeCliSettings &
  TextTableCliSettings & { split?: 'train' | 'val' | 'test' | 'all'; batch?: number };
/** Which share of an array job this process does (graft embed, graft compare). */
export interface ShardCliSettings {
  shard?: string;
}

export type EmbedSettings = OutputSettings &
  LimitSettings &
  RegistrySettings &
  SourceSettings &
  BackboneCliSettings &
  RuntimeCliSettings &
  ShardCliSettings &
  TextTableCliSettings & { out?: string; format?: 'npy' | 'jsonl' | 'csv'; maxTokens?: number };
export type CompareSettings = OutputSettings &
  LimitSettings &
  RegistrySettings &
  SourceSettings &
  BackboneCliSettings &
  RuntimeCliSettings &
  ShardCliSettings &
  QueueCliSettings &
  Pick<HeadCliSettings, 'epochs' | 'valSplit' | 'testSplit'> & {
    out?: string;
    strategies?: string;
    fractions?: string;
    seeds?: number;
    inputSize?: number;
    scratchInputSize?: number;
    scratchEpochs?: number;
    unfreeze?: string;
    resume?: boolean;
  };
/** Where a study's runs are queued (graft compare --queue, graft worker). */
export interface QueueCliSettings {
  queue?: string;
  queueName?: string;
}
export type MergeSettings = OutputSettings;
export type WorkerSettings = OutputSettings &
  RegistrySettings &
  SourceSettings &
  RuntimeCliSettings &
  QueueCliSettings & { lockSeconds?: number; idleExit?: number; maxRuns?: number };
export type ServeCliSettings = OutputSettings &
  RuntimeCliSettings &
  Pick<LimitSettings, 'maxPixels' | 'maxInputPixels'> & {
    host?: string;
    port?: number;
    token?: string;
    maxBatch?: number;
    maxDelayMs?: number;
    maxQueue?: number;
    maxBody?: number;
    bodyTimeout?: number;
    top?: number;
  };
export type StudioCliSettings = OutputSettings &
  RegistrySettings & { port?: number; host?: string; open?: boolean; cacheDir?: string };
export type ExportSettings = OutputSettings &
  Pick<LimitSettings, 'maxInputPixels'> & { format?: 'transformers.js' | 'onnx'; out?: string };

const RESIZE_MODES = ['auto', 'squash', 'center-crop', 'pad', 'shorter-side-then-crop'] as const satisfies readonly (
  ResizeMode | 'auto'
)[];
const DEVICES = ['cpu', 'webgpu', 'cuda'] as const satisfies readonly Device[];

const runtimeOptions: OptionTable<RuntimeCliSettings> = {
  device: {
    flag: 'device',
    type: 'enum',
    choices: DEVICES,
    description: 'onnxruntime execution provider (default cpu)',
  },
  threads: {
    flag: 'threads',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'onnxruntime intra-op threads (default: one per core)',
  },
};

const backboneOptions: OptionTable<BackboneCliSettings> = {
  model: {
    flag: 'model',
    short: 'm',
    type: 'string',
    placeholder: 'NAME',
    description: 'backbone: a zoo name or an .onnx path (default efficientnet_b0.imagenet)',
  },
  cut: {
    flag: 'cut',
    type: 'string',
    placeholder: 'VALUE',
    description: "value to cut the backbone at (default: the zoo entry's feature output)",
  },
  resize: {
    flag: 'resize',
    type: 'enum',
    choices: RESIZE_MODES,
    placeholder: 'MODE',
    description:
      "auto (default: squash images smaller than the model input, else the model's rule), squash, center-crop, pad, shorter-side-then-crop",
  },
  extractBatch: {
    flag: 'extract-batch',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'images per backbone run when extracting features (default 32)',
  },
};

const headOptions: OptionTable<HeadCliSettings> = {
  strategy: {
    flag: 'strategy',
    short: 's',
    type: 'enum',
    choices: strategyNames(),
    description: `default linear-probe (text: feature-extract). ${STRATEGIES.map((s) => `${s.name}: ${s.summary}`).join('; ')}`,
  },
  head: {
    flag: 'head',
    type: 'string',
    placeholder: 'SPEC',
    description: `${HEAD_KINDS.map((h) => h.syntax[h.syntax.length - 1]).join(' | ')} (default: the strategy's)`,
  },
  epochs: {
    flag: 'epochs',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'training epochs (default 100 linear, 60 MLP)',
  },
  lr: {
    flag: 'lr',
    type: 'number',
    min: 0,
    placeholder: 'RATE',
    description: 'AdamW learning rate (default 3e-3 linear, 1e-3 MLP)',
  },
  batch: {
    flag: 'batch',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'head training batch size (default 64)',
  },
  weightDecay: {
    flag: 'weight-decay',
    type: 'number',
    min: 0,
    placeholder: 'W',
    description: 'decoupled weight decay, the L2 penalty (default 0.01)',
  },
  dropout: {
    flag: 'dropout',
    type: 'number',
    min: 0,
    placeholder: 'P',
    description: 'dropout before each layer of an MLP head (default 0.2)',
  },
  valSplit: {
    flag: 'val-split',
    type: 'number',
    min: 0,
    placeholder: 'F',
    description: 'fraction of each class held out for validation and calibration (default 0.1)',
  },
  testSplit: {
    flag: 'test-split',
    type: 'number',
    min: 0,
    placeholder: 'F',
    description: 'fraction held out for testing when DATA has no test/ folder (default 0)',
  },
  seed: {
    flag: 'seed',
    type: 'number',
    integer: true,
    placeholder: 'N',
    description: 'seed of splits, init, shuffling (default 0)',
  },
  classWeight: {
    flag: 'class-weight',
    type: 'enum',
    choices: ['none', 'balanced'],
    description: 'balanced: weight the loss by inverse class frequency',
  },
};

/** What every command that runs a backbone over a data set takes: output, model sources, runtime, limits. */
const backboneRunOptions = {
  ...outputOptions,
  ...registryOptions,
  ...sourceOptions,
  ...backboneOptions,
  ...runtimeOptions,
  ...limitOptions,
};

const shardOptions: OptionTable<ShardCliSettings> = {
  shard: {
    flag: 'shard',
    type: 'string',
    placeholder: 'I/N',
    description:
      'do share I of N (counted from 0) into the shared --out; N alone takes I from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX; graft merge joins the shares',
  },
};

const queueOptions: OptionTable<QueueCliSettings> = {
  queue: {
    flag: 'queue',
    type: 'string',
    placeholder: 'URL',
    description: 'redis://HOST:PORT of a Redis (BullMQ) that graft worker processes take the runs from',
  },
  queueName: {
    flag: 'queue-name',
    type: 'string',
    placeholder: 'NAME',
    description: 'name of the queue on that Redis (default graft-compare)',
  },
};

export const COMMANDS: readonly AnyCommand[] = [
  define<ZooListSettings>({
    path: ['zoo', 'list'],
    summary: 'list the models of the zoo',
    args: [{ name: 'GLOB', description: "filter by name, e.g. 'mobilenet*'", optional: true }],
    options: { ...outputOptions, ...registryOptions },
    examples: ['graft zoo list', "graft zoo list '*.nsfwjs' --json"],
    load: () => import('./commands/zoo-list.js'),
  }),
  define<ZooListSettings>({
    path: ['zoo', 'info'],
    summary: 'show everything the zoo knows about a model',
    args: [{ name: 'NAME', description: 'a zoo model name (arch.tag)' }],
    options: { ...outputOptions, ...registryOptions },
    examples: ['graft zoo info efficientnet_b0.imagenet'],
    load: () => import('./commands/zoo-info.js'),
  }),
  define<ZooPullSettings>({
    path: ['zoo', 'pull'],
    summary: 'fetch a model into the cache (converting TF.js models to ONNX once)',
    args: [{ name: 'NAME', description: 'a zoo model name (arch.tag)' }],
    options: {
      ...outputOptions,
      ...registryOptions,
      ...sourceOptions,
      maxWords: {
        flag: 'max-words',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'word-vector models: keep the N most frequent words',
      },
    },
    examples: ['graft zoo pull efficientnet_b0.imagenet', 'graft zoo pull glove.6b.100d --max-words 50000 --offline'],
    load: () => import('./commands/zoo-pull.js'),
  }),
  define<InspectSettings>({
    path: ['inspect'],
    summary: 'show inputs, outputs, parameters, blocks, cut points and the classifier of a model',
    args: [
      { name: 'MODEL', description: 'a zoo name, an .onnx or TF.js model.json path, or a source (hf:, npm:, https:)' },
    ],
    options: { ...outputOptions, ...registryOptions, ...sourceOptions },
    examples: ['graft inspect efficientnet_b0.imagenet', 'graft inspect ./model.onnx --json'],
    load: () => import('./commands/inspect.js'),
  }),
  define<ReportSettings>({
    path: ['report'],
    summary:
      'write the HTML report of a training run (charts, per-class scores, calibration, worst examples) or of a study (graft compare)',
    args: [
      {
        name: 'RUN_DIR',
        description: 'the run folder graft train wrote, or a study.json (or its folder) from graft compare',
      },
    ],
    options: {
      ...outputOptions,
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'FILE',
        description: 'where to write the HTML (default RUN_DIR/report.html; a study: compare.html beside study.json)',
      },
    },
    examples: [
      'graft report runs/flowers-1',
      'graft report runs/flowers-1 --out flowers.html --json',
      'graft report runs/study/study.json --out study.html',
    ],
    load: () => import('./commands/report.js'),
  }),
  define<TrainSettings>({
    path: ['train'],
    summary: 'train a classifier by transfer (a head on cached features, or fine-tuning blocks) and write a run folder',
    args: [
      {
        name: 'DATA',
        description: 'a folder of class folders (or train/ val/ test/ folders), a manifest, or a text table',
        optional: true,
      },
    ],
    options: {
      ...outputOptions,
      ...registryOptions,
      ...sourceOptions,
      ...backboneOptions,
      ...headOptions,
      ...fineTuneOptions,
      ...textTrainOptions,
      ...runtimeOptions,
      ...limitOptions,
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'RUN_DIR',
        description: 'the run folder to write (required; new or empty)',
      },
      overwrite: {
        flag: 'overwrite',
        type: 'boolean',
        description: "replace the run already in --out (only Graft's own files are removed)",
      },
      resume: {
        flag: 'resume',
        type: 'string',
        placeholder: 'RUN_DIR',
        description:
          'continue the fine-tune interrupted in RUN_DIR from its last finished epoch (same data and settings)',
      },
    },
    examples: [
      'graft train photos/ --out runs/photos-lp',
      'graft train photos/ --strategy fine-tune --unfreeze last:3 --lr 3e-3 --out runs/photos-ft',
      'graft train --resume runs/photos-ft',
      'graft train photos/ --strategy full --from-scratch --epochs 30 --out runs/photos-scratch',
      'graft train photos/ --strategy feature-extract --head mlp:256 --epochs 40 --out runs/photos-mlp',
      'graft train photos/ --strategy knn --head knn:10 --class-weight balanced --out runs/photos-knn --json',
    ],
    load: () => import('./commands/train.js'),
  }),
  define<LrFindSettings>({
    path: ['lr-find'],
    summary: 'sweep the learning rate over one short run (LR range test) and suggest one for fine-tuning',
    args: [{ name: 'DATA', description: 'a folder of class folders (or train/ val/ test/ folders), or a manifest' }],
    options: {
      ...backboneRunOptions,
      strategy: {
        flag: 'strategy',
        short: 's',
        type: 'enum',
        choices: strategyNames({ family: 'weights', data: 'image' }),
        description: 'whose main phase to sweep (default fine-tune; with --unfreeze none: the head alone)',
      },
      head: { ...headOptions.head, description: 'linear (default) | mlp:256[,128]' },
      lr: { ...headOptions.lr, description: 'base rate the phase would use (only its discriminative ratios matter)' },
      batch: { ...headOptions.batch, description: 'batch size of the sweep (default 32)' },
      weightDecay: headOptions.weightDecay,
      valSplit: headOptions.valSplit,
      seed: headOptions.seed,
      unfreeze: {
        ...fineTuneOptions.unfreeze,
        description: 'blocks that train during the sweep (default none: the head)',
      },
      freeze: fineTuneOptions.freeze,
      bn: fineTuneOptions.bn,
      inputSize: fineTuneOptions.inputSize,
      discriminative: fineTuneOptions.discriminative,
      labelSmoothing: fineTuneOptions.labelSmoothing,
      fromScratch: fineTuneOptions.fromScratch,
      ...lrFindOnlyOptions,
    },
    examples: ['graft lr-find photos/', 'graft lr-find photos/ --unfreeze last:2 --input-size 128 --out sweep.csv'],
    load: () => import('./commands/lr-find.js'),
  }),
  define<CompareSettings>({
    path: ['compare'],
    summary: 'compare transfer strategies on growing fractions of the labelled data (accuracy, convergence, time)',
    args: [{ name: 'DATA', description: 'a folder of class folders (or train/ val/ test/ folders), or a manifest' }],
    options: {
      ...backboneRunOptions,
      epochs: headOptions.epochs,
      valSplit: headOptions.valSplit,
      testSplit: {
        flag: 'test-split',
        type: 'number',
        min: 0,
        placeholder: 'F',
        description: 'fraction held out once as the common test split when DATA has no test/ folder (default 0.2)',
      },
      strategies: {
        flag: 'strategies',
        type: 'string',
        placeholder: 'LIST',
        description: 'comma-separated strategies, e.g. scratch,linear-probe,fine-tune (default linear-probe,prototype)',
      },
      fractions: {
        flag: 'fractions',
        type: 'string',
        placeholder: 'PCTS',
        description: 'percentages of the labelled images, e.g. 1,5,10,25,100 (default 10,100)',
      },
      seeds: {
        flag: 'seeds',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'seeds per strategy and fraction: subsample, split and init (default 1)',
      },
      inputSize: {
        flag: 'input-size',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'PX',
        description: "square input size of every strategy, e.g. 96 for small images (default: the model's own)",
      },
      scratchInputSize: {
        flag: 'scratch-input-size',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'PX',
        description: 'input size of the scratch strategy, e.g. 32 for 28x28 images (default: --input-size)',
      },
      scratchEpochs: {
        flag: 'scratch-epochs',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'training epochs of the scratch strategy (default: --epochs, else 15)',
      },
      unfreeze: {
        ...fineTuneOptions.unfreeze,
        description:
          'blocks that train in fine-tune, gradual, lp-ft, full: last:N | all | block:GLOB,.. (default last:3; full: all)',
      },
      resume: {
        flag: 'resume',
        type: 'boolean',
        description: 'keep the runs an interrupted study finished in --out and run only the rest',
      },
      ...shardOptions,
      ...queueOptions,
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'DIR',
        description: 'folder for study.json, compare.html and the run folders (required)',
      },
    },
    examples: [
      'graft compare photos/ --strategies linear-probe,knn,prototype --fractions 1,5,10,25,100 --seeds 3 --out runs/study',
      'graft compare photos/ --model mobilenet_v2.imagenet_hf --strategies scratch,linear-probe,fine-tune --out runs/study --json',
      'graft compare fashion/ --strategies scratch,linear-probe,fine-tune --fractions 1,5,10,25,100 --seeds 3 --input-size 96 --unfreeze last:2 --scratch-input-size 32 --out runs/fashion-study',
      'graft compare photos/ --seeds 5 --out /shared/study --shard 4   # in an array job of 4; then graft merge /shared/study',
      'graft compare photos/ --seeds 5 --out /shared/study --queue redis://10.0.0.5:6379   # with graft worker processes',
    ],
    load: () => import('./commands/compare.js'),
  }),
  define<PredictSettings>({
    path: ['predict'],
    summary: 'classify image files, or texts, with a trained model',
    args: [
      { name: 'MODEL', description: 'RUN_DIR/model.onnx (or the run folder)' },
      {
        name: 'FILES',
        description: 'image files; for a text model, tables of texts (CSV/TSV/JSONL)',
        variadic: true,
        optional: true,
      },
    ],
    options: {
      ...outputOptions,
      ...runtimeOptions,
      ...limitOptions,
      text: {
        flag: 'text',
        type: 'string',
        placeholder: 'TEXT',
        description: 'text models: classify this text',
      },
      textField: textTableOptions.textField,
      top: {
        flag: 'top',
        short: 'k',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'K',
        description: 'classes shown per image (default 3)',
      },
      batch: {
        flag: 'batch',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'images per run (default 16)',
      },
    },
    examples: [
      'graft predict runs/photos-lp/model.onnx cat.jpg dog.png --top 3',
      'graft predict runs/photos-lp img/*.jpg --json',
      'graft predict runs/reviews --text "it broke in a week"',
      'graft predict runs/reviews/model.onnx new-reviews.csv --json',
    ],
    load: () => import('./commands/predict.js'),
  }),
  define<EvalSettings>({
    path: ['eval'],
    summary: 'score a trained model on labelled images or texts',
    args: [
      { name: 'MODEL', description: 'RUN_DIR/model.onnx (or the run folder)' },
      {
        name: 'DATA',
        description: 'a folder of class folders (or train/ val/ test/ folders), a manifest, or a text table',
      },
    ],
    options: {
      ...outputOptions,
      ...runtimeOptions,
      ...limitOptions,
      ...textTableOptions,
      split: {
        flag: 'split',
        type: 'enum',
        choices: ['train', 'val', 'test', 'all'],
        description: 'which images of DATA (default: test/ when DATA has one, else all)',
      },
      batch: {
        flag: 'batch',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'images per run (default 32)',
      },
    },
    examples: [
      'graft eval runs/photos-lp/model.onnx photos-test/',
      'graft eval runs/photos-lp photos/ --split test --json',
      'graft eval runs/reviews/model.onnx reviews-test.csv',
    ],
    load: () => import('./commands/eval.js'),
  }),
  define<EmbedSettings>({
    path: ['embed'],
    summary: 'write backbone features of every image or text to a file (.npy, .jsonl or .csv)',
    args: [
      {
        name: 'DATA',
        description: 'a folder of images in class folders, a manifest, or a text table / folder of texts',
      },
    ],
    options: {
      ...backboneRunOptions,
      ...textTableOptions,
      maxTokens: {
        flag: 'max-tokens',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: "texts: tokens read per text (default: the model's; 512 for word vectors)",
      },
      out: { flag: 'out', short: 'o', type: 'string', placeholder: 'FILE', description: 'output file (required)' },
      format: {
        flag: 'format',
        type: 'enum',
        choices: ['npy', 'jsonl', 'csv'],
        description: 'file format (default: from the extension)',
      },
      ...shardOptions,
    },
    examples: [
      'graft embed photos/ --out photos.npy',
      'graft embed photos/ --model mobilenet_v2.nsfwjs --out feats.csv',
      'graft embed photos/ --out /shared/photos.npy --shard 0/8   # then graft merge /shared/photos.npy',
      'graft embed reviews.csv --model use_lite.en --out reviews.npy',
    ],
    load: () => import('./commands/embed.js'),
  }),
  define<ExportSettings>({
    path: ['export'],
    summary: 'export a trained model, e.g. as a folder a transformers.js pipeline loads',
    args: [{ name: 'MODEL', description: 'RUN_DIR/model.onnx (or the run folder)' }],
    options: {
      ...outputOptions,
      maxInputPixels: limitOptions.maxInputPixels,
      format: {
        flag: 'format',
        type: 'enum',
        choices: ['transformers.js', 'onnx'],
        description: 'transformers.js folder layout (default for image models) or the plain .onnx file (text models)',
      },
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'PATH',
        description: 'output folder (or file for onnx) (required)',
      },
    },
    examples: [
      'graft export runs/photos-lp/model.onnx --format transformers.js --out web/model',
      'graft export runs/reviews/model.onnx --format onnx --out reviews.onnx',
    ],
    load: () => import('./commands/export.js'),
  }),
  define<DemoSettings>({
    path: ['demo'],
    summary: 'train a Fashion-MNIST classifier by transfer on the bundled subset and report its test accuracy',
    args: [],
    options: {
      ...outputOptions,
      ...sourceOptions,
      ...runtimeOptions,
      strategy: {
        flag: 'strategy',
        short: 's',
        type: 'enum',
        choices: strategyNames({ family: 'features', data: 'image' }),
        description: 'how to train on the cached features (default linear-probe)',
      },
      seed: headOptions.seed,
      model: backboneOptions.model,
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'RUN_DIR',
        description: 'run folder (default ./graft-demo)',
      },
    },
    examples: ['npm run demo', 'graft demo --strategy knn --out /tmp/demo-knn'],
    load: () => import('./commands/demo.js'),
  }),
  define<OutputSettings & { device?: Device }>({
    path: ['doctor'],
    summary: 'check which execution providers can train here: a gradient self-test and known kernel bugs on each',
    args: [],
    options: {
      ...outputOptions,
      device: { ...runtimeOptions.device, description: 'check only this provider; exit 1 when it cannot train here' },
    },
    examples: ['graft doctor', 'graft doctor --device webgpu --json'],
    load: () => import('./commands/doctor.js'),
  }),
  define<MergeSettings>({
    path: ['merge'],
    summary: 'join the shards of graft embed --shard or graft compare --shard into one output',
    args: [{ name: 'TARGET', description: 'the --out the shards were given (an embedding file or a study folder)' }],
    options: { ...outputOptions },
    examples: ['graft merge /shared/photos.npy', 'graft merge /shared/study --json'],
    load: () => import('./commands/merge.js'),
  }),
  define<WorkerSettings>({
    path: ['worker'],
    summary: 'take the runs of graft compare --queue off a Redis queue and carry them out, until stopped',
    args: [],
    options: {
      ...outputOptions,
      ...registryOptions,
      ...sourceOptions,
      ...runtimeOptions,
      ...queueOptions,
      lockSeconds: {
        flag: 'lock-seconds',
        type: 'number',
        min: 1,
        placeholder: 'S',
        description:
          'how long a silent (killed, hung) worker keeps its run before another worker takes it (default 30)',
      },
      idleExit: {
        flag: 'idle-exit',
        type: 'number',
        min: 0,
        placeholder: 'S',
        description: 'stop after the queue has had nothing to do for S seconds (default: run until stopped)',
      },
      maxRuns: {
        flag: 'max-runs',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'stop after N runs',
      },
    },
    examples: [
      'graft worker --queue redis://10.0.0.5:6379',
      'graft worker --queue redis://127.0.0.1:6379 --idle-exit 60',
    ],
    load: () => import('./commands/worker.js'),
  }),
  define<ServeCliSettings>({
    path: ['serve'],
    summary: 'serve a trained classifier over HTTP: POST /predict, GET /healthz, GET /metrics (Prometheus)',
    args: [{ name: 'MODEL', description: 'RUN_DIR/model.onnx (or the run folder)' }],
    options: {
      ...outputOptions,
      ...runtimeOptions,
      maxPixels: limitOptions.maxPixels,
      maxInputPixels: limitOptions.maxInputPixels,
      host: {
        flag: 'host',
        type: 'string',
        placeholder: 'ADDR',
        description: 'address to listen on (default 127.0.0.1; any other needs --token)',
      },
      port: {
        flag: 'port',
        short: 'p',
        type: 'number',
        integer: true,
        min: 0,
        placeholder: 'N',
        description: 'TCP port (default 8080; 0 picks a free one)',
      },
      token: {
        flag: 'token',
        type: 'string',
        placeholder: 'SECRET',
        env: 'GRAFT_SERVE_TOKEN',
        description: 'bearer token every request but /healthz must send (16+ characters; prefer the variable)',
      },
      maxBatch: {
        flag: 'max-batch',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'most requests per model run (default 16; 1 runs each request alone)',
      },
      maxDelayMs: {
        flag: 'max-delay-ms',
        type: 'number',
        min: 0,
        placeholder: 'MS',
        description: 'how long an idle model waits for more requests to batch with the first (default 2)',
      },
      maxQueue: {
        flag: 'max-queue',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'N',
        description: 'most requests handled at once; more are answered 503 (default 64)',
      },
      maxBody: {
        flag: 'max-body',
        type: 'number',
        min: 0,
        placeholder: 'MB',
        description: 'largest request body in MiB; larger get 413 (default 8)',
      },
      bodyTimeout: {
        flag: 'body-timeout',
        type: 'number',
        min: 0,
        placeholder: 'S',
        description: 'seconds a client may take to send its request; slower get 408 (default 30)',
      },
      top: {
        flag: 'top',
        short: 'k',
        type: 'number',
        integer: true,
        min: 1,
        placeholder: 'K',
        description: 'classes per answer unless the request asks ?top=K (default 5)',
      },
    },
    examples: [
      'graft serve runs/photos-lp/model.onnx',
      'GRAFT_SERVE_TOKEN=$(openssl rand -hex 24) graft serve runs/photos-lp --host 0.0.0.0 --port 8080',
    ],
    load: () => import('./commands/serve.js'),
  }),
  define<StudioCliSettings>({
    path: ['studio'],
    summary: 'transfer learning in a browser tab: data, model, train, evaluate, try, export (served from here)',
    args: [],
    options: {
      ...outputOptions,
      ...registryOptions,
      cacheDir: sourceOptions.cacheDir,
      host: {
        flag: 'host',
        type: 'string',
        placeholder: 'ADDR',
        description: 'address to listen on (default 127.0.0.1; any other gets a token the printed URL carries)',
      },
      port: {
        flag: 'port',
        short: 'p',
        type: 'number',
        integer: true,
        min: 0,
        placeholder: 'N',
        description: 'TCP port (default 8300; 0 picks a free one)',
      },
      open: { flag: 'open', type: 'boolean', description: 'open the studio in the default browser' },
    },
    examples: ['graft studio --open', 'graft studio --host 0.0.0.0 --port 8300'],
    load: () => import('./commands/studio.js'),
  }),
  // graft cache ls | verify | clean
  ...CACHE_COMMANDS,
];
