// Runs the package's browser entry in Debian's Chromium (never a downloaded browser), driven by
// playwright-core: src/browser.ts bundled with esbuild as a user's bundler would (platform 'browser', so the
// runtime seam is onnxruntime-web), served with onnxruntime-web's wasm from a loopback HTTP server whose
// COOP/COEP headers make the page cross-origin isolated (wasm threads need SharedArrayBuffer). The page
// loads ./page.ts, which drives the library; every other request is refused.
import { existsSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, type Page, chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHROMIUM = process.env.GRAFT_CHROMIUM ?? '/usr/bin/chromium';

/** onnxruntime-web's wasm binary for the bundle it resolves to in a browser build (wasm + WebGPU kernels). */
const ORT_WASM = 'ort-wasm-simd-threaded.jsep.wasm';

const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HarnessOptions {
  /** start Chromium with --enable-unsafe-webgpu (a SwiftShader adapter without a GPU); else --disable-gpu */
  webgpu?: boolean;
  /** more files to serve, by path ('/models/tiny.onnx') */
  files?: Record<string, Uint8Array>;
  /** more Chromium flags */
  args?: string[];
}

export interface BrowserHarness {
  page: Page;
  origin: string;
  /** every path the page asked for, in order */
  requests: string[];
  /** console errors and page errors */
  errors: string[];
  /** console warnings (onnxruntime-web reports its fallbacks there) */
  warnings: string[];
  serve(path: string, bytes: Uint8Array): void;
  /** CPU seconds the page's renderer process has used, all its threads (wasm thread workers too) */
  cpuSeconds(): Promise<number>;
  close(): Promise<void>;
}

let bundles: Promise<{ graft: Uint8Array; page: Uint8Array }> | undefined;

/** The library bundle (src/browser.ts) and the page driver (./page.ts, importing '/graft.js'), built once. */
export function browserBundles(): Promise<{ graft: Uint8Array; page: Uint8Array }> {
  bundles ??= (async () => {
    const common = {
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'browser' as const,
      format: 'esm' as const,
      target: 'es2022',
      write: false,
      logLevel: 'silent' as const,
    };
    const [graft, page] = await Promise.all([
      build({ ...common, entryPoints: ['src/browser.ts'] }),
      build({ ...common, entryPoints: ['src/app-web/test-utils/page.ts'], external: ['/graft.js'] }),
    ]);
    return { graft: graft.outputFiles![0]!.contents, page: page.outputFiles![0]!.contents };
  })();
  return bundles;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

/** Starts the server and a fresh Chromium, and opens the harness page (window.harness is ready). */
export async function startBrowser(opts: HarnessOptions = {}): Promise<BrowserHarness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is needed for the browser tests and is not at ${CHROMIUM}. Install it with: ` +
        'apt-get update && apt-get install -y --no-install-recommends chromium (or point GRAFT_CHROMIUM at one).',
    );
  }
  const { graft, page: pageJs } = await browserBundles();
  const files = new Map<string, Uint8Array>([
    ['/', new TextEncoder().encode('<!doctype html><meta charset="utf-8"><title>graft</title>')],
    ['/graft.js', graft],
    ['/page.js', pageJs],
    [`/${ORT_WASM}`, readFileSync(`${ROOT}node_modules/onnxruntime-web/dist/${ORT_WASM}`)],
    ...Object.entries(opts.files ?? {}),
  ]);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const body = req.method === 'GET' ? files.get(path) : undefined;
    const headers: Record<string, string> = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    if (!body) {
      res.writeHead(404, headers).end();
      return;
    }
    const ext = path === '/' ? '.html' : path.slice(path.lastIndexOf('.'));
    res
      .writeHead(200, {
        ...headers,
        'Content-Type': TYPES[ext] ?? 'application/octet-stream',
        'Content-Length': body.length,
      })
      .end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...BASE_FLAGS, ...(opts.webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu']), ...(opts.args ?? [])],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    const warnings: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      if (m.type() === 'warning') warnings.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    // nothing leaves the loopback server
    await page.route('**/*', (route) =>
      route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort(),
    );
    await page.goto(`${origin}/`);
    await page.addScriptTag({ url: '/page.js', type: 'module' });
    await page.waitForFunction(() => 'harness' in window);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const b = browser;
    return {
      page,
      origin,
      requests,
      errors,
      warnings,
      serve: (path, bytes) => void files.set(path, bytes),
      cpuSeconds: async () =>
        (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN,
      close: async () => {
        await b.close();
        await new Promise((ok) => server.close(ok));
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    throw e;
  }
}

/**
 * A script for the page, bundled as a user's bundler would bundle it: TypeScript, importing Graft as
 * 'graft' (resolved to the library bundle the page already has, '/graft.js').
 */
export async function bundlePageScript(source: string): Promise<Uint8Array> {
  const r = await build({
    stdin: { contents: source, loader: 'ts', resolveDir: ROOT },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'graft-from-page',
        setup: (b) => b.onResolve({ filter: /^graft$/ }, () => ({ path: '/graft.js', external: true })),
      },
    ],
  });
  return r.outputFiles![0]!.contents;
}

/** Typed arrays as the page sends and takes them (base64 of the bytes). */
export const b64 = {
  from: (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'),
  f32: (s: string): Float32Array => {
    const buf = Buffer.from(s, 'base64');
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  },
  bytes: (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64')),
};
