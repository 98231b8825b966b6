import type { SourceEventListener, SourceSettings } from '../events.js';
import { resolve } from 'node:path';
import { GraftError } from '../../../errors.js';
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
  /** the command that fills the cache for what is being resolved ('graft zoo pull NAME'), for offline advice */
  fetchCommand?: string;
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
  fetchCommand?: string;
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
    fetchCommand: opts.fetchCommand,
  };
}

/**
 * A cached blob ready to read, or undefined when it has to be fetched: absent, or damaged (its bytes do
 * not hash to its name) and removed so that the fetch replaces it. Offline, a damaged blob is refused with
 * what to do. `rebuildable`: Graft made the blob itself (a conversion) and can make it again offline.
 */
export async function cachedBlob(
  ctx: SourceContext,
  sha256: string,
  size: number | undefined,
  label: string,
  opts: { rebuildable?: boolean } = {},
): Promise<CachedFile | undefined> {
  const c = await ctx.cache.check(sha256, size);
  if (c.state === 'ok') return c.file;
  if (c.state === 'missing') return undefined;
  const action = opts.rebuildable ? 'rebuild' : ctx.offline ? 'refused' : 'refetch';
  ctx.onEvent?.({ type: 'cache-damaged', label, path: c.path, found: c.found, action });
  if (action !== 'refused') {
    await ctx.cache.remove(sha256);
    return undefined;
  }
  throw new GraftError('INTEGRITY', `The cached copy of ${label} is damaged`, {
    file: c.path,
    expected: `sha256 ${sha256}${size !== undefined ? ` (${size} bytes)` : ''}`,
    found: c.found,
    fix:
      `${fetchAdvice(ctx)} replaces it with a good copy; ` +
      '`graft cache verify` lists every damaged file in the cache and `graft cache clean --damaged` removes them',
  });
}

/** "run `graft zoo pull NAME` once without --offline" (or the generic form when no command is known). */
export function fetchAdvice(ctx: Pick<SourceContext, 'fetchCommand'>): string {
  return ctx.fetchCommand
    ? `running \`${ctx.fetchCommand}\` once without --offline`
    : 'running the same command once without --offline';
}

/**
 * The fix of an offline cache miss: the exact command that fills the cache, then the ways without network
 * (a file downloaded elsewhere, for a URL; a cache folder filled elsewhere).
 */
export function offlineMissFix(ctx: Pick<SourceContext, 'fetchCommand' | 'cache'>, what: string, url?: string): string {
  const run = ctx.fetchCommand ? `run \`${ctx.fetchCommand}\`` : 'run the same command';
  const elsewhere = url ? `download ${url} elsewhere and pass the local file path instead, or ` : '';
  return (
    `${run} once without --offline to fetch ${what} into the cache; on a machine without network, ${elsewhere}` +
    `copy a Graft cache folder filled elsewhere to ${ctx.cache.root} (or point GRAFT_CACHE_DIR / --cache-dir at it)`
  );
}
