import type { PullSettings } from '../zoo/node/pull.js';
import type { CliIo } from './io.js';
import {
  outputOptions,
  registryOptions,
  sourceOptions,
  type AnyOptionTable,
  type OptionTable,
  type OutputSettings,
  type RegistrySettings,
} from './options.js';
import type { SourceSettings } from '../zoo/sources/events.js';

export interface ArgSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** the last argument only: takes every remaining positional (FILES...) */
  variadic?: boolean;
}

export interface CommandContext<O> {
  options: Partial<O>;
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
    summary: 'write the HTML report of a training run (charts, per-class scores, calibration, worst examples)',
    args: [{ name: 'RUN_DIR', description: 'the run folder graft train wrote' }],
    options: {
      ...outputOptions,
      out: {
        flag: 'out',
        short: 'o',
        type: 'string',
        placeholder: 'FILE',
        description: 'where to write the HTML (default RUN_DIR/report.html)',
      },
    },
    examples: ['graft report runs/flowers-1', 'graft report runs/flowers-1 --out flowers.html --json'],
    load: () => import('./commands/report.js'),
  }),
];
