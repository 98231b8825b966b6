import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { batchDims, exampleSize, writeNormalized } from '../data/image.js';
import { type DataLimits, DEFAULT_DATA_LIMITS } from '../data/limits.js';
import { decodeForModel } from '../data/node/decode.js';
import { type ReadRefusal, readBounded } from '../data/node/read.js';
import type { Model } from '../onnx/graph.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import { RUN_FILES } from '../report/run-folder.js';
import { type ClassifierInfo, readClassifierInfo } from '../transfer/pipeline-graft.js';
import { loadOnnxFile } from '../node/onnx-file.js';

/** A grafted classifier loaded for inference. Call `dispose()` when done. */
export interface LoadedClassifier {
  path: string;
  model: Model;
  info: ClassifierInfo;
  session: Session;
  dispose(): Promise<void>;
}

/** A run folder names its model.onnx; anything else is taken as the model file itself. */
export function resolveModelPath(target: string, cwd = process.cwd()): string {
  const p = resolve(cwd, target);
  let isDir = false;
  try {
    isDir = statSync(p).isDirectory();
  } catch (e) {
    throw new GraftError('NOT_FOUND', 'Model not found', {
      file: p,
      expected: 'a run folder written by `graft train`, or its model.onnx',
      found: (e as NodeJS.ErrnoException).code ?? String(e),
      fix: 'pass RUN_DIR/model.onnx (graft train prints it at the end)',
    });
  }
  return isDir ? join(p, RUN_FILES.model) : p;
}

export async function loadClassifier(
  target: string,
  opts: { session?: SessionOptions; cwd?: string; limits?: DataLimits } = {},
): Promise<LoadedClassifier> {
  const path = resolveModelPath(target, opts.cwd);
  const model = loadOnnxFile(path);
  const info = readClassifierInfo(model, path, opts.limits);
  const session = await Session.create(model, opts.session);
  return { path, model, info, session, dispose: () => session.dispose() };
}

/**
 * Runs a batch of preprocessed images ([n, ...item dims] in the model's layout) and returns the
 * temperature-scaled logits, [n, classes] row-major.
 */
export async function classifierLogits(c: LoadedClassifier, x: Float32Array, n: number): Promise<Float32Array> {
  const out = await c.session.run(
    { [c.info.inputName]: { dtype: 'float32', dims: batchDims(n, c.info.preprocessing), data: x } },
    [c.info.logits],
  );
  return out[c.info.logits]!.data as Float32Array;
}

export interface ClassScore {
  label: string;
  probability: number;
}

export interface Prediction {
  file: string;
  /** best first; absent when the file could not be read */
  top?: ClassScore[];
  error?: string;
}

/**
 * Classifies image files: each is decoded and preprocessed as the model's metadata says, then run in
 * batches. A file that cannot be read or decoded gets an `error` instead of scores; the rest go on.
 */
export async function predictFiles(
  c: LoadedClassifier,
  files: readonly string[],
  opts: { top?: number; batchSize?: number; cwd?: string; limits?: DataLimits } = {},
): Promise<Prediction[]> {
  const p = c.info.preprocessing;
  const per = exampleSize(p);
  const k = Math.max(1, Math.min(opts.top ?? 5, c.info.labels.length));
  const bs = opts.batchSize ?? 16;
  const out: Prediction[] = files.map((file) => ({ file }));
  for (let at = 0; at < files.length; at += bs) {
    const idx = Array.from({ length: Math.min(bs, files.length - at) }, (_, j) => at + j);
    const decoded = await Promise.all(
      idx.map(async (i) => {
        try {
          // only a regular file, read to at most the cap: a FIFO or /dev/zero named x.png never hangs predict
          const maxBytes = opts.limits?.maxImageBytes ?? DEFAULT_DATA_LIMITS.maxImageBytes;
          const read = await readBounded(resolve(opts.cwd ?? '.', files[i]!), maxBytes);
          if ('refused' in read) throw new Error(describeRefusal(read.refused));
          return await decodeForModel(read.bytes, p, undefined, opts.limits);
        } catch (e) {
          out[i]!.error = describeReadError(e);
          return undefined;
        }
      }),
    );
    const ok = idx.filter((_, j) => decoded[j] !== undefined);
    if (!ok.length) continue;
    const x = new Float32Array(ok.length * per);
    let row = 0;
    decoded.forEach((img) => {
      if (img) writeNormalized(img, p, x, row++);
    });
    const logits = await classifierLogits(c, x, ok.length);
    const C = c.info.labels.length;
    ok.forEach((i, r) => {
      const row = logits.subarray(r * C, (r + 1) * C);
      if (!row.every(Number.isFinite)) {
        // a broken model (or weights damaged on disk) must not pass for a prediction: the command fails on it
        out[i]!.error =
          `the model gave a non-finite score (NaN or infinity) for this image; check the model with \`graft inspect ${c.path}\``;
        return;
      }
      const probs = softmaxRow(row);
      const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]! || a - b);
      out[i]!.top = order.slice(0, k).map((j) => ({ label: c.info.labels[j]!, probability: probs[j]! }));
    });
  }
  return out;
}

function softmaxRow(z: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  const e = Float64Array.from(z, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function describeRefusal(r: ReadRefusal): string {
  if (r.kind === 'empty-file') return 'empty (0-byte) file';
  if (r.kind === 'unreadable') {
    if (r.detail === 'ENOENT') return 'file not found';
    if (r.detail === 'EACCES') return 'permission denied';
  }
  return `Image not read: ${r.detail}`;
}

function describeReadError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'file not found';
  if (err.code === 'EISDIR') return 'a folder, not an image file';
  if (err.code === 'EACCES') return 'permission denied';
  const msg = (err.message ?? String(e)).split('\n')[0]!;
  return /unsupported image format|Input buffer/i.test(msg) ? `not a readable image (${msg})` : msg;
}

/** `graft predict`: loads a trained classifier, classifies the files, and releases it. */
export async function predictImages(
  target: string,
  files: readonly string[],
  opts: { top?: number; batchSize?: number; session?: SessionOptions; cwd?: string; limits?: DataLimits } = {},
): Promise<{ model: string; predictions: Prediction[] }> {
  const classifier = await loadClassifier(target, { cwd: opts.cwd, session: opts.session, limits: opts.limits });
  try {
    return { model: classifier.path, predictions: await predictFiles(classifier, files, opts) };
  } finally {
    await classifier.dispose();
  }
}
