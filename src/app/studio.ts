// `graft studio`: the studio's page, its training worker and onnxruntime-web's wasm, served from this machine.
//
// The page and the worker are bundled from src/studio with esbuild (prebuilt into dist/studio-web by
// `npm run build`; bundled here at startup in a checkout), so nothing comes from a CDN and the studio works
// offline. The server is node:http: it serves a handful of fixed paths, read-only, and nothing a request names
// reaches the file system except a model name, which must be one of the cached zoo models listed at startup
// (their files are the cache's own, named by hash, and checked against it again before they are sent).
// Bound to 127.0.0.1 by default; any other address gets a random token that the printed URL carries, and every
// request without it (in the URL, or the cookie the first visit sets) is refused. On loopback, the Host header
// must name the loopback address, so a web page elsewhere cannot reach the studio through DNS rebinding.
import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraftError, isGraftError } from '../errors.js';
import { loadRegistry } from '../zoo/node/user-models.js';
import { pullModel } from '../zoo/node/pull.js';

export interface StudioSettings {
  /** TCP port (default 8300; 0 picks a free one) */
  port?: number;
  /** address to listen on (default 127.0.0.1); any other needs the token the printed URL carries */
  host?: string;
  /** open the studio in the default browser */
  open?: boolean;
  /** cache folder of the zoo models offered (default: GRAFT_CACHE_DIR, else ~/.cache/graft) */
  cacheDir?: string;
  modelsFile?: string;
}

export interface StudioOptions extends StudioSettings {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** the token for a non-loopback address (default: 24 random bytes, hex) */
  token?: string;
}

export interface StudioModel {
  name: string;
  size: number;
  sha256: string;
  summary: string;
}

export interface RunningStudio {
  /** the URL to open (with the token, when one is needed) */
  url: string;
  host: string;
  port: number;
  tokenRequired: boolean;
  models: StudioModel[];
  close(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ORT_WASM = 'ort-wasm-simd-threaded.jsep.wasm';
export const DEFAULT_STUDIO_PORT = 8300;

/** The browser side: the page's script, the worker's, and the stylesheet. */
interface StudioAssets {
  page: Uint8Array;
  worker: Uint8Array;
}

let assets: Promise<StudioAssets> | undefined;

/**
 * The page and worker bundles: when Graft runs from its build (dist/), the ones `npm run build` wrote to
 * dist/studio-web; from the sources, bundled now from src/studio with esbuild (never a stale build).
 */
export function studioAssets(): Promise<StudioAssets> {
  assets ??= (async () => {
    const prebuilt = join(ROOT, 'dist', 'studio-web');
    const fromBuild = fileURLToPath(import.meta.url).includes(`${sep}dist${sep}`);
    if (fromBuild && existsSync(join(prebuilt, 'studio.js'))) {
      return {
        page: readFileSync(join(prebuilt, 'studio.js')),
        worker: readFileSync(join(prebuilt, 'studio-worker.js')),
      };
    }
    return bundleStudio();
  })();
  return assets;
}

/** Bundles src/studio/page.ts and worker.ts for the browser (the runtime seam maps to onnxruntime-web). */
export async function bundleStudio(): Promise<StudioAssets> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new GraftError('CONFIG', 'The studio is not built and esbuild is not installed to build it', {
      fix: 'run `npm run build` (or `npm install` in a checkout)',
      cause: e,
    });
  }
  const common = {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser' as const,
    format: 'esm' as const,
    target: 'es2022',
    write: false,
    minify: true,
    logLevel: 'silent' as const,
  };
  const [page, worker] = await Promise.all([
    esbuild.build({ ...common, entryPoints: ['src/studio/page.ts'] }),
    esbuild.build({ ...common, entryPoints: ['src/studio/worker.ts'] }),
  ]);
  return { page: page.outputFiles![0]!.contents, worker: worker.outputFiles![0]!.contents };
}

