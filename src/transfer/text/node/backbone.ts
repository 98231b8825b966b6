// Node-only: finding a text backbone (zoo name, .onnx path or source) and its tokenizer files.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GraftError, isGraftError } from '../../../errors.js';
import type { Model } from '../../../onnx/graph.js';
import { jsonErrorPosition } from '../../../zoo/formats/json.js';
import { companionSource, loadPulledModel, pullModel, pullSource, type PullResult } from '../../../zoo/node/pull.js';
import { loadRegistry } from '../../../zoo/node/user-models.js';
import type { SourceEventListener, SourceSettings } from '../../../zoo/sources/events.js';
import { sourceContext } from '../../../zoo/sources/node/context.js';
import { resolveFiles } from '../../../zoo/sources/node/resolve.js';
import { parseSource, siblingSource, type SourceSpec } from '../../../zoo/sources/spec.js';
import type { ModelEntry } from '../../../zoo/types.js';
import type { TextBackbone } from '../train.js';
import { VOCABULARY_KEY } from '../vocabulary.js';
import { readScoredPieces } from '../sentencepiece.js';

export const DEFAULT_TEXT_MODEL = 'glove.6b.100d';

export interface LoadTextBackboneOptions extends SourceSettings {
  /** zoo name, .onnx path or source string (default glove.6b.100d) */
  model?: string;
  /** sentence encoders: tokenizer.json path or source (default: beside the model, or the zoo entry's) */
  tokenizer?: string;
  /** word vectors: keep the N most frequent words when converting */
  maxWords?: number;
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: SourceEventListener;
}

export interface LoadedTextBackbone {
  /** the name the user gave (zoo name or source) */
  name: string;
  sha256: string;
  backbone: TextBackbone;
  /** the token limit the model was trained with, when the zoo entry says */
  maxTokens?: number;
}

/**
 * Loads a text backbone: word vectors (a zoo 'embeddings' entry, or an ONNX file carrying a vocabulary)
 * or a Hugging Face sentence encoder with its tokenizer.json (and tokenizer_config.json when present),
 * through the model cache.
 */
export async function loadTextBackbone(opts: LoadTextBackboneOptions = {}): Promise<LoadedTextBackbone> {
  const name = opts.model ?? DEFAULT_TEXT_MODEL;
  const registry = loadRegistry({ modelsFile: opts.modelsFile, env: opts.env, cwd: opts.cwd });
  const pullOpts = {
    registry,
    cacheDir: opts.cacheDir,
    offline: opts.offline,
    refresh: opts.refresh,
    maxWords: opts.maxWords,
    env: opts.env,
    cwd: opts.cwd,
    onEvent: opts.onEvent,
  };
  const inZoo = registry.has(name);
  const entry = inZoo ? registry.get(name) : undefined;
  if (entry && entry.input.kind !== 'text') {
    const textModels = registry.list().filter((e) => e.input.kind === 'text');
    throw new GraftError('CONFIG', `'${name}' is an image model, not a text model`, {
      value: name,
      expected: 'word vectors or a sentence encoder',
      choices: textModels.map((e) => e.name),
      fix: `use --model ${DEFAULT_TEXT_MODEL} (the default for text), or a sentence encoder`,
    });
  }
  const sentencePiece =
    entry?.input.kind === 'text' && entry.input.tokenizer === 'sentencepiece-unigram'
      ? entry.input.vocabulary
      : undefined;
  if (entry && entry.format === 'tfjs-graph' && !sentencePiece) {
    throw new GraftError('CONFIG', `'${name}' cannot be used for text training`, {
      value: name,
      found: 'a TF.js text model without a SentencePiece vocabulary in its zoo entry',
      fix: `use --model ${DEFAULT_TEXT_MODEL} or use_lite.en, or an ONNX sentence encoder with its tokenizer.json`,
    });
  }
  const pulled = inZoo ? await pullModel(name, pullOpts) : await pullSource(name, pullOpts);
  const model = await loadPulledModel(pulled);
  if (entry?.format === 'embeddings' || model.metadata.has(VOCABULARY_KEY)) {
    return { name, sha256: pulled.sha256, backbone: { kind: 'word-vectors', model } };
  }
  const maxTokensOf = entry?.input.kind === 'text' ? entry.input.maxTokens : undefined;
  if (sentencePiece) {
    const ctx = sourceContext({ ...opts, env: opts.env, cwd: opts.cwd, onEvent: opts.onEvent });
    const file = (await resolveFiles([parseSource(sentencePiece)], ctx))[0]!;
    const pieces = readScoredPieces(await readJson(file.path, 'the vocab.json of the model'), file.path);
    return {
      name,
      sha256: pulled.sha256,
      backbone: { kind: 'sentence-encoder', model, sentencePiece: pieces },
      ...(maxTokensOf !== undefined ? { maxTokens: maxTokensOf } : {}),
    };
  }
  const tokenizer = await findTokenizer(name, entry, pulled, model, opts);
  const maxTokens = entry?.input.kind === 'text' ? entry.input.maxTokens : undefined;
  return {
    name,
    sha256: pulled.sha256,
    backbone: { kind: 'sentence-encoder', model, ...tokenizer },
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  };
}

