import type { Model } from '../../onnx/graph.js';
import { Session, type SessionOptions } from '../../runtime/session.js';
import { cut } from '../../surgery/cut.js';
import { upperGraph } from './split.js';

/** Samples held in memory as one row-major array: `count` rows of `sampleDims` values each. */
export interface SampleArray {
  data: Float32Array;
  sampleDims: readonly number[];
}

export function sampleCount(s: SampleArray): number {
  const per = s.sampleDims.reduce((a, d) => a * d, 1);
  return per === 0 ? 0 : s.data.length / per;
}

/**
 * Runs a model over an array of samples in batches and returns its outputs, concatenated. Used to move
 * cached activations up through frozen blocks (from the cache value to a later boundary or the pooled
 * features) and to compute logits from cached activations.
 */
export async function forwardAll(
  model: Model,
  input: SampleArray,
  opts: { outputs?: readonly string[]; batchSize?: number; session?: SessionOptions } = {},
): Promise<Record<string, SampleArray>> {
  const per = input.sampleDims.reduce((a, d) => a * d, 1);
  const count = sampleCount(input);
  const inputName = model.graph.dataInputs[0]!.name;
  const outputs = opts.outputs ?? model.graph.outputs.map((o) => o.name);
  const chunks: Record<string, Float32Array[]> = Object.fromEntries(outputs.map((o) => [o, []]));
  const dims: Record<string, number[]> = {};
  const session = await Session.create(model, opts.session);
  try {
    const bs = opts.batchSize ?? 64;
    for (let at = 0; at < count; at += bs) {
      const n = Math.min(bs, count - at);
      const out = await session.run(
        {
          [inputName]: {
            dtype: 'float32',
            dims: [n, ...input.sampleDims],
            data: input.data.subarray(at * per, (at + n) * per),
          },
        },
        outputs,
      );
      for (const o of outputs) {
        chunks[o]!.push(out[o]!.data as Float32Array);
        dims[o] = out[o]!.dims.slice(1) as number[];
      }
    }
  } finally {
    await session.dispose();
  }
  const result: Record<string, SampleArray> = {};
  for (const o of outputs) {
    const parts = chunks[o]!;
    const data = new Float32Array(parts.reduce((a, c) => a + c.length, 0));
    let k = 0;
    for (const c of parts) {
      data.set(c, k);
      k += c.length;
    }
    result[o] = { data, sampleDims: dims[o] ?? [] };
  }
  return result;
}

/** The frozen part of `model` between the values `from` and `to`: input `from`, output `to`. */
export function between(model: Model, from: string, to: string): Model {
  return upperGraph(cut(model, to), from);
}
