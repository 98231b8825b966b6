import type { SourceEventListener, SourceSettings } from '../events.js';
import { resolve } from 'node:path';
import { ContentCache, defaultCacheDir, type CachedFile } from './cache.js';

/** What every node source needs: the cache, the network policy, and where to report progress. */
export interface SourceContext {
  cache: ContentCache;
  offline: boolean;
  refresh: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  onEvent?: SourceEventListener;
  signal?: AbortSignal;
  /** download tuning (tests shorten these) */
  http?: { retries?: number; retryDelayMs?: number; timeoutMs?: number };
}

/** A file ready to read: in the cache (or, for local sources, where it lies). */
export interface ResolvedFile extends CachedFile {
  /** the source, in its one-line form */
  source: string;
  /** true when no network was used for it */
  fromCache: boolean;
  /** bytes that came over the network for it (for an npm folder: the whole tarball, counted once per file set) */
  downloadedBytes: number;
}

export interface SourceContextOptions extends SourceSettings {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: SourceEventListener;
  signal?: AbortSignal;
  http?: SourceContext['http'];
}

export function sourceContext(opts: SourceContextOptions = {}): SourceContext {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const cache = new ContentCache(resolve(cwd, opts.cacheDir ?? defaultCacheDir(env)));
  cache.sweepTemp();
  return {
    cache,
    offline: opts.offline ?? false,
    refresh: opts.refresh ?? false,
    env,
    cwd,
    onEvent: opts.onEvent,
    signal: opts.signal,
    http: opts.http,
  };
}
