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

export const registryOptions: OptionTable<RegistrySettings> = {
  modelsFile: {
    flag: 'models-file',
    type: 'string',
    placeholder: 'FILE',
    description: 'extra zoo entries (default ~/.config/graft/models.json)',
  },
};
