import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { type HostTensor, Session, type SessionOptions } from '../../runtime/session.js';

/** One batch of encoded texts as model feeds. */
export type BatchFeeds = (indices: readonly number[]) => Record<string, HostTensor>;

export interface RunBatchesOptions {
  session: Session;
  /** how many texts */
  count: number;
  /** length of each encoded text: batches are formed from texts of similar length, so padding stays short */
  lengthOf: (i: number) => number;
  feeds: BatchFeeds;
  output: string;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs a text model over `count` encoded texts and returns its `output` rows ([count, dim], in text order).
 * Texts are sorted by length before batching: a batch pads to its own longest text, so sorting avoids
 * running a 5-token message padded to 500.
 */
export async function runInBatches(opts: RunBatchesOptions): Promise<{ data: Float32Array; dim: number }> {
  const { count, session } = opts;
  const bs = opts.batchSize ?? 64;
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => opts.lengthOf(a) - opts.lengthOf(b) || a - b);
  let out: Float32Array | undefined;
  let dim = 0;
  for (let at = 0; at < count; at += bs) {
    const idx = order.slice(at, at + bs);
    const r = (await session.run(opts.feeds(idx), [opts.output]))[opts.output]!;
    if (r.dtype !== 'float32' || r.dims.length !== 2 || r.dims[0] !== idx.length) {
      throw new GraftError('SHAPE_MISMATCH', 'The text model gave features of an unexpected shape', {
        value: opts.output,
        expected: `float32 [${idx.length}, D]`,
        found: `${r.dtype} [${r.dims.join(', ')}]`,
      });
    }
    if (!out) {
      dim = r.dims[1]!;
      out = new Float32Array(count * dim);
    }
    const data = r.data as Float32Array;
    idx.forEach((i, k) => out!.set(data.subarray(k * dim, (k + 1) * dim), i * dim));
    opts.onProgress?.(Math.min(count, at + bs), count);
  }
  return { data: out ?? new Float32Array(0), dim };
}

/**
 * Per-feature standardisation constants from training rows: shift = mean, scale = 1/std (1 where a
 * feature is constant, so it stays 0 rather than blowing up).
 */
export function standardization(data: Float32Array, dim: number): { shift: Float32Array; scale: Float32Array } {
  const n = data.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += data[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(1, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = data[i * dim + j]! - mean[j]!;
      sq[j]! += d * d;
    }
  }
  const shift = Float32Array.from(mean);
  const scale = Float32Array.from(sq, (s) => {
    const std = Math.sqrt(s / Math.max(1, n));
    return std > 1e-8 ? 1 / std : 1;
  });
  return { shift, scale };
}

/**
 * The standardisation constants of a feature model's starting output on the training texts (a session of its
 * own, disposed after): trained models standardise their pooled features with these, so one learning rate
 * suits the head.
 */
export async function startingStandardization(
  model: Model,
  output: string,
  ids: readonly Int32Array[],
  encoder: { feeds(lists: readonly Int32Array[]): Record<string, HostTensor> },
  opts: { session?: SessionOptions; onProgress?: (done: number, total: number) => void },
): Promise<{ shift: Float32Array; scale: Float32Array }> {
  const session = await Session.create(model, opts.session);
  try {
    const f = await runInBatches({
      session,
      count: ids.length,
      lengthOf: (i) => ids[i]!.length,
      feeds: (idx) => encoder.feeds(idx.map((i) => ids[i]!)),
      output,
      batchSize: 32,
      onProgress: opts.onProgress,
    });
    return standardization(f.data, f.dim);
  } finally {
    await session.dispose();
  }
}

/** Applies (x - shift) * scale in float32, exactly as the Sub and Mul of the exported graph do. */
export function applyStandardization(
  data: Float32Array,
  dim: number,
  s: { shift: Float32Array; scale: Float32Array },
): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const j = i % dim;
    out[i] = Math.fround(Math.fround(data[i]! - s.shift[j]!) * s.scale[j]!);
  }
  return out;
}