const STYLE = `
:root { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1e293b; }
body { margin: 0 auto; max-width: 1040px; padding: 1rem 1.5rem 4rem; }
h1 { margin-bottom: 0.2rem; } h2 { border-top: 1px solid #e2e8f0; padding-top: 1rem; }
.note, .intro, .hint { color: #475569; }
.row { display: flex; flex-wrap: wrap; gap: 0.8rem; align-items: end; margin: 0.5rem 0; }
.field { display: flex; flex-direction: column; font-size: 0.9rem; gap: 0.2rem; }
.field input[type=number] { width: 6rem; }
.drop { border: 2px dashed #94a3b8; border-radius: 8px; padding: 1rem; display: flex; gap: 1rem; align-items: end; }
.drop.over { background: #eff6ff; border-color: #2563eb; }
button { padding: 0.45rem 0.9rem; font-size: 0.95rem; }
:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 0.25rem 0.6rem; text-align: left; vertical-align: middle; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
.thumbs img, .losses img, #try-table img { image-rendering: pixelated; margin-right: 2px; vertical-align: middle; }
.losses li { display: flex; gap: 0.6rem; align-items: center; margin: 0.2rem 0; }
.charts, #eval { display: flex; flex-wrap: wrap; gap: 1rem; }
#eval > p, #eval > h3, #eval > ol { flex-basis: 100%; }
figure.chart { margin: 0; }
progress { width: 16rem; height: 1rem; }
.big { font-size: 1.15rem; }
`;

