import { GraftError, isGraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { parseJsonFile, shapeOf } from '../formats/json.js';
import { readEmbeddedTfjsModel } from './embedded.js';
import { importTfjsGraphModel } from './graph_model.js';
import { importTfjsLayersModel } from './layers_model.js';
import type { ReadFile, TfjsImportOptions, TfjsModelJson } from './types.js';

export { importTfjsGraphModel } from './graph_model.js';
export { importTfjsLayersModel, supportedLayers } from './layers_model.js';
export { supportedGraphOps } from './graph_ops.js';
export { readEmbeddedTfjsModel } from './embedded.js';
export { extractExportedLiteral } from '../formats/js-literal.js';
export { loadWeights, float16ToFloat32 } from './weights.js';
export type { ReadFile, TfjsImportOptions, TfjsModelJson, WeightSpec, WeightsGroup, HostArray } from './types.js';

export type TfjsFormat = 'tfjs-graph-model' | 'tfjs-layers-model';

/** Which kind of TF.js model a parsed model.json holds. */
export function detectTfjsFormat(modelJson: TfjsModelJson): TfjsFormat {
  const topo = modelJson?.modelTopology as Record<string, unknown> | undefined;
  if (topo && Array.isArray(topo.node)) return 'tfjs-graph-model';
  if (topo && (typeof topo.model_config === 'object' || typeof topo.class_name === 'string')) {
    return 'tfjs-layers-model';
  }
  if (modelJson?.format === 'graph-model') return 'tfjs-graph-model';
  if (modelJson?.format === 'layers-model') return 'tfjs-layers-model';
  throw new GraftError('BAD_MODEL', 'Not a TF.js model.json', {
    file: 'model.json',
    expected: 'modelTopology holding a GraphDef (node: [...]) or a Keras model_config, plus weightsManifest',
    found: topo ? `a modelTopology that is ${shapeOf(topo)}` : `${shapeOf(modelJson)} without modelTopology`,
    fix: 'pass the model.json written by tensorflowjs_converter or tf.io',
  });
}

/** Imports a TF.js graph or layers model, whichever `modelJson` is. */
export async function importTfjsModel(
  modelJson: TfjsModelJson,
  readFile: ReadFile,
  opts: TfjsImportOptions = {},
): Promise<Model> {
  return detectTfjsFormat(modelJson) === 'tfjs-graph-model'
    ? importTfjsGraphModel(modelJson, readFile, opts)
    : importTfjsLayersModel(modelJson, readFile, opts);
}

/**
 * Reads model.json (or a model.min.js bundle, as nsfwjs ships) through `readFile` and imports it.
 * `modelFile` is relative to the same root as the shard paths.
 */
export async function importTfjsModelFile(
  readFile: ReadFile,
  modelFile = 'model.json',
  opts: TfjsImportOptions = {},
): Promise<Model> {
  if (modelFile.endsWith('.js')) {
    const embedded = await readEmbeddedTfjsModel(readFile, modelFile);
    return importTfjsModel(embedded.modelJson, embedded.readFile, opts);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelFile);
  } catch (e) {
    if (isGraftError(e)) throw e;
    throw new GraftError('IO', `Cannot read '${modelFile}'`, {
      file: modelFile,
      found: (e as Error).message,
      cause: e,
    });
  }
  const json = parseJsonFile(new TextDecoder().decode(bytes), {
    what: `'${modelFile}'`,
    file: modelFile,
    fix: 'fetch the model again; the file may be truncated',
  }) as TfjsModelJson;
  const dir = modelFile.includes('/') ? modelFile.slice(0, modelFile.lastIndexOf('/') + 1) : '';
  return importTfjsModel(json, dir ? (p) => readFile(dir + p) : readFile, opts);
}

/**
 * Changes whenever conversion output changes (the zoo keys its cache of converted models on it, so a
 * new importer converts again instead of serving a stale ONNX file).
 */
export const IMPORTER_VERSION = 'graft-tfjs-importer-4';
