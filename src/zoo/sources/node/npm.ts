import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { GraftError } from '../../../errors.js';
import type { NpmSpec } from '../spec.js';
import { HashingWriter, cacheWriteError, type CachedFile } from './cache.js';
import { offlineFix } from './download.js';
import { loadNpmConfig } from './npmrc.js';
import { cachedBlob, offlineMissFix, type ResolvedFile, type SourceContext } from './context.js';

/** What the cache remembers about one package version: its tarball integrity and the files taken out. */
interface NpmRef {
  integrity: string;
  /** folders (with trailing '/') whose every file was extracted */
  folders: string[];
  files: Record<string, { sha256: string; size: number }>;
}

/**
 * Files from an npm package tarball, fetched and verified by pacote (npm's own fetcher: the user's
 * registry, auth and proxy settings apply, and the tarball must match the registry's integrity and any
 * pinned one). The package is never installed and none of its scripts run. For each requested path the
 * whole folder holding it is extracted, so TF.js shards beside model.json come along in the same pass.
 */
export async function resolveNpm(specs: readonly NpmSpec[], ctx: SourceContext): Promise<ResolvedFile[]> {
  if (specs.length === 0) return [];
  const { name, version } = specs[0]!;
  const id = `${name}@${version}`;
  const key = `npm|${id}`;
  const pinned = specs.find((s) => s.integrity)?.integrity;
  const folders = [...new Set(specs.map((s) => folderOf(s.path)))];

  let ref = ctx.cache.readRef<NpmRef>('npm', key);
  if (ref && pinned && !sameIntegrity(ref.integrity, pinned)) ref = undefined;
  const hit = ref && !ctx.refresh && folders.every((f) => covered(ref!, f)) ? ref : undefined;
  if (hit) {
    const out = await Promise.all(specs.map((s) => fileFromRef(hit, s, ctx, true)));
    if (out.every((f) => f !== undefined)) {
      ctx.onEvent?.({ type: 'cache-hit', label: `npm:${id}` });
      return out as ResolvedFile[];
    }
  }
  if (ctx.offline) {
    throw new GraftError('NETWORK', `npm:${id} is not in the cache and offline mode forbids downloading it`, {
      file: `npm:${id}/${specs[0]!.path}`,
      expected: `the package's files under ${ctx.cache.root}`,
      found: 'no cached copy',
      fix: offlineMissFix(ctx, `npm:${id}`),
    });
  }
  const fetched = await fetchFolders(id, folders, pinned, ctx);
  const merged: NpmRef = {
    integrity: fetched.integrity,
    folders: [...new Set([...(ref && sameIntegrity(ref.integrity, fetched.integrity) ? ref.folders : []), ...folders])],
    files: { ...(ref && sameIntegrity(ref.integrity, fetched.integrity) ? ref.files : {}), ...fetched.files },
  };
  await ctx.cache.writeRef('npm', key, merged);
  const out: ResolvedFile[] = [];
  for (const s of specs) {
    const f = await fileFromRef(merged, s, ctx, false);
    if (!f) throw missingInPackage(s, Object.keys(merged.files));
    out.push({ ...f, downloadedBytes: fetched.bytes });
  }
  return out;
}

async function fileFromRef(
  ref: NpmRef,
  spec: NpmSpec,
  ctx: SourceContext,
  fromCache: boolean,
): Promise<ResolvedFile | undefined> {
  const entry = ref.files[spec.path];
  if (!entry) {
    // The folder was extracted whole, so a missing file is not in the package at all: say so offline.
    if (fromCache && covered(ref, folderOf(spec.path))) throw missingInPackage(spec, Object.keys(ref.files));
    return undefined;
  }
  const source = `npm:${spec.name}@${spec.version}/${spec.path}`;
  const blob = await cachedBlob(ctx, entry.sha256, entry.size, source);
  if (!blob) return undefined;
  return { ...blob, source, fromCache, downloadedBytes: 0 };
}

