import { GraftError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import type { ReadFile, TfjsImportOptions, TfjsModelJson } from './importers/types.js';

/**
 * The TF.js -> ONNX importer as the zoo uses it. It lives in ./importers/ (its own module, written
 * separately); the zoo reaches it through this small interface and loads it only when a TF.js model
 * actually needs converting, so listing or pulling ONNX models never loads it.
 */
export interface TfjsConverter {
  /** part of the cache key of converted models: a new importer version converts again */
  version: string;
  importTfjsModel(modelJson: TfjsModelJson, readFile: ReadFile, opts: TfjsImportOptions): Promise<Model>;
}

interface ImporterModule {
  importTfjsModel?: TfjsConverter['importTfjsModel'];
  IMPORTER_VERSION?: string;
}

let loaded: Promise<TfjsConverter> | undefined;

/** The importer from ./importers/index.js; a clear error when this build has none. */
export function loadTfjsConverter(): Promise<TfjsConverter> {
  return (loaded ??= (async () => {
    // A computed specifier: the zoo must compile and run (for ONNX models) even without the importer.
    const specifier = './importers/index.js';
    let mod: ImporterModule;
    try {
      mod = (await import(specifier)) as ImporterModule;
    } catch (e) {
      loaded = undefined;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
      throw noImporter('the module ./importers/index.js is missing');
    }
    if (typeof mod.importTfjsModel !== 'function') {
      loaded = undefined;
      throw noImporter('./importers/index.js exports no importTfjsModel');
    }
    return { version: mod.IMPORTER_VERSION ?? 'tfjs-importer-0', importTfjsModel: mod.importTfjsModel };
  })());
}

function noImporter(found: string): GraftError {
  return new GraftError('UNSUPPORTED_OP', 'This build of Graft cannot convert TF.js models', {
    expected: 'the TF.js importer (src/zoo/importers)',
    found,
    fix: 'use an ONNX model (a local .onnx file, an hf: or https source), or a Graft build that includes the importer',
  });
}
