import { lstatSync, readFileSync, readdirSync, rmSync, rmdirSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { FileFeatureStore } from '../transfer/node/feature-store-file.js';
import { namesInUse, processAlive } from '../node/in-use.js';
import { ContentCache } from '../zoo/sources/node/cache.js';

/*
 * `graft cache ls | verify | clean`: what the cache holds, whether it is intact, and removing it. Only files
 * whose names follow Graft's own layout are listed or removed (the cache folder may be shared with other
 * things by mistake); symlinks are never followed.
 *
 *   blobs/sha256/ab/<64 hex>              content, named by its sha256
 *   verified/sha256/ab/<64 hex>.json      record of the blob's last full hash (its mtime: last use)
 *   refs/<kind>/<40 hex>.json             source -> blob hashes (npm tarballs, hf paths, conversions)
 *   features/<namespace>.features         extracted feature vectors (one file per backbone namespace)
 *   tmp/, partial/                        files being written, interrupted downloads
 *   in-use/<pid>, features/in-use/<pid>   what running processes use (see src/node/in-use.ts)
 */

export type CacheEntryKind = 'blob' | 'ref' | 'features' | 'temp';

export interface CacheEntry {
  kind: CacheEntryKind;
  /** relative to the cache root */
  path: string;
  size: number;
  /** ms since the epoch: the last use where Graft records it, else the last write */
  lastUsed: number;
  /** blobs: their sha256, and the sources the refs name for it */
  sha256?: string;
  names?: string[];
  /** feature stores */
  namespace?: string;
  vectors?: number;
  dim?: number;
  /** feature stores: why it would not be reused */
  problem?: string;
  /** refs: the blobs it names */
  blobs?: string[];
}

export interface CacheListing {
  root: string;
  entries: CacheEntry[];
  totals: Record<CacheEntryKind, { count: number; bytes: number }>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const REF_NAME = /^[0-9a-f]{40}\.json$/;
const FEATURE_NAME = /^[A-Za-z0-9._-]+\.features$/;
const TMP_NAME = /\.(\d+)\.[0-9a-f]{12}$/;
const PARTIAL_NAME = /^[0-9a-f]{40}(\.json|\.lock)?$/;
const ATOMIC_TEMP = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Everything Graft keeps in the cache folder `root`, with sizes and last use. */
export function listCache(root: string): CacheListing {
  const cache = new ContentCache(root);
  const entries: CacheEntry[] = [];
  const names = new Map<string, string[]>();
  for (const ref of listRefs(cache.root)) {
    entries.push(ref);
    for (const [sha, name] of ref.named ?? []) names.set(sha, [...(names.get(sha) ?? []), name]);
    delete ref.named;
  }
  for (const { sha256, path, st } of listBlobs(cache.root)) {
    let lastUsed = Math.round(st.mtimeMs);
    const record = lstatOrUndefined(cache.verificationPath(sha256));
    if (record) lastUsed = Math.max(lastUsed, Math.round(record.mtimeMs));
    entries.push({
      kind: 'blob',
      path: relative(cache.root, path),
      size: st.size,
      lastUsed,
      sha256,
      names: [...new Set(names.get(sha256) ?? [])].sort(),
    });
  }
  for (const { path, st } of listFeatureStores(cache.root)) {
    const info = FileFeatureStore.inspect(path);
    entries.push({
      kind: 'features',
      path: relative(cache.root, path),
      size: st.size,
      lastUsed: Math.round(st.mtimeMs),
      namespace: path
        .split(/[\\/]/)
        .pop()!
        .replace(/\.features$/, ''),
      vectors: info.vectors,
      dim: info.dim,
      problem: info.problem,
    });
  }
  for (const t of listTemps(cache.root)) entries.push(t);
  const totals = Object.fromEntries(
    (['blob', 'ref', 'features', 'temp'] as const).map((k) => {
      const of = entries.filter((e) => e.kind === k);
      return [k, { count: of.length, bytes: of.reduce((a, e) => a + e.size, 0) }];
    }),
  ) as CacheListing['totals'];
  return { root: cache.root, entries, totals };
}

export interface BadEntry {
  kind: CacheEntryKind;
  path: string;
  /** what is wrong, for people */
  problem: string;
  names?: string[];
}

export interface VerifyResult {
  root: string;
  blobs: number;
  bytes: number;
  refs: number;
  featureStores: number;
  bad: BadEntry[];
  seconds: number;
}

/**
 * Hashes every blob in full (refreshing the verification records of good ones), and checks that every ref
 * is readable and every feature store decodes and holds only finite vectors. Removes nothing.
 */
export async function verifyCache(
  root: string,
  onProgress?: (done: number, total: number, bytes: number) => void,
): Promise<VerifyResult> {
  const started = performance.now();
  const listing = listCache(root);
  const cache = new ContentCache(root);
  const bad: BadEntry[] = [];
  const blobs = listing.entries.filter((e) => e.kind === 'blob');
  let bytes = 0;
  for (const [i, b] of blobs.entries()) {
    const c = await cache.check(b.sha256!, undefined, { audit: true });
    bytes += b.size;
    onProgress?.(i + 1, blobs.length, bytes);
    if (c.state === 'damaged') {
      bad.push({ kind: 'blob', path: b.path, problem: `content does not match its name: ${c.found}`, names: b.names });
    }
  }
  const refs = listing.entries.filter((e) => e.kind === 'ref');
  for (const r of refs) if (r.problem) bad.push({ kind: 'ref', path: r.path, problem: r.problem });
  const stores = listing.entries.filter((e) => e.kind === 'features');
  for (const s of stores) if (s.problem) bad.push({ kind: 'features', path: s.path, problem: s.problem });
  return {
    root: listing.root,
    blobs: blobs.length,
    bytes,
    refs: refs.length,
    featureStores: stores.length,
    bad,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface CleanOptions {
  /** only entries not used for this many days */
  olderThanDays?: number;
  /** only the feature cache */
  features?: boolean;
  /** only entries that fail verification (blobs hashed in full, unreadable refs, poisoned feature stores) */
  damaged?: boolean;
}

export interface CleanResult {
  root: string;
  removed: { kind: CacheEntryKind; path: string; size: number }[];
  /** entries that matched but were left: in use by a running process */
  kept: { kind: CacheEntryKind; path: string; pid: number }[];
  freedBytes: number;
}

/**
 * Removes Graft's cache entries: all of them, or those the options select (the filters combine). Entries
 * a live process has marked in use are kept; so are temp files of live processes. Each removal is one
 * unlink, so a concurrent run sees a file whole or not at all, and a missing entry is a cache miss
 * everywhere (fetched, converted or computed again). Refs whose blobs are all gone are removed with them.
 */
export async function cleanCache(root: string, opts: CleanOptions = {}): Promise<CleanResult> {
  const listing = listCache(root);
  const cache = new ContentCache(root);
  const cutoff = opts.olderThanDays !== undefined ? Date.now() - opts.olderThanDays * 86_400_000 : undefined;
  let damaged: Set<string> | undefined;
  if (opts.damaged) {
    const v = await verifyCache(root);
    damaged = new Set(v.bad.map((b) => b.path));
  }
  const selected = listing.entries.filter((e) => {
    if (opts.features && e.kind !== 'features') return false;
    if (damaged && !damaged.has(e.path)) return false;
    if (cutoff !== undefined && e.lastUsed >= cutoff) return false;
    // refs go when their blobs go (below); temp files only in a full clean or by age
    if (e.kind === 'ref') return damaged !== undefined || (cutoff === undefined && !opts.features);
    if (e.kind === 'temp') return !damaged && !opts.features;
    return true;
  });
  const result: CleanResult = { root: listing.root, removed: [], kept: [], freedBytes: 0 };
  const remove = (e: CacheEntry, ...extra: string[]) => {
    for (const p of [join(listing.root, e.path), ...extra]) rmSync(p, { force: true });
    result.removed.push({ kind: e.kind, path: e.path, size: e.size });
    result.freedBytes += e.size;
  };
  // read just before removing: a run that starts using an entry after this sees it removed, a cache miss
  const blobsInUse = namesInUse(listing.root, { othersOnly: true });
  const featuresInUse = namesInUse(join(listing.root, 'features'), { othersOnly: true });
  for (const e of selected) {
    if (e.kind === 'blob') {
      const pid = blobsInUse.get(`blob:${e.sha256}`);
      if (pid !== undefined) result.kept.push({ kind: e.kind, path: e.path, pid });
      else remove(e, cache.verificationPath(e.sha256!));
    } else if (e.kind === 'features') {
      const pid = featuresInUse.get(`features:${e.namespace}`);
      if (pid !== undefined) result.kept.push({ kind: e.kind, path: e.path, pid });
      else remove(e);
    } else if (e.kind === 'temp') {
      if (e.problem === undefined) remove(e); // only temp files whose writer is gone are listed without a pid
    } else remove(e);
  }
  // refs that name only blobs that are gone now point at nothing: drop them
  const left = new Set(listBlobs(listing.root).map((b) => b.sha256));
  for (const e of listing.entries) {
    if (e.kind !== 'ref' || !e.blobs || result.removed.some((r) => r.path === e.path)) continue;
    if (e.blobs.length > 0 && e.blobs.every((sha) => !left.has(sha))) remove(e);
  }
  // verification records whose blob is gone
  for (const rec of walk(join(listing.root, 'verified', 'sha256'), 2)) {
    const sha = rec.name.replace(/\.json$/, '');
    if (HEX64.test(sha) && !left.has(sha)) rmSync(rec.path, { force: true });
  }
  pruneEmptyDirs(listing.root);
  return result;
}

interface Found {
  path: string;
  name: string;
  st: Stats;
}

/** Regular files `depth` folders below `dir` (never through symlinks). */
function walk(dir: string, depth: number): Found[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Found[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const st = lstatOrUndefined(path);
    if (!st) continue;
    if (depth > 0 && st.isDirectory()) out.push(...walk(path, depth - 1));
    else if (depth === 0 && st.isFile()) out.push({ path, name, st });
  }
  return out;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function listBlobs(root: string): { sha256: string; path: string; st: Stats }[] {
  return walk(join(root, 'blobs', 'sha256'), 1)
    .filter((f) => HEX64.test(f.name) && f.path.endsWith(join(f.name.slice(0, 2), f.name)))
    .map((f) => ({ sha256: f.name, path: f.path, st: f.st }));
}

function listFeatureStores(root: string): Found[] {
  return walk(join(root, 'features'), 0).filter((f) => FEATURE_NAME.test(f.name));
}

type RefEntry = CacheEntry & { named?: [string, string][] };

function listRefs(root: string): RefEntry[] {
  const out: RefEntry[] = [];
  for (const f of walk(join(root, 'refs'), 1)) {
    if (!REF_NAME.test(f.name)) continue;
    const kind = f.path.split(/[\\/]/).slice(-2, -1)[0]!;
    const entry: RefEntry = {
      kind: 'ref',
      path: relative(root, f.path),
      size: f.st.size,
      lastUsed: Math.round(f.st.mtimeMs),
    };
    try {
      const { key, value } = JSON.parse(readFileSync(f.path, 'utf8')) as { key?: unknown; value?: unknown };
      if (typeof key !== 'string' || typeof value !== 'object' || value === null) throw new Error('no key or value');
      entry.named = refNames(kind, key, value as Record<string, unknown>);
      entry.blobs = [...new Set(entry.named.map(([sha]) => sha))];
    } catch {
      // never quote it: a ref is a file like any other
      entry.problem = 'unreadable (not a ref Graft wrote; removed by `graft cache clean --damaged`)';
    }
    out.push(entry);
  }
  return out;
}

/** The (blob sha256, source name) pairs a ref records. */
function refNames(kind: string, key: string, v: Record<string, unknown>): [string, string][] {
  const sha = (x: unknown) => (typeof x === 'string' && HEX64.test(x) ? x : undefined);
  if (kind === 'npm') {
    const id = key.replace(/^npm\|/, '');
    const files = (v.files ?? {}) as Record<string, { sha256?: unknown }>;
    return Object.entries(files).flatMap(([p, f]) => {
      const h = sha(f?.sha256);
      return h ? [[h, `npm:${id}/${p}`] as [string, string]] : [];
    });
  }
  const h = sha(v.sha256);
  if (!h) return [];
  if (kind === 'hf') {
    const [, , repo, revision, path] = key.split('|');
    return [[h, `hf:${repo}/${path}@${revision}`]];
  }
  if (kind === 'converted') {
    return [[h, typeof v.label === 'string' ? `${v.label} (converted)` : `converted by ${String(v.converter ?? '?')}`]];
  }
  return [[h, `${kind} ref`]];
}

/** Files under tmp/, partial/ and the features folder left by writers; `problem` holds a live writer's pid. */
function listTemps(root: string): CacheEntry[] {
  const out: CacheEntry[] = [];
  const add = (f: Found, pid: number | undefined) =>
    out.push({
      kind: 'temp',
      path: relative(root, f.path),
      size: f.st.size,
      lastUsed: Math.round(f.st.mtimeMs),
      problem: pid !== undefined && processAlive(pid) ? `being written by process ${pid}` : undefined,
    });
  for (const f of walk(join(root, 'tmp'), 0)) {
    const m = TMP_NAME.exec(f.name);
    if (m) add(f, Number(m[1]));
  }
  // a resumable download is in use while its lock names a live process
  const partial = walk(join(root, 'partial'), 0).filter((f) => PARTIAL_NAME.test(f.name));
  for (const f of partial) {
    const base = f.name.replace(/\.(json|lock)$/, '');
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(join(root, 'partial', `${base}.lock`), 'utf8')) || undefined;
    } catch {
      pid = undefined;
    }
    add(f, pid);
  }
  for (const f of walk(join(root, 'features'), 0)) {
    const m = ATOMIC_TEMP.exec(f.name);
    if (m) add(f, Number(m[2]));
  }
  return out;
}

function pruneEmptyDirs(root: string): void {
  for (const dir of [join(root, 'blobs', 'sha256'), join(root, 'verified', 'sha256')]) {
    let subs: string[] = [];
    try {
      subs = readdirSync(dir);
    } catch {
      continue;
    }
    for (const s of subs) {
      try {
        rmdirSync(join(dir, s)); // only succeeds when empty
      } catch {
        // not empty, or not a folder
      }
    }
  }
}
