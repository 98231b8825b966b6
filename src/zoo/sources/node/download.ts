import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GraftError } from '../../../errors.js';
import type { SourceEventListener } from '../events.js';
import { checkUrlScheme } from '../spec.js';
import { HashingWriter, processAlive, type CachedFile, type ContentCache } from './cache.js';

export interface DownloadRequest {
  url: string;
  /** for people: progress lines and error messages */
  label: string;
  cache: ContentCache;
  headers?: Record<string, string>;
  /** the sha256 the bytes must have */
  sha256?: string;
  /** derives the expected sha256 from the first response's headers (Hugging Face's X-Linked-Etag) */
  sha256FromHeaders?: (headers: IncomingHttpHeaders) => string | undefined;
  /** names the partial file that a later attempt or run resumes; default: the URL */
  resumeKey?: string;
  onEvent?: SourceEventListener;
  /** attempts after the first, for dropped connections and 5xx answers (default 4) */
  retries?: number;
  /** first back-off delay, doubled each retry (default 250 ms) */
  retryDelayMs?: number;
  /** socket inactivity limit (default 30 s, or $GRAFT_HTTP_TIMEOUT_MS) */
  timeoutMs?: number;
  /** extra advice for 401/403 answers (e.g. which token to set) */
  authFix?: string;
  signal?: AbortSignal;
}

export interface Downloaded {
  file: CachedFile;
  /** headers of the first response, before redirects (where Hugging Face puts the commit and the hash) */
  firstHeaders: IncomingHttpHeaders;
  bytesDownloaded: number;
}

interface PartialMeta {
  url: string;
  validator?: string;
}

/** Errors worth no more than one retry: the host is not there at all. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_FAIL']);

/**
 * Downloads a URL into the cache. A dropped connection is resumed with an HTTP Range request (guarded by
 * If-Range, so a file that changed on the server restarts from zero); bytes wait under partial/ and only a
 * complete file whose hash matches is renamed into blobs/. A hash mismatch deletes the bytes.
 */
export async function download(req: DownloadRequest): Promise<Downloaded> {
  const { cache } = req;
  const partial = cache.partialPath(req.resumeKey ?? req.url);
  const lock = acquireLock(`${partial}.lock`);
  // Another live process is fetching the same file: do not touch its partial file, fetch privately.
  const dataPath = lock ? partial : cache.tempPath('download');
  const metaPath = `${partial}.json`;
  try {
    return await downloadTo(req, dataPath, lock ? metaPath : undefined);
  } finally {
    if (lock) rmSync(`${partial}.lock`, { force: true });
    else rmSync(dataPath, { force: true });
  }
}

