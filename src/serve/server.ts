// `graft serve`: a trained classifier behind HTTP.
//
// The server is Fastify 5. Why a library, and this one: what a model endpoint must get right on hostile input
// is mostly HTTP plumbing (a body-size limit enforced while the body streams in, 413 before it is buffered;
// content-type dispatch with 415 for the rest; JSON parsing that refuses prototype poisoning; multipart parsing
// with limits on parts, files and sizes, through @fastify/multipart and busboy; a 503 for requests arriving
// while it shuts down), and writing that by hand on node:http is where servers grow their bugs. Fastify is an
// OpenJS Foundation project with a security policy, a long-term-support schedule and 5.x releases current with
// Node 20 to 24, and its `inject` lets tests drive it without sockets. Slow bodies are cut by Node's own
// request timeout (408), configured through Fastify's `http` options.
import { createHash, timingSafeEqual } from 'node:crypto';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ClassScore } from '../app/classifier.js';
import { type PreparedServe, WrongInputKind } from '../app/serve.js';
import { isGraftError } from '../errors.js';
import { ServeMetrics } from './metrics.js';

export interface RunningServer {
  /** http://HOST:PORT */
  url: string;
  host: string;
  port: number;
  metrics: ServeMetrics;
  /** stops accepting requests, answers those in flight, then releases the model */
  close(): Promise<void>;
}

export const ROUTES = { predict: '/predict', health: '/healthz', metrics: '/metrics' } as const;

/** A request's body as the handlers see it after the content-type parsers. */
type Body = Buffer | string | Record<string, unknown> | undefined;

/** Sent with an error status; messages are fixed per case and never repeat what the request sent. */
interface ErrorBody {
  error: { code: string; message: string };
}

