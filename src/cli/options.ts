import type { SourceSettings } from '../zoo/sources/events.js';

/**
 * The CLI's flags are generated from tables typed against the library's settings types: a table must
 * have one entry per settings field, with a parser matching the field's type, so a new setting without
 * its flag (or a flag of the wrong type) does not compile.
 */
interface OptionBase {
  /** long flag without dashes: 'cache-dir' */
  flag: string;
  short?: string;
  description: string;
  /** environment variable consulted by the library when the flag is absent (shown in help) */
  env?: string;
  /** name of the value in help: --cache-dir DIR */
  placeholder?: string;
}

export type OptionSpec<T> = [T] extends [boolean]
  ? OptionBase & { type: 'boolean' }
  : [T] extends [number]
    ? OptionBase & { type: 'number'; integer?: boolean; min?: number }
    : [T] extends [string]
      ? OptionBase & ({ type: 'string' } | { type: 'enum'; choices: readonly T[] })
      : never;

export type OptionTable<C> = { [K in keyof C]-?: OptionSpec<NonNullable<C[K]>> };

/** Any option table, for code that walks tables without knowing their settings type. */
export type AnyOptionTable = Record<
  string,
  OptionBase & {
    type: 'boolean' | 'number' | 'string' | 'enum';
    choices?: readonly string[];
    integer?: boolean;
    min?: number;
  }
>;

/** Output settings shared by every command that prints results. */
export interface OutputSettings {
  /** machine-readable results on stdout */
  json?: boolean;
  /** no progress on stderr */
  quiet?: boolean;
}

/** How much of hostile or huge inputs Graft agrees to read (src/data/limits.ts turns these into DataLimits). */
export interface LimitSettings {
  maxFileMb?: number;
  maxPixels?: number;
  maxInputPixels?: number;
}

/** The models file setting (node/user-models.ts reads it). */
export interface RegistrySettings {
  modelsFile?: string;
}

export const outputOptions: OptionTable<OutputSettings> = {
  json: { flag: 'json', type: 'boolean', description: 'print results as JSON on stdout' },
  quiet: { flag: 'quiet', short: 'q', type: 'boolean', description: 'no progress output on stderr' },
};

export const sourceOptions: OptionTable<SourceSettings> = {
  cacheDir: {
    flag: 'cache-dir',
    type: 'string',
    placeholder: 'DIR',
    env: 'GRAFT_CACHE_DIR',
    description: 'model cache folder (default ~/.cache/graft)',
  },
  offline: { flag: 'offline', type: 'boolean', description: 'never use the network; fail if a file is not cached' },
  refresh: {
    flag: 'refresh',
    type: 'boolean',
    description: 're-resolve moving references (an hf: branch) even if cached',
  },
};

export const limitOptions: OptionTable<LimitSettings> = {
  maxFileMb: {
    flag: 'max-file-mb',
    type: 'number',
    min: 0,
    placeholder: 'MB',
    description: 'largest image or text file read, in MiB (default 64 for images, 8 for texts)',
  },
  maxPixels: {
    flag: 'max-pixels',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: 'largest image decoded, width x height (default 67108864 = 8192 x 8192)',
  },
  maxInputPixels: {
    flag: 'max-input-pixels',
    type: 'number',
    integer: true,
    min: 1,
    placeholder: 'N',
    description: "largest model input a model's metadata may ask for, height x width (default 2048 x 2048)",
  },
};

export const registryOptions: OptionTable<RegistrySettings> = {
  modelsFile: {
    flag: 'models-file',
    type: 'string',
    placeholder: 'FILE',
    description: 'extra zoo entries (default ~/.config/graft/models.json)',
  },
};