async function fetchFolders(
  id: string,
  folders: string[],
  pinned: string | undefined,
  ctx: SourceContext,
): Promise<{ integrity: string; files: NpmRef['files']; bytes: number }> {
  const mod = await import('pacote');
  // pacote is CommonJS: depending on the loader its functions sit on the namespace or on `default`.
  const pacote = (mod as unknown as { default?: typeof mod }).default ?? mod;
  const scratch = ctx.cache.tempPath('pacote');
  const opts: Record<string, unknown> = {
    ...loadNpmConfig(ctx.env, ctx.cwd),
    // pacote keeps its own HTTP cache; a scratch folder removed afterwards keeps Graft's cache the only one.
    cache: scratch,
    preferOnline: true,
    ...(pinned ? { integrity: pinned } : {}),
  };
  const label = `npm:${id}`;
  let integrity = '';
  const kept = new Map<string, { tmp: string; sha256: string; size: number }>();
  const temps = new Set<string>();
  const dropTemps = () => {
    for (const t of temps) rmSync(t, { force: true });
    temps.clear();
    kept.clear();
  };
  let bytes = 0;
  const started = Date.now();
  try {
    const manifest = await pacote.manifest(id, opts);
    integrity = manifest._integrity;
    if (pinned && !sameIntegrity(integrity, pinned)) throw integrityError(id, pinned, integrity, ctx);
    ctx.onEvent?.({ type: 'download-start', label, url: manifest._resolved });
    const { Parser } = await import('tar');
    // pacote may call the handler again after a failed attempt; each call starts from an empty slate.
    await pacote.tarball.stream(
      id,
      async (stream) => {
        dropTemps();
        bytes = 0;
        const writes: Promise<void>[] = [];
        const parser = new Parser({
          onReadEntry: (entry) => {
            // npm drops the tarball's top folder (usually 'package/'), whatever its name.
            const path = entry.path.replace(/^[^/]+\//, '');
            if (entry.type !== 'File' || !folders.some((f) => path.startsWith(f)) || !safePath(path)) {
              entry.resume();
              return;
            }
            const tmp = ctx.cache.tempPath(path.split('/').pop() ?? 'file');
            temps.add(tmp);
            writes.push(saveEntry(entry, tmp, path, ctx, kept));
          },
        });
        let lastEmit = 0;
        try {
          await new Promise<void>((resolveParse, reject) => {
            stream.on('error', reject);
            parser.on('error', reject);
            parser.on('end', () => resolveParse());
            stream.on('data', (chunk: Buffer) => {
              bytes += chunk.byteLength;
              const now = Date.now();
              if (now - lastEmit >= 100) {
                lastEmit = now;
                ctx.onEvent?.({ type: 'download-progress', label, url: manifest._resolved, bytes });
              }
            });
            stream.pipe(parser as unknown as NodeJS.WritableStream);
          });
          await Promise.all(writes);
        } catch (e) {
          // Let writes already under way finish (bounded: a cut stream may never end its entries), then
          // delete every temp file: a failed or unverified tarball leaves nothing behind.
          await Promise.race([Promise.allSettled(writes), new Promise((r) => setTimeout(r, 2000).unref())]);
          dropTemps();
          throw e;
        }
      },
      { ...opts, resolved: manifest._resolved, integrity: manifest._integrity },
    );
    ctx.onEvent?.({ type: 'download-end', label, url: manifest._resolved, bytes, ms: Date.now() - started });
    const files: NpmRef['files'] = {};
    for (const [path, t] of kept) {
      const f: CachedFile = await ctx.cache.adopt(t.tmp, t.sha256, t.size);
      files[path] = { sha256: f.sha256, size: f.size };
      temps.delete(t.tmp);
    }
    return { integrity, files, bytes };
  } catch (e) {
    throw pacoteError(e, id, pinned, ctx);
  } finally {
    dropTemps();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function saveEntry(
  entry: AsyncIterable<Buffer>,
  tmp: string,
  path: string,
  ctx: SourceContext,
  kept: Map<string, { tmp: string; sha256: string; size: number }>,
): Promise<void> {
  const w = await HashingWriter.create(tmp);
  try {
    for await (const chunk of entry) await w.write(chunk);
    const sha256 = await w.finish();
    kept.set(path, { tmp, sha256, size: w.size });
  } catch (e) {
    await w.abort();
    throw cacheWriteError(ctx.cache.root, e);
  }
}

function folderOf(path: string): string {
  if (path.endsWith('/')) return path;
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

function covered(ref: NpmRef, folder: string): boolean {
  return ref.folders.some((f) => folder.startsWith(f));
}

function safePath(path: string): boolean {
  return !path.split('/').some((p) => p === '..') && !path.startsWith('/');
}

/** Integrity strings may list several hashes; two agree when they share any algorithm's digest. */
function sameIntegrity(a: string, b: string): boolean {
  const set = new Set(a.split(/\s+/).map((x) => x.split('?')[0]));
  return b.split(/\s+/).some((x) => set.has(x.split('?')[0]));
}

function missingInPackage(spec: NpmSpec, files: string[]): GraftError {
  const folder = folderOf(spec.path);
  const near = files.filter((f) => f.startsWith(folder)).slice(0, 12);
  return new GraftError('NOT_FOUND', `npm:${spec.name}@${spec.version} has no file '${spec.path}'`, {
    file: `npm:${spec.name}@${spec.version}/${spec.path}`,
    choices: near.length ? near : files.slice(0, 12),
    fix: 'check the path inside the package (`npm pack` the package to list its files)',
  });
}

function integrityError(id: string, expected: string, found: string, ctx: SourceContext): GraftError {
  return new GraftError('INTEGRITY', `The tarball of npm:${id} does not have the expected integrity`, {
    file: `npm:${id}`,
    expected,
    found: `${found}; nothing was cached`,
    fix: `the registry serves different bytes than the entry pins: check your npm registry mirror (cache: ${ctx.cache.root})`,
  });
}

function pacoteError(e: unknown, id: string, pinned: string | undefined, ctx: SourceContext): GraftError {
  if (e instanceof GraftError) return e;
  const err = e as NodeJS.ErrnoException & { statusCode?: number; found?: string; expected?: string };
  const code = err.code ?? '';
  if (code === 'EINTEGRITY') {
    return integrityError(
      id,
      String(err.expected ?? pinned ?? 'the registry integrity'),
      String(err.found ?? '?'),
      ctx,
    );
  }
  if (code === 'E404' || code === 'ETARGET' || err.statusCode === 404) {
    return new GraftError('NOT_FOUND', `The npm registry has no package version ${id}`, {
      file: `npm:${id}`,
      found: err.message,
      fix: 'check the package name and exact version (`npm view <name> versions`)',
      cause: e,
    });
  }
  if (code === 'E401' || code === 'E403' || err.statusCode === 401 || err.statusCode === 403) {
    return new GraftError('NETWORK', `The npm registry refused npm:${id}`, {
      file: `npm:${id}`,
      found: err.message,
      fix: 'check the registry credentials in your .npmrc (npm login)',
      cause: e,
    });
  }
  if (/^E5\d\d$/.test(code) || NETWORK_CODES.has(code) || /CERT|SSL|TLS/.test(code) || err.name === 'FetchError') {
    return new GraftError('NETWORK', `Cannot fetch npm:${id} from the npm registry`, {
      file: `npm:${id}`,
      found: `${code ? `${code}: ` : ''}${err.message}`,
      fix: offlineFix(`the npm registry (npm:${id})`, undefined, ctx.cache.root),
      cause: e,
    });
  }
  if (code.startsWith('TAR_') || code.startsWith('Z_')) {
    return new GraftError('INTEGRITY', `The tarball of npm:${id} is not a readable package archive`, {
      file: `npm:${id}`,
      found: `${code}: ${err.message}; nothing was cached`,
      fix: 'retry; if it persists, the registry (or a mirror) serves a damaged file',
      cause: e,
    });
  }
  throw e;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EPROTO',
  'ERR_SOCKET_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'FETCH_ERROR',
]);

export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}