async function downloadTo(req: DownloadRequest, dataPath: string, metaPath: string | undefined): Promise<Downloaded> {
  const retries = req.retries ?? 4;
  const timeoutMs = req.timeoutMs ?? (Number(process.env.GRAFT_HTTP_TIMEOUT_MS) || 30_000);
  let meta = metaPath ? readMeta(metaPath, req.url) : undefined;
  if (!meta) {
    rmSync(dataPath, { force: true });
    meta = { url: req.url };
  }
  let firstHeaders: IncomingHttpHeaders | undefined;
  let expected = req.sha256;
  let downloaded = 0;
  let lastError: unknown;
  let restartedAfterMismatch = false;
  const started = Date.now();

  for (let attempt = 0; attempt <= retries; attempt++) {
    if (req.signal?.aborted) throw cancelled(req);
    const have = fileSize(dataPath);
    const headers: Record<string, string> = { 'user-agent': 'graft', ...req.headers };
    if (have > 0 && meta.validator) {
      headers.range = `bytes=${have}-`;
      headers['if-range'] = meta.validator;
    }
    let res: IncomingMessage;
    try {
      const r = await get(req.url, headers, timeoutMs, req.signal);
      res = r.res;
      firstHeaders ??= r.firstHeaders;
    } catch (e) {
      if (e instanceof GraftError) throw e;
      if (req.signal?.aborted) throw cancelled(req);
      lastError = e;
      const code = errCode(e);
      if (UNREACHABLE.has(code) && attempt >= 1) break;
      await retryPause(req, attempt, code, fileSize(dataPath));
      continue;
    }

    const status = res.statusCode ?? 0;
    if (status !== 200 && status !== 206) {
      res.resume();
      if (status === 416) {
        rmSync(dataPath, { force: true });
        meta = { url: req.url };
        lastError = new Error('HTTP 416 (range not satisfiable)');
        continue;
      }
      if (status >= 500 || status === 429 || status === 408) {
        lastError = new Error(`HTTP ${status}`);
        await retryPause(req, attempt, `HTTP ${status}`, have);
        continue;
      }
      throw httpError(req, status);
    }

    const append = status === 206 && have > 0 && contentRangeStart(res.headers['content-range']) === have;
    if (!append) rmSync(dataPath, { force: true });
    const validator = strongValidator(res.headers);
    meta = { url: req.url, validator };
    if (metaPath) writeFileSync(metaPath, JSON.stringify(meta));
    if (expected === undefined && req.sha256FromHeaders && firstHeaders) expected = req.sha256FromHeaders(firstHeaders);

    const startAt = append ? have : 0;
    const length = Number(res.headers['content-length']);
    const total = Number.isFinite(length) ? startAt + length : undefined;
    req.onEvent?.({
      type: 'download-start',
      label: req.label,
      url: req.url,
      totalBytes: total,
      resumedFrom: startAt || undefined,
    });

    const writer = await HashingWriter.create(dataPath, append);
    let lastEmit = 0;
    try {
      for await (const chunk of res) {
        await writer.write(chunk as Buffer);
        downloaded += (chunk as Buffer).byteLength;
        const now = Date.now();
        if (now - lastEmit >= 100) {
          lastEmit = now;
          req.onEvent?.({
            type: 'download-progress',
            label: req.label,
            url: req.url,
            bytes: writer.size,
            totalBytes: total,
          });
        }
      }
      if (total !== undefined && writer.size !== total) {
        throw Object.assign(new Error(`connection closed after ${writer.size} of ${total} bytes`), {
          code: 'ETRUNCATED',
        });
      }
    } catch (e) {
      // Keep what arrived: the next attempt (or the next run) asks for the rest.
      await writer.close().catch(() => undefined);
      if (req.signal?.aborted) throw cancelled(req);
      lastError = e;
      await retryPause(req, attempt, errCode(e) || (e as Error).message, fileSize(dataPath));
      continue;
    }

    const sha256 = await writer.finish();
    req.onEvent?.({ type: 'download-progress', label: req.label, url: req.url, bytes: writer.size, totalBytes: total });
    if (expected !== undefined && sha256 !== expected) {
      rmSync(dataPath, { force: true });
      if (metaPath) rmSync(metaPath, { force: true });
      // A resumed file could splice two versions if the server lied about its validator: retry once whole.
      if (append && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        meta = { url: req.url };
        continue;
      }
      throw new GraftError('INTEGRITY', `The download of ${req.label} does not have the expected content`, {
        file: req.url,
        expected: `sha256 ${expected}`,
        found: `sha256 ${sha256} (${writer.size} bytes); nothing was cached`,
        fix: 'if the file was updated on purpose, update the pinned sha256; otherwise retry later or use another mirror',
      });
    }
    const file = await req.cache.adopt(dataPath, sha256, writer.size);
    if (metaPath) rmSync(metaPath, { force: true });
    req.onEvent?.({
      type: 'download-end',
      label: req.label,
      url: req.url,
      bytes: writer.size,
      ms: Date.now() - started,
    });
    return { file, firstHeaders: firstHeaders ?? {}, bytesDownloaded: downloaded };
  }
  throw networkError(req, lastError);
}