/** Builds the server (not listening yet): routes, limits, auth, metrics. */
export async function buildServer(prepared: PreparedServe): Promise<{ app: FastifyInstance; metrics: ServeMetrics }> {
  const { model, config } = prepared;
  let inFlight = 0;
  const metrics = new ServeMetrics(
    { model: model.name, kind: model.kind, maxBatch: config.maxBatch, maxQueue: config.maxQueue },
    { inFlight: () => inFlight, waiting: () => model.waiting() },
  );
  model.onBatch = (n, s) => metrics.batch(n, s);
  const app = Fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    // slow clients: the whole request (headers and body) must arrive within the timeout, else Node answers 408
    // and closes the connection; it checks open connections every second instead of every 30
    requestTimeout: config.bodyTimeoutMs,
    http: { connectionsCheckingInterval: 1000, headersTimeout: config.bodyTimeoutMs },
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  await app.register(multipart, {
    limits: { fileSize: config.maxBodyBytes, files: 1, fields: 8, parts: 10, fieldSize: 64 * 1024, headerPairs: 64 },
    throwFileSizeLimit: true,
  });
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+$/i]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_req, body, done) =>
      done(null, body),
    );
  }

  const tokenDigest = config.token !== undefined ? sha256(config.token) : undefined;
  const started = new WeakMap<FastifyRequest, number>();
  const admitted = new WeakSet<FastifyRequest>();

  app.addHook('onRequest', async (req, reply) => {
    started.set(req, performance.now());
    if (tokenDigest && req.url !== ROUTES.health) {
      const given = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      // compared as digests in constant time: no timing tells how much of a guess was right
      if (given === undefined || !timingSafeEqual(sha256(given), tokenDigest)) {
        void reply.header('www-authenticate', 'Bearer realm="graft"');
        return sendError(reply, 401, 'UNAUTHORIZED', 'Send the token as Authorization: Bearer TOKEN');
      }
    }
    if (req.method === 'POST' && req.routeOptions.url === ROUTES.predict) {
      // the bound covers the whole life of a request, from before its body is read: at most maxQueue bodies are
      // held in memory, decoded or waiting; the rest are told to come back instead of piling up
      if (inFlight >= config.maxQueue) {
        void reply.header('retry-after', '1');
        return sendError(reply, 503, 'OVERLOADED', `The server is handling ${config.maxQueue} requests; retry shortly`);
      }
      inFlight++;
      admitted.add(req);
      reply.raw.once('close', () => {
        if (admitted.delete(req)) inFlight--;
      });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route =
      req.routeOptions.url && Object.values(ROUTES).includes(req.routeOptions.url as never)
        ? req.routeOptions.url
        : 'unmatched';
    metrics.request(route, reply.statusCode, (performance.now() - (started.get(req) ?? performance.now())) / 1000);
  });

  app.get(ROUTES.health, async () => ({ status: 'ok', model: model.name, kind: model.kind }));
  app.get(ROUTES.metrics, async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return metrics.render();
  });

  app.post(ROUTES.predict, async (req, reply) => {
    const top = topOf(req.query, config.top);
    if (top === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'top must be a whole number from 1 to 1000');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let scores: ClassScore[];
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file) return sendError(reply, 422, 'NO_FILE', 'The multipart body holds no file');
      scores = await model.classifyImage(await file.toBuffer(), top);
    } else if (type === 'application/json' || type === 'text/plain') {
      const text = textOf(req.body as Body);
      if (text === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'Send JSON {"text": "..."} (or text/plain)');
      scores = await model.classifyText(text, top);
    } else {
      const bytes = req.body as Body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0)
        return sendError(reply, 422, 'EMPTY_BODY', 'The body is empty');
      scores = await model.classifyImage(bytes, top);
    }
    return { model: model.name, top: scores };
  });

  app.setNotFoundHandler((_req, reply) =>
    sendError(
      reply,
      404,
      'NOT_FOUND',
      `No such route; the routes are POST ${ROUTES.predict}, GET ${ROUTES.health}, GET ${ROUTES.metrics}`,
    ),
  );
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof WrongInputKind) return sendError(reply, 415, 'WRONG_KIND', err.message.split('\n')[0]!);
    // bad images (corrupt, unsupported, over the pixel limit): the data layer's message names the problem only
    if (isGraftError(err) && err.code === 'BAD_INPUT')
      return sendError(reply, 422, 'BAD_IMAGE', err.message.split('\n')[0]!);
    const status = err.statusCode ?? 500;
    if (status === 413)
      return sendError(reply, 413, 'TOO_LARGE', `The body is over the ${config.maxBodyBytes}-byte limit`);
    if (status === 415 || err.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE')
      return sendError(reply, 415, 'UNSUPPORTED_TYPE', `Unsupported content type; send ${acceptedTypes(model.kind)}`);
    // JSON syntax errors would quote the body: a fixed message instead
    if (status >= 400 && status < 500)
      return sendError(reply, status, 'BAD_REQUEST', 'The request body could not be read');
    return sendError(reply, 500, 'INTERNAL', 'The model failed on this request');
  });
  app.addHook('onClose', async () => {
    await model.close();
  });
  return { app, metrics };
}

/** Builds the server and listens; `close()` stops it and releases the model. */
export async function startServer(prepared: PreparedServe): Promise<RunningServer> {
  const { app, metrics } = await buildServer(prepared);
  const { host, port } = prepared.config;
  try {
    await app.listen({ host, port });
  } catch (e) {
    await app.close();
    const err = e as NodeJS.ErrnoException;
    const { GraftError } = await import('../errors.js');
    throw new GraftError('IO', `Cannot listen on ${host}:${port}`, {
      found: err.code ?? err.message,
      fix: err.code === 'EADDRINUSE' ? 'pick another --port, or stop what is using it' : 'check --host and --port',
    });
  }
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${bound}`, host, port: bound, metrics, close: () => app.close() };
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  const body: ErrorBody = { error: { code, message } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

function acceptedTypes(kind: 'image' | 'text'): string {
  return kind === 'image'
    ? 'image bytes (image/jpeg, image/png, image/webp, image/gif, image/tiff, application/octet-stream) or multipart/form-data'
    : 'application/json {"text": "..."} or text/plain';
}

function textOf(body: Body): string | undefined {
  if (typeof body === 'string') return body;
  if (body && !Buffer.isBuffer(body) && typeof body.text === 'string') return body.text;
  return undefined;
}

function topOf(query: unknown, fallback: number): number | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.top;
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw)) return undefined;
  const k = Number(raw);
  return k >= 1 && k <= 1000 ? k : undefined;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
