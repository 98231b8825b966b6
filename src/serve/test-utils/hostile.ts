// Hostile requests for `graft serve`, each with the status it must get: sent alone by the server tests and in the
// middle of the load by the load test. Loopback only: every request goes to the test's own server.
import { connect } from 'node:net';
import { gifBomb } from '../../data/node/test-utils/bombs.js';

export interface HostileCase {
  name: string;
  expect: number;
  /** sends the request to the server at `base` (http://127.0.0.1:PORT) and returns the status it got */
  send(base: string, token: string | undefined): Promise<number>;
}

/** What the request must never see echoed back. */
export const SECRET_CONTENT = 'SECRET-CONTENT-7f3a';

export function authHeader(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function post(base: string, token: string | undefined, type: string, body: Buffer | string, path = '/predict') {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, ...authHeader(token) },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const text = await r.text();
  if (text.includes(SECRET_CONTENT)) throw new Error(`the answer to a hostile request echoed its body: ${text}`);
  return r.status;
}

/**
 * A raw HTTP exchange: writes `head` (and `body`, if any), then waits up to `waitMs` for the status line.
 * For requests fetch will not send (a body that never arrives, a declared length over the limit).
 */
export function rawStatus(base: string, head: string, body: Buffer | undefined, waitMs: number): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((done, fail) => {
    const s = connect(Number(port), hostname);
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      fail(new Error(`no answer within ${waitMs} ms`));
    }, waitMs);
    s.on('connect', () => {
      s.write(head);
      if (body) s.write(body);
    });
    s.on('data', (b) => {
      got += b.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        clearTimeout(timer);
        s.destroy();
        done(Number(m[1]));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
}

/**
 * The cases of issue 16 for an image model served with `maxBodyBytes` and a body timeout of `bodyTimeoutMs`;
 * the 401 cases only when the server has a token.
 */
export function hostileCases(opts: { maxBodyBytes: number; bodyTimeoutMs: number; token?: string }): HostileCase[] {
  const host = (base: string) => new URL(base).host;
  const cases: HostileCase[] = [
    {
      name: 'oversized body (413)',
      expect: 413,
      // declared and sent: the server answers once the limit is crossed, before the rest is read
      send: (base, token) =>
        rawStatus(
          base,
          `POST /predict HTTP/1.1\r\nHost: ${host(base)}\r\nContent-Type: image/png\r\nContent-Length: ${opts.maxBodyBytes + 1}\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`,
          Buffer.alloc(opts.maxBodyBytes + 1, 7),
          10_000,
        ),
    },
    {
      name: 'oversized multipart file (413)',
      expect: 413,
      send: (base, token) =>
        post(
          base,
          token,
          'multipart/form-data; boundary=b0undary',
          multipartBody(Buffer.alloc(opts.maxBodyBytes + 10, 1)),
        ),
    },
    {
      name: 'wrong content type (415)',
      expect: 415,
      send: (base, token) => post(base, token, 'application/xml', `<x>${SECRET_CONTENT}</x>`),
    },
    {
      name: 'text sent to an image model (415)',
      expect: 415,
      send: (base, token) => post(base, token, 'application/json', JSON.stringify({ text: SECRET_CONTENT })),
    },
    {
      name: 'malformed JSON, not quoted back (400)',
      expect: 400,
      send: (base, token) => post(base, token, 'application/json', `{"text": "${SECRET_CONTENT}`),
    },
    {
      name: 'corrupt image (422)',
      expect: 422,
      send: (base, token) =>
        post(base, token, 'image/png', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), Buffer.from(SECRET_CONTENT)])),
    },
    {
      name: 'decode bomb: a 35-byte GIF declaring 16383 x 16383 (422)',
      expect: 422,
      send: (base, token) => post(base, token, 'image/gif', gifBomb()),
    },
    {
      name: 'empty body (422)',
      expect: 422,
      send: (base, token) => post(base, token, 'application/octet-stream', Buffer.alloc(0)),
    },
    {
      name: 'slow body (408)',
      expect: 408,
      // 10 of 1000 declared bytes, then nothing: Node's request timeout answers 408
      send: (base, token) =>
        rawStatus(
          base,
          `POST /predict HTTP/1.1\r\nHost: ${host(base)}\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`,
          Buffer.alloc(10),
          opts.bodyTimeoutMs + 5000,
        ),
    },
    {
      name: 'unknown route (404)',
      expect: 404,
      send: async (base, token) =>
        (await fetch(`${base}/admin/${SECRET_CONTENT}`, { headers: authHeader(token) })).status,
    },
  ];
  if (opts.token) {
    cases.push(
      {
        name: 'missing token (401)',
        expect: 401,
        send: (base) => post(base, undefined, 'image/png', Buffer.from('x')),
      },
      {
        name: 'wrong token (401)',
        expect: 401,
        send: (base, token) => post(base, `${token}x`, 'image/png', Buffer.from('x')),
      },
      {
        name: 'metrics without the token (401)',
        expect: 401,
        send: async (base) => (await fetch(`${base}/metrics`)).status,
      },
    );
  }
  return cases;
}

export function multipartBody(file: Buffer, type = 'image/png'): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--b0undary\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    file,
    Buffer.from('\r\n--b0undary--\r\n'),
  ]);
}
