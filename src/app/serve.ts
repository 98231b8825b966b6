// The recipe behind `graft serve`: check the serving settings (an address off this machine needs a token),
// open a trained classifier (image, or text through text-predict.ts) and put a batcher in front of it. The HTTP
// side lives in src/serve/, an entry point like the CLI.
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { exampleSize, writeNormalized } from '../data/image.js';
import { type DataLimits, DEFAULT_DATA_LIMITS } from '../data/limits.js';
import { decodeForModel } from '../data/node/decode.js';
import { GraftError, isGraftError } from '../errors.js';
import { loadOnnxFile } from '../node/onnx-file.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import { readClassifierInfo } from '../transfer/pipeline-graft.js';
import { isTextClassifier } from '../transfer/text/classifier.js';
import { type ClassScore, classifierLogits, resolveModelPath } from './classifier.js';
import { Batcher } from './serve-batcher.js';
import { openTextClassifier } from './text-predict.js';

export interface ServeSettings {
  /** RUN_DIR/model.onnx, or the run folder */
  model: string;
  /** address to listen on (default 127.0.0.1); any other needs a token */
  host?: string;
  /** TCP port (default 8080; 0 picks a free one) */
  port?: number;
  /** bearer token every request but /healthz must carry (default: GRAFT_SERVE_TOKEN) */
  token?: string;
  /** most requests run as one batch (default 16; 1 runs each alone) */
  maxBatch?: number;
  /** how long the first request of a batch waits for others while the model is idle, in ms (default 2) */
  maxDelayMs?: number;
  /** most requests being handled at once (read, decoded, waiting, running); more get 503 (default 64) */
  maxQueue?: number;
  /** largest request body, in MiB (default 8) */
  maxBodyMb?: number;
  /** longest time a client may take to send its request, in seconds (default 30) */
  bodyTimeout?: number;
  /** classes answered per request unless it asks for fewer or more with ?top=K (default 5) */
  top?: number;
  session?: SessionOptions;
  /** pixel limits for decoding uploaded images, and the model input limit */
  limits?: DataLimits;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The checked settings the HTTP layer runs with. */
export interface ServeConfig {
  host: string;
  port: number;
  token?: string;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  top: number;
  /** whether the address is this machine only */
  loopback: boolean;
}

/** A classifier ready to answer requests one by one (batched behind the scenes). */
export interface ServedModel {
  kind: 'image' | 'text';
  /** the model file */
  path: string;
  /** its file name, for responses and metrics */
  name: string;
  labels: readonly string[];
  /** best first. Bad images are GraftError BAD_INPUT (corrupt, unsupported, over the pixel limit) */
  classifyImage(bytes: Buffer, top: number): Promise<ClassScore[]>;
  classifyText(text: string, top: number): Promise<ClassScore[]>;
  /** requests waiting for a batch */
  waiting(): number;
  /** called after every batch with its size and run time */
  onBatch?: (size: number, seconds: number) => void;
  close(): Promise<void>;
}

export interface PreparedServe {
  model: ServedModel;
  config: ServeConfig;
}

const TOKEN_MIN_CHARS = 16;

/** Checks the settings, then opens the model: a bad setting fails before the model is loaded. */
export async function prepareServe(s: ServeSettings): Promise<PreparedServe> {
  const config = checkServeSettings(s);
  const model = await openServedModel(s.model, {
    maxBatch: config.maxBatch,
    maxDelayMs: config.maxDelayMs,
    session: s.session,
    limits: s.limits,
    cwd: s.cwd,
  });
  return { model, config };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

export function checkServeSettings(s: ServeSettings): ServeConfig {
  const host = s.host ?? '127.0.0.1';
  const port = s.port ?? 8080;
  const int = (v: number | undefined, fallback: number, min: number, max: number, flag: string) => {
    const x = v ?? fallback;
    if (!Number.isInteger(x) || x < min || x > max) {
      throw new GraftError('BAD_INPUT', `--${flag} must be a whole number from ${min} to ${max}`, {
        found: String(x),
        fix: `leave it out for the default (${fallback})`,
      });
    }
    return x;
  };
  int(port, 8080, 0, 65535, 'port');
  const token = s.token ?? s.env?.GRAFT_SERVE_TOKEN;
  const loopback = isLoopback(host);
  if (!loopback && !token) {
    throw new GraftError('BAD_INPUT', `Serving on ${host} needs a token`, {
      expected: 'a --token (or GRAFT_SERVE_TOKEN) that every request must send as Authorization: Bearer TOKEN',
      found: 'an address other machines can reach, and no token',
      fix: `set GRAFT_SERVE_TOKEN to a long random secret (e.g. \`openssl rand -hex 24\`), or serve on 127.0.0.1`,
    });
  }
  if (token !== undefined && (token.length < TOKEN_MIN_CHARS || /\s/.test(token))) {
    // the token itself is never part of the message
    throw new GraftError('BAD_INPUT', 'The serving token is too weak', {
      expected: `at least ${TOKEN_MIN_CHARS} characters, no spaces`,
      found: `${token.length} characters`,
      fix: 'use a long random secret, e.g. `openssl rand -hex 24`',
    });
  }
  const maxBodyMb = s.maxBodyMb ?? 8;
  if (!(Number.isFinite(maxBodyMb) && maxBodyMb > 0 && maxBodyMb <= 1024)) {
    throw new GraftError('BAD_INPUT', '--max-body must be a number of MiB in (0, 1024]', { found: String(maxBodyMb) });
  }
  const bodyTimeout = s.bodyTimeout ?? 30;
  if (!(Number.isFinite(bodyTimeout) && bodyTimeout > 0 && bodyTimeout <= 3600)) {
    throw new GraftError('BAD_INPUT', '--body-timeout must be a number of seconds in (0, 3600]', {
      found: String(bodyTimeout),
    });
  }
  const maxDelayMs = s.maxDelayMs ?? 2;
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0 && maxDelayMs <= 1000)) {
    throw new GraftError('BAD_INPUT', '--max-delay-ms must lie in [0, 1000]', { found: String(maxDelayMs) });
  }
  return {
    host,
    port,
    ...(token !== undefined ? { token } : {}),
    maxBatch: int(s.maxBatch, 16, 1, 1024, 'max-batch'),
    maxDelayMs,
    maxQueue: int(s.maxQueue, 64, 1, 100_000, 'max-queue'),
    maxBodyBytes: Math.round(maxBodyMb * 1024 * 1024),
    bodyTimeoutMs: Math.round(bodyTimeout * 1000),
    top: int(s.top, 5, 1, 1000, 'top'),
    loopback,
  };
}

