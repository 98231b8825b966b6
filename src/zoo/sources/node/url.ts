import { GraftError } from '../../../errors.js';
import type { UrlSpec } from '../spec.js';
import { download } from './download.js';
import { cachedBlob, offlineMissFix, type ResolvedFile, type SourceContext } from './context.js';

/**
 * A file at an https URL, pinned by sha256. The hash is the cache key, so a cached copy is used without
 * any request, and a download that does not match it is never cached.
 */
export async function resolveUrl(spec: UrlSpec, ctx: SourceContext): Promise<ResolvedFile> {
  const expected = spec.sha256;
  if (!expected) {
    throw new GraftError('BAD_INPUT', `The URL source ${spec.url} has no sha256`, {
      file: spec.url,
      expected: 'https://host/file#sha256=<64 hex digits> (or a sha256 field in models.json)',
      found: 'no hash',
      fix: 'pin the content: `sha256sum file` on a trusted copy gives the value',
    });
  }
  const hit = await cachedBlob(ctx, expected, undefined, spec.url);
  if (hit) {
    ctx.onEvent?.({ type: 'cache-hit', label: labelOf(spec.url) });
    return { ...hit, source: spec.url, fromCache: true, downloadedBytes: 0 };
  }
  if (ctx.offline) {
    throw new GraftError('NETWORK', `${spec.url} is not in the cache and offline mode forbids downloading it`, {
      file: spec.url,
      expected: `a cached file with sha256 ${expected} under ${ctx.cache.root}`,
      found: 'no cached copy',
      fix: offlineMissFix(ctx, spec.url, spec.url),
    });
  }
  const d = await download({
    url: spec.url,
    label: labelOf(spec.url),
    cache: ctx.cache,
    sha256: expected,
    onEvent: ctx.onEvent,
    signal: ctx.signal,
    ...ctx.http,
  });
  return { ...d.file, source: spec.url, fromCache: false, downloadedBytes: d.bytesDownloaded };
}

export function labelOf(url: string): string {
  const u = new URL(url);
  return u.pathname.split('/').filter(Boolean).pop() ?? u.host;
}
