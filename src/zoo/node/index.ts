// The zoo's Node-only surface: pulling models through the cache, and the user's models file.
export {
  pullModel,
  pullSource,
  pullEntry,
  loadPulledModel,
  type PullOptions,
  type PullResult,
  type PullSettings,
  type PulledFile,
} from './pull.js';
export { loadRegistry, defaultModelsFile } from './user-models.js';
export { ContentCache, defaultCacheDir, type CachedFile } from '../sources/node/cache.js';
export { sourceContext, type SourceContext, type ResolvedFile } from '../sources/node/context.js';
export { resolveFile, resolveFiles } from '../sources/node/resolve.js';
export { download, type DownloadRequest } from '../sources/node/download.js';
export { loadNpmConfig } from '../sources/node/npmrc.js';
