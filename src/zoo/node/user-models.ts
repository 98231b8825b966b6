import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GraftError } from '../../errors.js';
import { parseJsonFile, shapeOf } from '../formats/json.js';
import { ModelRegistry } from '../registry.js';
import { parseSource } from '../sources/spec.js';
import type { ModelEntry } from '../types.js';

/** The user's models file: $XDG_CONFIG_HOME/graft/models.json, else ~/.config/graft/models.json. */
export function defaultModelsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'graft', 'models.json');
}

/**
 * The built-in zoo plus the entries of a models file (`{"models": [...]}` or a bare array). A missing
 * default file means no user entries; a missing file the user named is an error. Relative local source
 * paths are taken relative to the file's folder.
 */
export function loadRegistry(opts: { modelsFile?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): ModelRegistry {
  const registry = new ModelRegistry();
  const explicit = opts.modelsFile !== undefined;
  const file = resolve(opts.cwd ?? process.cwd(), opts.modelsFile ?? defaultModelsFile(opts.env));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return registry;
    throw new GraftError('CONFIG', `Cannot read the models file ${file}`, {
      file,
      found: (e as Error).message,
      fix: 'check the path given with --models-file',
    });
  }
  const data = parseJsonFile(text, {
    what: `The models file ${file}`,
    file,
    code: 'CONFIG',
    fix: 'fix the JSON syntax (a trailing comma or a missing quote is the usual cause)',
  });
  const list = Array.isArray(data) ? data : (data as { models?: unknown } | null)?.models;
  if (!Array.isArray(list)) {
    throw new GraftError('CONFIG', `The models file ${file} holds no model list`, {
      file,
      expected: '{"models": [ {entry}, ... ]} or [ {entry}, ... ]',
      found: `${shapeOf(data)} without a "models" array`,
      fix: 'wrap the entries in {"models": [...]}',
    });
  }
  const added = registry.register(list, file);
  for (const e of added) rebaseLocalSources(e, dirname(file));
  return registry;
}

function rebaseLocalSources(entry: ModelEntry, base: string): void {
  for (const s of entry.sources) {
    const spec = parseSource(s.uri);
    if (spec.kind === 'file' && !isAbsolute(spec.path)) s.uri = join(base, spec.path);
  }
}