async function findTokenizer(
  name: string,
  entry: ModelEntry | undefined,
  pulled: PullResult,
  model: Model,
  opts: LoadTextBackboneOptions,
): Promise<{ tokenizerJson: Record<string, unknown>; tokenizerConfig?: Record<string, unknown> }> {
  const inputs = model.graph.dataInputs.map((i) => i.name);
  if (!inputs.includes('input_ids')) {
    throw new GraftError('BAD_MODEL', `'${name}' is neither word vectors nor a sentence encoder`, {
      expected: `a model with '${VOCABULARY_KEY}' metadata (word vectors) or an input_ids input (a Hugging Face encoder)`,
      found: `inputs ${inputs.join(', ') || 'none'}`,
      fix: `use --model ${DEFAULT_TEXT_MODEL}`,
    });
  }
  const ctx = sourceContext({ ...opts, env: opts.env, cwd: opts.cwd, onEvent: opts.onEvent });
  const cwd = opts.cwd ?? process.cwd();
  // A file Graft looks for beside a local model must really be in that folder: a tokenizer.json that is a
  // symlink to a file elsewhere is refused (its contents would end up in the trained model's metadata).
  const beside = (spec: SourceSpec, file: string, up = 0): SourceSpec => {
    if (spec.kind !== 'file') return siblingSource(spec, `${'../'.repeat(up)}${file}`);
    let dir = dirname(resolve(cwd, spec.path));
    for (let i = 0; i < up; i++) dir = dirname(dir);
    const where = { field: `the ${file} looked for beside the model`, file: resolve(cwd, spec.path) };
    return companionSource({ kind: 'file', path: join(dir, file) }, file, where, { cwd });
  };
  // Where a Hugging Face repo keeps it: next to the vocabulary, at the repo root above onnx/, or beside the model.
  const candidates: (() => SourceSpec)[] = [];
  if (opts.tokenizer) candidates.push(() => parseSource(opts.tokenizer!));
  else {
    const vocab = entry?.input.kind === 'text' ? entry.input.vocabulary : undefined;
    if (vocab) candidates.push(() => beside(parseSource(vocab), 'tokenizer.json'));
    const modelSpec = parseSource(entry ? entry.sources[0]!.uri : name);
    candidates.push(
      () => beside(modelSpec, 'tokenizer.json'),
      () => beside(modelSpec, 'tokenizer.json', 1),
    );
  }
  for (const candidate of candidates) {
    let path: string;
    let spec: SourceSpec;
    try {
      spec = candidate();
      path = (await resolveFiles([spec], ctx))[0]!.path;
    } catch (e) {
      if (isGraftError(e) && e.code === 'NOT_FOUND' && !opts.tokenizer) continue;
      throw e;
    }
    const tokenizerJson = await readJsonObject(path);
    let tokenizerConfig: Record<string, unknown> | undefined;
    try {
      const config = beside(spec.kind === 'file' ? { kind: 'file', path } : spec, 'tokenizer_config.json');
      tokenizerConfig = await readJsonObject((await resolveFiles([config], ctx))[0]!.path);
    } catch (e) {
      // the config only refines special-token handling; tokenizer.json alone is enough
      if (!(isGraftError(e) && e.code === 'NOT_FOUND')) throw e;
    }
    return { tokenizerJson, ...(tokenizerConfig ? { tokenizerConfig } : {}) };
  }
  throw new GraftError('NOT_FOUND', `No tokenizer.json found for the sentence encoder '${name}'`, {
    file: pulled.modelPath,
    expected: 'tokenizer.json beside the model or one folder up (the Hugging Face repo layout)',
    fix: 'pass --tokenizer path/to/tokenizer.json',
  });
}

async function readJson(path: string, what = 'the tokenizer.json of the encoder'): Promise<unknown> {
  let v: unknown;
  const text = await readFile(path, 'utf8');
  try {
    v = JSON.parse(text);
  } catch (e) {
    // the position only: the file's text is never echoed
    throw new GraftError('BAD_INPUT', 'Cannot read the tokenizer file as JSON', {
      file: path,
      found: jsonErrorPosition(e, text),
      fix: `pass ${what}`,
    });
  }
  return v;
}

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  const v = await readJson(path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new GraftError('BAD_INPUT', 'The tokenizer file is not a JSON object', {
      file: path,
      fix: 'pass tokenizer.json',
    });
  }
  return v as Record<string, unknown>;
}
