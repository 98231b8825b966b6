// `graft cache ls | verify | clean`: the command table entries (COMMANDS spreads them in); the code lives in
// ./commands/cache.ts and loads only when one of them runs.
import type { AnyCommand, CommandSpec } from './commands.js';
import { outputOptions, sourceOptions, type OptionTable, type OutputSettings } from './options.js';
import type { SourceSettings } from '../zoo/sources/events.js';

export type CacheSettings = OutputSettings & Pick<SourceSettings, 'cacheDir'>;

export interface CacheCleanOnlySettings {
  /** only entries not used for this many days */
  olderThan?: number;
  /** only the feature cache */
  features?: boolean;
  /** only entries that fail verification */
  damaged?: boolean;
}
export type CacheCleanSettings = CacheSettings & CacheCleanOnlySettings;

const cacheOptions: OptionTable<CacheSettings> = { ...outputOptions, cacheDir: sourceOptions.cacheDir };

const cleanOptions: OptionTable<CacheCleanOnlySettings> = {
  olderThan: {
    flag: 'older-than',
    type: 'number',
    min: 0,
    placeholder: 'DAYS',
    description: 'only what no run has used for DAYS days',
  },
  features: { flag: 'features', type: 'boolean', description: 'only the feature cache (extracted features)' },
  damaged: {
    flag: 'damaged',
    type: 'boolean',
    description: 'only entries that fail verification (each model file is hashed)',
  },
};

function define<O>(spec: CommandSpec<O>): AnyCommand {
  return spec as unknown as AnyCommand;
}

export const CACHE_COMMANDS: readonly AnyCommand[] = [
  define<CacheSettings>({
    path: ['cache', 'ls'],
    summary: 'list the model cache: model files, the sources they came from, feature stores, with sizes',
    args: [],
    options: cacheOptions,
    examples: ['graft cache ls', 'graft cache ls --json'],
    load: () => import('./commands/cache.js').then((m) => ({ run: m.runLs })),
  }),
  define<CacheSettings>({
    path: ['cache', 'verify'],
    summary: 'hash every cached file and check the feature stores; exits 1 naming each damaged entry',
    args: [],
    options: cacheOptions,
    examples: ['graft cache verify', 'graft cache verify --json'],
    load: () => import('./commands/cache.js').then((m) => ({ run: m.runVerify })),
  }),
  define<CacheCleanSettings>({
    path: ['cache', 'clean'],
    summary: "remove Graft's cache files (all, or the old, damaged or feature entries); never what a run is using",
    args: [],
    options: { ...cacheOptions, ...cleanOptions },
    examples: ['graft cache clean --features --older-than 30', 'graft cache clean --damaged', 'graft cache clean'],
    load: () => import('./commands/cache.js').then((m) => ({ run: m.runClean })),
  }),
];