function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Graft Studio</title>
<link rel="stylesheet" href="./studio.css">
<script type="module" src="./studio.js"></script>
</head>
<body>
<main id="app"><noscript>Graft Studio needs JavaScript.</noscript></main>
</body>
</html>
`;
}

/**
 * The studio as static files (index.html, the stylesheet, the two bundles, onnxruntime-web's wasm): what
 * `graft studio` serves, and what `npm run build` writes to dist/studio-web so any web server can serve it
 * (without the studio server there is no list of cached models: the page takes a model URL or an .onnx file).
 */
export async function studioSite(): Promise<{ path: string; bytes: Uint8Array; type: string }[]> {
  const { page, worker } = await studioAssets();
  const wasmDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const encoder = new TextEncoder();
  return [
    { path: 'index.html', bytes: encoder.encode(indexHtml()), type: 'text/html; charset=utf-8' },
    { path: 'studio.css', bytes: encoder.encode(STYLE), type: 'text/css; charset=utf-8' },
    { path: 'studio.js', bytes: page, type: 'text/javascript; charset=utf-8' },
    { path: 'studio-worker.js', bytes: worker, type: 'text/javascript; charset=utf-8' },
    { path: ORT_WASM, bytes: await readFile(join(wasmDir, ORT_WASM)), type: 'application/wasm' },
  ];
}

/** Whether the address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The zoo's image models the cache holds, each with its ONNX file checked against the cache. Offline: a model
 * whose files are not cached is not offered (the studio never downloads; `graft zoo pull` does).
 */
async function cachedModels(opts: StudioOptions): Promise<(StudioModel & { path: string })[]> {
  const registry = loadRegistry({ modelsFile: opts.modelsFile, env: opts.env, cwd: opts.cwd });
  const out: (StudioModel & { path: string })[] = [];
  for (const entry of registry.list('*')) {
    if (!entry.task.startsWith('image')) continue;
    try {
      const pulled = await pullModel(entry.name, {
        registry,
        offline: true,
        cacheDir: opts.cacheDir,
        env: opts.env,
        cwd: opts.cwd,
      });
      if (!pulled.cached || Object.keys(pulled.externalData).length) continue;
      out.push({
        name: entry.name,
        size: pulled.size,
        sha256: pulled.sha256,
        summary: entry.description,
        path: pulled.modelPath,
      });
    } catch (e) {
      if (!isGraftError(e)) throw e;
    }
  }
  return out;
}

const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest();
const COOKIE = 'graft_studio';

/** Starts the studio's server; resolves once it listens. */
export async function startStudio(opts: StudioOptions = {}): Promise<RunningStudio> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_STUDIO_PORT;
  const loopback = isLoopback(host);
  const token = loopback ? undefined : (opts.token ?? randomBytes(24).toString('hex'));
  if (token !== undefined && token.length < 16) {
    throw new GraftError('BAD_INPUT', 'The studio token is too short', {
      expected: 'at least 16 characters',
      found: `${token.length}`,
    });
  }
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new GraftError('BAD_INPUT', 'The studio port must be a whole number from 0 to 65535', {
      found: String(port),
      fix: 'pick another --port (0 picks a free one)',
    });
  }
  const tokenDigest = token === undefined ? undefined : sha256(token);
  const [site, models] = await Promise.all([studioSite(), cachedModels(opts)]);
  const files = new Map<string, { body: Uint8Array; type: string }>(
    site.map((f) => [f.path === 'index.html' ? '/' : `/${f.path}`, { body: f.bytes, type: f.type }]),
  );
  files.set('/api/models', {
    body: new TextEncoder().encode(JSON.stringify({ models: models.map(({ path: _p, ...m }) => m) })),
    type: 'application/json; charset=utf-8',
  });
  const byName = new Map(models.map((m) => [m.name, m]));

  let boundPort = port;
  const allowedHosts = () =>
    new Set([`127.0.0.1:${boundPort}`, `localhost:${boundPort}`, `[::1]:${boundPort}`, `${host}:${boundPort}`]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {
      // cross-origin isolation: onnxruntime-web's wasm threads need SharedArrayBuffer
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      // Vega compiles chart expressions with Function; no inline script, nothing from another origin
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; worker-src 'self'; " +
        "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; style-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    };
    const refuse = (status: number, message: string): void => {
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
    };
    if (loopback && !allowedHosts().has(String(req.headers.host ?? '').toLowerCase())) {
      return refuse(421, 'This studio answers only requests addressed to its loopback address');
    }
    const url = new URL(req.url ?? '/', 'http://studio');
    if (tokenDigest) {
      const given = url.searchParams.get('token') ?? cookieOf(req, COOKIE);
      if (given === undefined || given === null || !timingSafeEqual(sha256(given), tokenDigest)) {
        return refuse(403, 'This studio needs its token: open the URL `graft studio` printed');
      }
      if (url.searchParams.has('token')) {
        headers['Set-Cookie'] = `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'The studio serves GET requests only');
    let file = files.get(url.pathname);
    const model = /^\/models\/([^/]+)\.onnx$/.exec(url.pathname);
    if (!file && model) {
      const m = byName.get(decodeURIComponent(model[1]!));
      if (!m) return refuse(404, 'No cached model of that name');
      const body = await readFile(m.path);
      // the cache file is read again now: it must still be the one checked at startup
      if (sha256(body).toString('hex') !== m.sha256)
        return refuse(500, 'The cached model changed since the studio started: run graft cache verify');
      file = { body, type: 'application/octet-stream' };
    }
    if (!file) return refuse(404, 'Not found');
    res.writeHead(200, { ...headers, 'Content-Type': file.type, 'Content-Length': String(file.body.length) });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('The studio server failed on this request\n');
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        new GraftError('CONFIG', `The studio cannot listen on ${host}:${port}`, {
          found: e.code ?? e.message,
          fix: e.code === 'EADDRINUSE' ? 'pick another --port (0 picks a free one)' : 'check --host and --port',
        }),
      ),
    );
    server.listen(port, host, ok);
  });
  boundPort = (server.address() as AddressInfo).port;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `http://${shown}:${boundPort}/${token ? `?token=${token}` : ''}`;
  if (opts.open) openBrowser(url);
  return {
    url,
    host,
    port: boundPort,
    tokenRequired: token !== undefined,
    models: models.map(({ path: _p, ...m }) => m),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The platform's opener; a failure to open is not an error (the URL is printed). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // the URL is printed; the user opens it
  }
}
