import { GraftError } from '../errors.js';
import { closestNames, didYouMean } from '../util/suggest.js';
import { BUILTIN_MODELS } from './entries/index.js';
import { needsInternet, parseSource } from './sources/spec.js';
import { MODEL_FORMATS, MODEL_TASKS, type ModelEntry } from './types.js';

/** Where an entry came from, for listings and error messages. */
export type EntryOrigin = 'builtin' | string;

/**
 * The model zoo: built-in entries plus any the user registers (from models.json). A user entry with a
 * built-in's name replaces it. Browser-safe; reading the user's file is in node/user-models.ts.
 */
export class ModelRegistry {
  private entries = new Map<string, { entry: ModelEntry; origin: EntryOrigin }>();

  constructor(entries: readonly ModelEntry[] = BUILTIN_MODELS) {
    for (const e of entries) this.entries.set(e.name, { entry: e, origin: 'builtin' });
  }

  /** Validates and adds entries; `origin` (a file path) appears in error messages. */
  register(raw: unknown, origin: EntryOrigin = 'user'): ModelEntry[] {
    const list = Array.isArray(raw) ? raw : [raw];
    const seen = new Set<string>();
    const added = list.map((r, i) => validateEntry(r, `${origin}: models[${i}]`));
    for (const e of added) {
      if (seen.has(e.name)) {
        throw new GraftError('CONFIG', `Model '${e.name}' is defined twice`, {
          file: origin,
          fix: 'give each entry a unique name (arch.tag)',
        });
      }
      seen.add(e.name);
    }
    for (const e of added) this.entries.set(e.name, { entry: e, origin });
    return added;
  }

  /** Entries whose name matches the glob ('*' any run, '?' one character; case-insensitive). */
  list(glob = '*'): ModelEntry[] {
    const re = globToRegExp(glob);
    return [...this.entries.values()].map((v) => v.entry).filter((e) => re.test(e.name));
  }

  origin(name: string): EntryOrigin | undefined {
    return this.entries.get(name)?.origin;
  }

  get(name: string): ModelEntry {
    const hit =
      this.entries.get(name) ??
      [...this.entries.values()].find((v) => v.entry.name.toLowerCase() === name.toLowerCase());
    if (hit) return hit.entry;
    const names = [...this.entries.keys()];
    const near = closestNames(name, names);
    throw new GraftError('NOT_FOUND', `No model named '${name}' in the zoo`, {
      expected: 'a model name (arch.tag)',
      found: name,
      choices: names,
      fix: near.length
        ? `${didYouMean(near)} (\`graft zoo list\` shows them all)`
        : 'pick one of the valid choices, or register your own in ~/.config/graft/models.json',
    });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }
}

let defaultRegistry: ModelRegistry | undefined;

/** The process-wide registry (built-in entries, plus whatever was registered into it). */
export function zoo(): ModelRegistry {
  return (defaultRegistry ??= new ModelRegistry());
}

export function listModels(glob = '*', registry: ModelRegistry = zoo()): ModelEntry[] {
  return registry.list(glob);
}

export function getModel(name: string, registry: ModelRegistry = zoo()): ModelEntry {
  return registry.get(name);
}

/** True when pulling the entry the first time needs more than the npm registry. */
export function entryNeedsInternet(entry: ModelEntry): boolean {
  return entry.sources.every((s) => needsInternet(parseSource(s.uri)));
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

// ---- validation of user entries -------------------------------------------------------------------

const NAME = /^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_.-]*$/i;

