// The zoo's browser-safe surface: entries, the registry, source strings, model inspection and format
// readers. Fetching and caching (Node only) are in ./node/index.js.
export * from './types.js';
export {
  ModelRegistry,
  zoo,
  listModels,
  getModel,
  validateEntry,
  entryNeedsInternet,
  globToRegExp,
} from './registry.js';
export { BUILTIN_MODELS } from './entries/index.js';
export * from './sources/spec.js';
export type { SourceEvent, SourceEventListener, SourceSettings } from './sources/events.js';
export { inspectModel, type ModelReport, type CutPoint, type BlockSummary, type ValueSummary } from './inspect.js';
export { loadTfjsConverter, type TfjsConverter } from './converter.js';
export { parseTfjsModelJson, parseLabels } from './formats/tfjs-files.js';
export { readWinkVectors, wordVectorsModel, type WordVectors } from './formats/word-vectors.js';
