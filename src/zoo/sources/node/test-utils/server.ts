import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the test server answers one path. */
export interface Route {
  body: Uint8Array;
  /** extra response headers */
  headers?: Record<string, string>;
  /** send an ETag so clients may resume (default true) */
  etag?: boolean;
  /** honour Range requests (default true) */
  ranges?: boolean;
  /** destroy the socket after this many body bytes, for the first `dropTimes` full requests */
  dropAfter?: number;
  dropTimes?: number;
  status?: number;
  /** answer with a redirect to this path (on the same server) or URL */
  redirect?: string;
  /** when set, requests without this Authorization header get 401 */
  requireAuth?: string;
  /** custom handler; return true when it answered */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

/** A local HTTP server on 127.0.0.1 with a random port that counts and logs every request. */
export class TestServer {
  readonly routes = new Map<string, Route>();
  readonly log: LoggedRequest[] = [];
  private drops = new Map<string, number>();
  private server: Server;
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => void this.answer(req, res));
  }

  static async start(): Promise<TestServer> {
    const s = new TestServer();
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  requests(path?: string): LoggedRequest[] {
    return path === undefined ? this.log : this.log.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.log.push({ method: req.method ?? 'GET', path, headers: req.headers });
    const route = this.routes.get(path);
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    if (route.handle && (await route.handle(req, res))) return;
    if (route.requireAuth !== undefined && req.headers.authorization !== route.requireAuth) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (route.redirect) {
      res.writeHead(302, { location: route.redirect, ...route.headers }).end();
      return;
    }
    if (route.status && route.status !== 200) {
      res.writeHead(route.status, route.headers).end();
      return;
    }
    const body = route.body;
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...route.headers };
    if (route.etag !== false) headers.etag = etag;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && route.ranges !== false && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= body.byteLength) {
        res.writeHead(416, { 'content-range': `bytes */${body.byteLength}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`;
    }
    const part = body.subarray(start);
    headers['content-length'] = String(part.byteLength);
    res.writeHead(start > 0 ? 206 : 200, headers);
    const dropped = this.drops.get(path) ?? 0;
    if (route.dropAfter !== undefined && dropped < (route.dropTimes ?? 1) && route.dropAfter < part.byteLength) {
      this.drops.set(path, dropped + 1);
      res.write(part.subarray(0, route.dropAfter), () => {
        // Give the bytes time to reach the client, then cut the connection as a failing network would.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    res.end(part);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deterministic pseudo-random bytes (content that compresses badly, like weights). */
export function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}
