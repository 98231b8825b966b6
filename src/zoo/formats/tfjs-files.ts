import { GraftError } from '../../errors.js';
import type { ReadFile, TfjsModelJson } from '../importers/types.js';
import { bundleExport, decodeBase64 } from './js-literal.js';
import { parseJsonFile, shapeOf } from './json.js';

const utf8 = new TextDecoder();

/**
 * Reads a TF.js model.json, plain or wrapped in a browserify bundle (nsfwjs's model.min.js).
 */
export function parseTfjsModelJson(bytes: Uint8Array, file: string): TfjsModelJson {
  const text = utf8.decode(bytes);
  let value: unknown;
  if (/\.m?js$/i.test(file)) value = bundleExport(text, file);
  else value = parseJsonFile(text, { what: 'model.json', file, fix: 'fetch the file again; it may be truncated' });
  if (typeof value !== 'object' || value === null || !('modelTopology' in value)) {
    throw new GraftError('BAD_MODEL', 'Not a TF.js model.json', {
      file,
      expected: 'an object with modelTopology and weightsManifest',
      found: `${shapeOf(value)} and no modelTopology`,
      fix: 'point the source at the model.json written by the TF.js converter',
    });
  }
  return value as TfjsModelJson;
}

/** 'graph-model' or 'layers-model', as the file says (TF.js layers models written by tf.io name no format). */
export function tfjsFormatOf(model: TfjsModelJson): 'tfjs-graph' | 'tfjs-layers' {
  const topo = model.modelTopology as { node?: unknown; model_config?: unknown; class_name?: unknown } | undefined;
  if (model.format === 'graph-model' || Array.isArray(topo?.node)) return 'tfjs-graph';
  return 'tfjs-layers';
}

/** Names a weight shard may be stored under: as the manifest says, or as a .min.js/.js bundle of it. */
export function shardCandidates(path: string): string[] {
  return [path, `${path}.min.js`, `${path}.js`];
}

/** The weight paths the manifest lists, in order. */
export function weightPaths(model: TfjsModelJson): string[] {
  return (model.weightsManifest ?? []).flatMap((g) => g.paths ?? []);
}

/**
 * A ReadFile for the importer over files found by their stored name: bundled shards (base64 strings inside
 * .js files) are decoded to the bytes TF.js would have read.
 */
export function shardReader(read: (storedName: string) => Promise<Uint8Array>, stored: Map<string, string>): ReadFile {
  return async (path: string) => {
    const name = stored.get(path);
    if (name === undefined) {
      throw new GraftError('BAD_MODEL', `The weight file '${path}' named in model.json was not found`, {
        file: path,
        choices: [...stored.keys()],
        fix: 'check the model folder is complete (every groupN-shardMofK file beside model.json)',
      });
    }
    const bytes = await read(name);
    if (name === path) return bytes;
    const value = bundleExport(utf8.decode(bytes), name);
    if (typeof value !== 'string') {
      throw new GraftError('BAD_MODEL', `The bundle ${name} does not hold a base64 weight string`, {
        file: name,
        found: typeof value,
      });
    }
    return decodeBase64(value, name);
  };
}

/** Class names from a labels file: a JSON array, an {"0": name} map, or a Hugging Face config's id2label. */
export function parseLabels(bytes: Uint8Array, file: string, kind: 'json' | 'hf-config'): string[] {
  let v = parseJsonFile(utf8.decode(bytes), { what: 'The labels file', file });
  if (kind === 'hf-config') v = (v as { id2label?: unknown } | null)?.id2label;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    const out: string[] = [];
    for (const [k, name] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || typeof name !== 'string') break;
      out[i] = name;
    }
    if (out.length === entries.length && !out.includes(undefined as unknown as string)) return out;
  }
  throw new GraftError('BAD_MODEL', 'Cannot read class names from the labels file', {
    file,
    expected: kind === 'hf-config' ? 'a config.json with id2label' : 'a JSON array of names or an {"0": "name"} map',
    found: shapeOf(v),
  });
}