/** GET with redirects. Credentials are not forwarded to another origin (Hugging Face redirects to a CDN). */
async function get(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ res: IncomingMessage; firstHeaders: IncomingHttpHeaders }> {
  let current = new URL(url);
  let hdrs = { ...headers };
  let firstHeaders: IncomingHttpHeaders | undefined;
  for (let hop = 0; hop < 10; hop++) {
    checkUrlScheme(current);
    const res = await new Promise<IncomingMessage>((resolveRes, reject) => {
      const send = current.protocol === 'https:' ? httpsRequest : httpRequest;
      const r = send(current, { method: 'GET', headers: hdrs, signal }, resolveRes);
      r.setTimeout(timeoutMs, () => r.destroy(Object.assign(new Error('socket timed out'), { code: 'ETIMEDOUT' })));
      r.on('error', reject);
      r.end();
    });
    firstHeaders ??= res.headers;
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location) {
      res.resume();
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        hdrs = Object.fromEntries(Object.entries(hdrs).filter(([k]) => !/^(authorization|cookie)$/i.test(k)));
      }
      current = next;
      continue;
    }
    return { res, firstHeaders };
  }
  throw Object.assign(new Error('more than 10 redirects'), { code: 'EREDIRECTS' });
}

function strongValidator(h: IncomingHttpHeaders): string | undefined {
  const etag = h.etag;
  if (typeof etag === 'string' && !etag.startsWith('W/')) return etag;
  return typeof h['last-modified'] === 'string' ? h['last-modified'] : undefined;
}

function contentRangeStart(v: string | undefined): number | undefined {
  const m = /^bytes (\d+)-/.exec(v ?? '');
  return m ? Number(m[1]) : undefined;
}

function readMeta(path: string, url: string): PartialMeta | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as PartialMeta;
    return m.url === url ? m : undefined;
  } catch {
    return undefined;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A lock file holding our pid; a lock whose process is gone is taken over. */
function acquireLock(path: string): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8'));
      } catch {
        /* vanished meanwhile: try again */
      }
      if (pid && processAlive(pid)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

async function retryPause(req: DownloadRequest, attempt: number, reason: string, resumeAt: number): Promise<void> {
  if (attempt >= (req.retries ?? 4)) return;
  req.onEvent?.({ type: 'download-retry', label: req.label, url: req.url, attempt: attempt + 1, reason, resumeAt });
  const delay = Math.min((req.retryDelayMs ?? 250) * 2 ** attempt, 4000);
  await new Promise((r) => setTimeout(r, delay));
}

function errCode(e: unknown): string {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? c : '';
}

export function offlineFix(what: string, url: string | undefined, cacheRoot: string): string {
  const fetchElsewhere = url
    ? `download ${url} on a machine with network and pass the local file path instead, or `
    : '';
  return (
    `check the network connection (and proxy settings) for ${what}; offline, ${fetchElsewhere}` +
    `copy a Graft cache folder filled elsewhere to ${cacheRoot} (or point GRAFT_CACHE_DIR / --cache-dir at it)`
  );
}

function networkError(req: DownloadRequest, e: unknown): GraftError {
  const code = errCode(e);
  return new GraftError('NETWORK', `Cannot download ${req.label} from ${req.url}`, {
    file: req.url,
    found: `${code ? `${code}: ` : ''}${(e as Error | undefined)?.message ?? 'no answer'}`,
    fix: offlineFix(req.label, req.url, req.cache.root),
    cause: e,
  });
}

function httpError(req: DownloadRequest, status: number): GraftError {
  if (status === 404 || status === 410) {
    return new GraftError('NOT_FOUND', `${req.label} does not exist on the server`, {
      file: req.url,
      expected: 'HTTP 200',
      found: `HTTP ${status}`,
      fix: 'check the repository, path and revision (or the URL) for typos',
    });
  }
  return new GraftError('NETWORK', `The server refused ${req.label}`, {
    file: req.url,
    expected: 'HTTP 200',
    found: `HTTP ${status}`,
    fix:
      status === 401 || status === 403
        ? (req.authFix ?? 'the file needs credentials: check you may access it')
        : 'retry later; if it persists, download the file elsewhere and pass its local path',
  });
}

function cancelled(req: DownloadRequest): GraftError {
  return new GraftError('CANCELLED', `The download of ${req.label} was cancelled`, { file: req.url });
}
