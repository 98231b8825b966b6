import { GraftError, isGraftError } from '../../errors.js';
import { extractExportedLiteral } from '../formats/js-literal.js';
import { shapeOf } from '../formats/json.js';
import { base64Bytes } from './graphdef.js';
import type { ReadFile, TfjsModelJson } from './types.js';

/**
 * TF.js models shipped inside JavaScript bundles, as nsfwjs does: `model.min.js` is a browserify/UMD
 * module whose export is the model.json object written as a JS literal, and each weight shard
 * `group1-shard1of1.min.js` exports its bytes as one base64 string. The bundles are parsed, never run:
 * the JS-literal parser of zoo/formats takes the exported value out.
 *
 * Returns the model.json object and a ReadFile that serves the manifest's shard paths from the
 * `<path>.min.js` bundles beside it (or from plain `<path>` files when those exist).
 */
export async function readEmbeddedTfjsModel(
  readFile: ReadFile,
  modelFile = 'model.min.js',
): Promise<{ modelJson: TfjsModelJson; readFile: ReadFile }> {
  const text = new TextDecoder().decode(await readFile(modelFile));
  const value = extractExportedLiteral(text, modelFile);
  if (typeof value !== 'object' || value === null || !('modelTopology' in value)) {
    throw new GraftError('BAD_MODEL', `The bundle does not export a TF.js model.json object`, {
      file: modelFile,
      expected: 'module.exports = { modelTopology: ..., weightsManifest: [...] }',
      found: `${shapeOf(value)} without modelTopology`,
      fix: 'pass the model.min.js bundle of the model (nsfwjs: dist/models/<name>/model.min.js)',
    });
  }
  const dir = modelFile.includes('/') ? modelFile.slice(0, modelFile.lastIndexOf('/') + 1) : '';
  const shardReader: ReadFile = async (path) => {
    const bundle = `${dir}${path}.min.js`;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(bundle);
    } catch (e) {
      if (isGraftError(e)) throw e;
      // not bundled: a plain shard file
      return readFile(`${dir}${path}`);
    }
    const shard = extractExportedLiteral(new TextDecoder().decode(bytes), bundle);
    if (typeof shard !== 'string') {
      throw new GraftError('BAD_MODEL', `The weight bundle does not export a base64 string`, {
        file: bundle,
        expected: 'module.exports = "<base64 weight bytes>"',
        found: typeof shard,
      });
    }
    return base64Bytes(shard);
  };
  return { modelJson: value as TfjsModelJson, readFile: shardReader };
}
