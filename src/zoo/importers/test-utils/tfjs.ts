// The TF.js reference the importer tests compare against: pure-JS TF.js (cpu backend), loaded from the
// same model.json + shard files the importers read.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ReadFile, TfjsModelJson, WeightSpec } from '../types.js';

export { tf, tfl };

let ready: Promise<void> | undefined;

export function tfReady(): Promise<void> {
  ready ??= (async () => {
    // PROD silences TF.js's advice to install tfjs-node (which cannot install offline anyway)
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    await tf.ready();
  })();
  return ready;
}

async function artifacts(modelJson: TfjsModelJson, readFile: ReadFile): Promise<tf.io.ModelArtifacts> {
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const g of modelJson.weightsManifest ?? []) {
    specs.push(...g.weights);
    for (const p of g.paths) parts.push(await readFile(p));
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    weightData.set(p, o);
    o += p.byteLength;
  }
  return {
    modelTopology: modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy ?? undefined,
    signature: modelJson.signature as object | undefined,
    weightSpecs: specs as tf.io.WeightsManifestEntry[],
    weightData: weightData.buffer,
  };
}

export interface Feed {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype?: 'float32' | 'int32';
}

/**
 * Runs a TF.js graph model on NHWC feeds and returns the named outputs as flat arrays. Graphs with dynamic
 * ops (Where, NonMaxSuppression) need `dynamic`: TF.js runs them only through executeAsync.
 */
export async function tfjsGraphPredict(
  modelJson: TfjsModelJson,
  readFile: ReadFile,
  feeds: Record<string, Feed>,
  outputs: string[],
  opts: { dynamic?: boolean } = {},
): Promise<{ data: Float32Array; shape: number[] }[]> {
  await tfReady();
  const a = await artifacts(modelJson, readFile);
  const model = await tfconv.loadGraphModel({ load: async () => a });
  const inputs: Record<string, tf.Tensor> = {};
  for (const [k, f] of Object.entries(feeds)) inputs[k] = tf.tensor(f.data, f.shape, f.dtype ?? 'float32');
  const result = opts.dynamic ? await model.executeAsync(inputs, outputs) : model.execute(inputs, outputs);
  const list = Array.isArray(result) ? result : [result];
  const out = await Promise.all(
    list.map(async (t) => ({ data: Float32Array.from(await t.data()), shape: [...t.shape] })),
  );
  tf.dispose([...Object.values(inputs), ...list]);
  model.dispose();
  return out;
}

/** Runs a TF.js layers model (from model.json + shards) on one NHWC input. */
export async function tfjsLayersPredict(
  modelJson: TfjsModelJson,
  readFile: ReadFile,
  input: Feed,
): Promise<{ data: Float32Array; shape: number[] }[]> {
  await tfReady();
  const a = await artifacts(modelJson, readFile);
  const model = await tfl.loadLayersModel({ load: async () => a });
  const x = tf.tensor(input.data, input.shape, input.dtype ?? 'float32');
  const result = model.predict(x);
  const list = Array.isArray(result) ? result : [result];
  const out = await Promise.all(
    list.map(async (t) => ({ data: Float32Array.from(await t.data()), shape: [...t.shape] })),
  );
  tf.dispose([x, ...list]);
  model.dispose();
  return out;
}

/**
 * Saves an in-memory TF.js layers model as model.json + one shard, the way tf.io writes it to disk, so
 * tests can build tiny Keras models with the real TF.js API and feed them to the importer.
 */
export async function saveLayersModel(
  model: tfl.LayersModel,
): Promise<{ modelJson: TfjsModelJson; readFile: ReadFile }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved!;
  const bin = new Uint8Array(a.weightData as ArrayBuffer);
  const modelJson: TfjsModelJson = {
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: (a.weightSpecs ?? []) as WeightSpec[] }],
  };
  // a round trip through JSON, as a file would take, catches anything non-serialisable
  return { modelJson: JSON.parse(JSON.stringify(modelJson)), readFile: filesReader({ 'group1-shard1of1.bin': bin }) };
}

export function filesReader(files: Record<string, Uint8Array>): ReadFile {
  return async (p) => {
    const f = files[p];
    if (!f) throw new Error(`no such file: ${p}`);
    return f;
  };
}