export interface OpenServedOptions {
  maxBatch: number;
  maxDelayMs: number;
  session?: SessionOptions;
  limits?: DataLimits;
  cwd?: string;
}

/** Opens an image or text classifier written by graft train (the model's metadata says which). */
export async function openServedModel(target: string, o: OpenServedOptions): Promise<ServedModel> {
  const path = resolveModelPath(target, o.cwd);
  const model = loadOnnxFile(path);
  if (isTextClassifier(model)) {
    const c = await openTextClassifier(model, { session: o.session });
    const served: ServedModel = {
      kind: 'text',
      path,
      name: basename(path),
      labels: c.labels,
      classifyImage: () => Promise.reject(wrongKind('text', 'an image')),
      classifyText: async (text, top) => topK(await batcher.submit(text), c.labels, top, path),
      waiting: () => batcher.waiting,
      close: () => c.dispose(),
    };
    const batcher = new Batcher<string, Float64Array>(
      async (texts) => (await c.predict(texts, texts.length)).map((p) => Float64Array.from(p.probabilities)),
      o.maxBatch,
      o.maxDelayMs,
      (n, s) => served.onBatch?.(n, s),
    );
    return served;
  }
  const info = readClassifierInfo(model, path, o.limits);
  const session = await Session.create(model, o.session);
  const p = info.preprocessing;
  const per = exampleSize(p);
  const C = info.labels.length;
  const limits = o.limits ?? DEFAULT_DATA_LIMITS;
  const classifier = { path, model, info, session, dispose: () => session.dispose() };
  // uploads being decoded: the requests an idle model's first request may wait for
  let decoding = 0;
  const served: ServedModel = {
    kind: 'image',
    path,
    name: basename(path),
    labels: info.labels,
    classifyImage: async (bytes, top) => {
      const x = new Float32Array(per);
      decoding++;
      try {
        writeNormalized(await decodeUpload(bytes, p, limits), p, x, 0);
      } catch (e) {
        decoding--;
        batcher.nudge();
        throw e;
      }
      // queued before it stops counting as coming, so the batch it may complete does not leave without it
      const answer = batcher.submit(x);
      decoding--;
      batcher.nudge();
      return topK(await answer, info.labels, top, path);
    },
    classifyText: () => Promise.reject(wrongKind('image', 'text')),
    waiting: () => batcher.waiting,
    close: () => session.dispose(),
  };
  const batcher = new Batcher<Float32Array, Float64Array>(
    async (xs) => {
      const x = new Float32Array(xs.length * per);
      xs.forEach((v, i) => x.set(v, i * per));
      const logits = await classifierLogits(classifier, x, xs.length);
      return xs.map((_, i) => softmax(logits.subarray(i * C, (i + 1) * C)));
    },
    o.maxBatch,
    o.maxDelayMs,
    (n, s) => served.onBatch?.(n, s),
    () => decoding,
  );
  return served;
}

/** An uploaded image through the data layer's decoder (format check, pixel limit before any pixel is decoded). */
async function decodeUpload(bytes: Buffer, p: Parameters<typeof decodeForModel>[1], limits: DataLimits) {
  try {
    return await decodeForModel(bytes, p, undefined, limits);
  } catch (e) {
    if (isGraftError(e)) throw e;
    // libvips' own words on a corrupt file (truncated data, bad markers) name no content of it
    throw new GraftError('BAD_INPUT', 'The upload is not a readable image', {
      found: (e instanceof Error ? e.message : String(e)).split('\n')[0],
      fix: 'send a JPEG, PNG, WebP, GIF or TIFF file',
    });
  }
}

/** Thrown for a request of the wrong kind: an image sent to a text model, or text to an image model. */
export class WrongInputKind extends GraftError {}

function wrongKind(model: string, sent: string): WrongInputKind {
  return new WrongInputKind('BAD_INPUT', `This is a ${model} classifier: it cannot classify ${sent}`, {
    expected:
      model === 'image'
        ? 'an image body (image/jpeg, image/png, ..., application/octet-stream) or multipart/form-data with one file'
        : 'application/json {"text": "..."} or text/plain',
  });
}

function softmax(z: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  const e = Float64Array.from(z, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function topK(probs: Float64Array, labels: readonly string[], k: number, path: string): ClassScore[] {
  if (!probs.every(Number.isFinite)) {
    throw new GraftError('RUNTIME', 'The model gave a non-finite score (NaN or infinity)', {
      file: path,
      fix: `check the model with \`graft inspect ${path}\``,
    });
  }
  const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]! || a - b);
  return order
    .slice(0, Math.max(1, Math.min(k, labels.length)))
    .map((j) => ({ label: labels[j]!, probability: probs[j]! }));
}
