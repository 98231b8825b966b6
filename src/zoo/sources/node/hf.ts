import type { IncomingHttpHeaders } from 'node:http';
import { GraftError } from '../../../errors.js';
import { checkUrlScheme, type HfSpec } from '../spec.js';
import { download } from './download.js';
import { cachedBlob, offlineMissFix, type ResolvedFile, type SourceContext } from './context.js';

interface HfRef {
  sha256: string;
  size: number;
  /** the commit the revision pointed at when fetched */
  commit?: string;
}

export const HF_DEFAULT_ENDPOINT = 'https://huggingface.co';

/**
 * A file in a Hugging Face repository, through $HF_ENDPOINT (a mirror) when set, with $HF_TOKEN for gated
 * or private repositories. Large (LFS) files are checked against the sha256 the Hub announces; a pinned
 * sha256 is checked for any file. A branch such as 'main' is resolved once and then served from the cache
 * until a refresh is asked for, so a cached model never needs the network.
 */
export async function resolveHf(spec: HfSpec, ctx: SourceContext): Promise<ResolvedFile> {
  const endpoint = (ctx.env.HF_ENDPOINT || HF_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  checkUrlScheme(new URL(endpoint), `HF_ENDPOINT=${endpoint}`);
  const source = `hf:${spec.repo}/${spec.path}@${spec.revision}`;
  const key = `hf|${endpoint}|${spec.repo}|${spec.revision}|${spec.path}`;
  const ref = ctx.cache.readRef<HfRef>('hf', key);
  if (ref && !ctx.refresh && (!spec.sha256 || spec.sha256 === ref.sha256)) {
    const blob = await cachedBlob(ctx, ref.sha256, ref.size, source);
    if (blob) {
      ctx.onEvent?.({ type: 'cache-hit', label: source });
      return { ...blob, source, fromCache: true, downloadedBytes: 0 };
    }
  }
  if (spec.sha256 && !ctx.refresh) {
    const blob = await cachedBlob(ctx, spec.sha256, undefined, source);
    if (blob) return { ...blob, source, fromCache: true, downloadedBytes: 0 };
  }
  const url = `${endpoint}/${spec.repo}/resolve/${encodeURIComponent(spec.revision)}/${spec.path
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
  if (ctx.offline) {
    throw new GraftError('NETWORK', `${source} is not in the cache and offline mode forbids downloading it`, {
      file: source,
      expected: `the file cached under ${ctx.cache.root}`,
      found: 'no cached copy',
      fix: offlineMissFix(ctx, source),
    });
  }
  const token = ctx.env.HF_TOKEN || ctx.env.HUGGING_FACE_HUB_TOKEN;
  const d = await download({
    url,
    label: source,
    cache: ctx.cache,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    sha256: spec.sha256,
    sha256FromHeaders: lfsSha256,
    authFix: token
      ? 'your HF_TOKEN may not grant access to this repository: accept its terms on the Hub or use another token'
      : 'the repository is gated or private: set HF_TOKEN to a Hugging Face access token',
    onEvent: ctx.onEvent,
    signal: ctx.signal,
    ...ctx.http,
  });
  const commit = header(d.firstHeaders, 'x-repo-commit');
  await ctx.cache.writeRef('hf', key, { sha256: d.file.sha256, size: d.file.size, commit } satisfies HfRef);
  return { ...d.file, source, fromCache: false, downloadedBytes: d.bytesDownloaded };
}

/** The Hub names an LFS file's sha256 in X-Linked-Etag (or ETag); small git files carry a sha1 instead. */
function lfsSha256(h: IncomingHttpHeaders): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = header(h, name)?.replace(/^W\//, '').replace(/"/g, '');
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