/** Checks an entry read from JSON; every problem names the field path, what was expected and what was found. */
export function validateEntry(raw: unknown, where: string): ModelEntry {
  const v = new Checker(where);
  const o = v.object(raw, '');
  const name = v.string(o, 'name');
  if (!NAME.test(name)) v.fail('name', 'arch.tag (letters, digits, _ or -, one dot at least)', JSON.stringify(name));
  const at = `${where} (${name})`;
  const c = new Checker(at);
  c.string(o, 'description');
  c.string(o, 'license', true);
  c.string(o, 'trainedOn', true);
  c.oneOf(o, 'task', MODEL_TASKS);
  c.oneOf(o, 'format', MODEL_FORMATS);
  const sources = c.array(o, 'sources');
  if (sources.length === 0) c.fail('sources', 'at least one source', '[]');
  sources.forEach((s, i) => {
    const so = c.object(s, `sources[${i}]`);
    const uri = c.string(so, 'uri', false, `sources[${i}].`);
    const sha256 = c.string(so, 'sha256', true, `sources[${i}].`);
    const integrity = c.string(so, 'integrity', true, `sources[${i}].`);
    try {
      parseSource(uri, { sha256: sha256 || undefined, integrity: integrity || undefined });
    } catch (e) {
      c.fail(`sources[${i}].uri`, 'a valid source', (e as Error).message.split('\n').slice(1).join('; '));
    }
  });
  const input = c.object(o.input, 'input');
  if (input.kind === 'image') {
    c.pair(input, 'size', 'input.');
    c.oneOf(input, 'layout', ['NCHW', 'NHWC'], 'input.');
  } else if (input.kind === 'text') {
    c.oneOf(input, 'tokenizer', ['sentencepiece-unigram', 'wordpiece', 'word-lookup'], 'input.');
  } else c.fail('input.kind', "'image' or 'text'", JSON.stringify(input.kind));
  if (o.preprocessing !== undefined) {
    const p = c.object(o.preprocessing, 'preprocessing');
    c.number(p, 'scale', 'preprocessing.');
    c.triple(p, 'mean', 'preprocessing.');
    c.triple(p, 'std', 'preprocessing.');
    const r = c.object(p.resize, 'preprocessing.resize');
    c.oneOf(r, 'mode', ['shortest-edge', 'exact'], 'preprocessing.resize.');
    c.oneOf(r, 'filter', ['bilinear', 'bicubic', 'nearest'], 'preprocessing.resize.');
    if (p.crop !== undefined) c.pair(p, 'crop', 'preprocessing.');
  }
  for (const k of ['embeddingSize', 'numClasses', 'maxWords'] as const) {
    if (o[k] !== undefined) c.number(o, k);
  }
  if (o.featureValue !== undefined) c.string(o, 'featureValue');
  if (o.classifierNodes !== undefined) c.array(o, 'classifierNodes');
  return {
    ...(o as unknown as ModelEntry),
    license: (o.license as string | undefined) ?? 'unknown',
    trainedOn: (o.trainedOn as string | undefined) ?? 'unknown',
  };
}

class Checker {
  constructor(private where: string) {}

  fail(field: string, expected: string, found: string): never {
    throw new GraftError(
      'CONFIG',
      `Invalid model entry: field '${field}' ${this.where ? `in ${this.where}` : ''}`.trim(),
      {
        value: field,
        expected,
        found,
        fix: 'correct the entry in the models file (see `graft zoo info efficientnet_b0.imagenet --json` for a complete example)',
      },
    );
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.fail(field || '(entry)', 'an object', describe(v));
    return v as Record<string, unknown>;
  }

  string(o: Record<string, unknown>, k: string, optional = false, prefix = ''): string {
    const v = o[k];
    if (v === undefined && optional) return '';
    if (typeof v !== 'string' || v.length === 0) this.fail(prefix + k, 'a non-empty string', describe(v));
    return v;
  }

  number(o: Record<string, unknown>, k: string, prefix = ''): number {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(prefix + k, 'a positive number', describe(v));
    return v;
  }

  oneOf(o: Record<string, unknown>, k: string, choices: readonly string[], prefix = ''): string {
    const v = o[k];
    if (typeof v !== 'string' || !choices.includes(v))
      this.fail(prefix + k, `one of ${choices.join(', ')}`, describe(v));
    return v;
  }

  array(o: Record<string, unknown>, k: string): unknown[] {
    const v = o[k];
    if (!Array.isArray(v)) this.fail(k, 'an array', describe(v));
    return v;
  }

  pair(o: Record<string, unknown>, k: string, prefix = ''): void {
    const v = o[k];
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) {
      this.fail(prefix + k, '[height, width] as positive integers', describe(v));
    }
  }

  triple(o: Record<string, unknown>, k: string, prefix = ''): void {
    const v = o[k];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      this.fail(prefix + k, 'three numbers (R, G, B)', describe(v));
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
