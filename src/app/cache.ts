// `graft cache ls | verify | clean`: the model cache and the feature cache, as the user sees them.
import { resolve } from 'node:path';
import {
  type CacheListing,
  type CleanOptions,
  type CleanResult,
  type VerifyResult,
  cleanCache,
  listCache,
  verifyCache,
} from './cache-admin.js';
import { defaultCacheDir } from '../zoo/sources/node/cache.js';

export interface CachePlace {
  /** the cache folder (default GRAFT_CACHE_DIR, else ~/.cache/graft) */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function cacheRoot(p: CachePlace): string {
  return resolve(p.cwd ?? process.cwd(), p.cacheDir ?? defaultCacheDir(p.env));
}

/** Every entry of the cache with its size and last use. */
export async function listCacheEntries(place: CachePlace = {}): Promise<CacheListing> {
  return listCache(cacheRoot(place));
}

/** Hashes every cached file and checks the feature stores; removes nothing. */
export async function verifyCacheEntries(
  place: CachePlace = {},
  onProgress?: (done: number, total: number, bytes: number) => void,
): Promise<VerifyResult> {
  return verifyCache(cacheRoot(place), onProgress);
}

/** Removes Graft's cache entries (all, or those the options select), never one a running process uses. */
export async function cleanCacheEntries(place: CachePlace & CleanOptions = {}): Promise<CleanResult> {
  const { cacheDir: _c, env: _e, cwd: _w, ...opts } = place;
  return cleanCache(cacheRoot(place), opts);
}
