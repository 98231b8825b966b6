// Tiny TF.js graph models written by hand (GraphDef JSON + one weight shard), and helpers to run an
// imported model in onnxruntime on the same NHWC data TF.js gets.
import assert from 'node:assert/strict';
import type { TfAttr, TfNodeDef } from '../graphdef.js';
import type { Model } from '../../../onnx/graph.js';
import { Session, type HostTensor } from '../../../runtime/session.js';
import { mulberry32 } from '../../../util/rng.js';
import type { ReadFile, TfjsModelJson, WeightSpec } from '../types.js';
import { filesReader, type Feed } from './tfjs.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Attribute values in the proto3 JSON form the TF.js converter writes. */
export const attr = {
  s: (v: string): TfAttr => ({ s: b64(v) }),
  i: (v: number): TfAttr => ({ i: String(v) }),
  f: (v: number): TfAttr => ({ f: v }),
  b: (v: boolean): TfAttr => ({ b: v }),
  type: (v: string): TfAttr => ({ type: v }),
  ints: (v: number[]): TfAttr => ({ list: { i: v.map(String) } }),
  strs: (v: string[]): TfAttr => ({ list: { s: v.map(b64) } }),
  shape: (v: number[]): TfAttr => ({ shape: { dim: v.map((d) => ({ size: String(d) })) } }),
};

export class GraphModelBuilder {
  readonly nodes: TfNodeDef[] = [];
  private weights: { spec: WeightSpec; bytes: Uint8Array }[] = [];

  placeholder(name: string, shape: number[], dtype = 'DT_FLOAT'): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: attr.type(dtype), shape: attr.shape(shape) } });
    return name;
  }

  /** A constant stored in the weight shard (as the TF.js converter stores every Const). */
  const(name: string, data: ArrayLike<number>, shape: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    const arr = dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    this.weights.push({ spec: { name, shape, dtype }, bytes: new Uint8Array(arr.buffer) });
    this.nodes.push({
      name,
      op: 'Const',
      attr: {
        dtype: attr.type(dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT'),
        value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: attr.shape(shape).shape } },
      },
    });
    return name;
  }

  /** A float constant with seeded values in [-scale, scale]. */
  random(name: string, shape: number[], seed: number, scale = 1): string {
    return this.const(name, randomData(shape, seed, scale), shape);
  }

  op(op: string, name: string, inputs: string[], attrs: Record<string, TfAttr> = {}): string {
    this.nodes.push({ name, op, input: inputs, attr: { T: attr.type('DT_FLOAT'), ...attrs } });
    return name;
  }

  build(): { modelJson: TfjsModelJson; readFile: ReadFile } {
    const total = this.weights.reduce((a, w) => a + w.bytes.byteLength, 0);
    const bin = new Uint8Array(total);
    let o = 0;
    for (const w of this.weights) {
      bin.set(w.bytes, o);
      o += w.bytes.byteLength;
    }
    const modelJson: TfjsModelJson = {
      format: 'graph-model',
      generatedBy: 'graft-test',
      convertedBy: null,
      modelTopology: { node: this.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: ['w.bin'], weights: this.weights.map((w) => w.spec) }],
    };
    return { modelJson: JSON.parse(JSON.stringify(modelJson)), readFile: filesReader({ 'w.bin': bin }) };
  }
}

export function randomData(shape: number[], seed: number, scale = 1): Float32Array {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

export function nhwcToNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++) out[((b * c! + k) * h! + y) * w! + x] = data[((b * h! + y) * w! + x) * c! + k]!;
  return out;
}

export function nchwToNhwc(data: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++) out[((b * h! + y) * w! + x) * c! + k] = data[((b * c! + k) * h! + y) * w! + x]!;
  return out;
}

/**
 * Runs an imported model in onnxruntime on NHWC feeds (transposed to NCHW when the model's input is
 * channels-first) and returns outputs in TF layout.
 */
export async function onnxPredict(
  model: Model,
  feeds: Record<string, Feed>,
): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
  const nchwIn = model.metadata.get('graft.import.inputLayout') !== 'NHWC';
  const outLayouts = JSON.parse(model.metadata.get('graft.import.outputLayout') ?? '{}') as Record<string, string>;
  const ortFeeds: Record<string, HostTensor> = {};
  for (const [k, f] of Object.entries(feeds)) {
    const rank4 = f.shape.length === 4;
    const data = rank4 && nchwIn && f.data instanceof Float32Array ? nhwcToNchw(f.data, f.shape) : f.data;
    const shape = rank4 && nchwIn ? [f.shape[0]!, f.shape[3]!, f.shape[1]!, f.shape[2]!] : f.shape;
    ortFeeds[k] = { dtype: f.dtype ?? 'float32', dims: shape, data };
  }
  const s = await Session.create(model);
  try {
    const res = await s.run(ortFeeds);
    const out: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, t] of Object.entries(res)) {
      const data = Float32Array.from(t.data as Float32Array);
      if (outLayouts[k] === 'NCHW' && t.dims.length === 4) {
        const [n, c, h, w] = t.dims as number[];
        out[k] = { data: nchwToNhwc(data, t.dims as number[]), shape: [n!, h!, w!, c!] };
      } else out[k] = { data, shape: [...t.dims] };
    }
    return out;
  } finally {
    await s.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function assertClose(
  actual: { data: Float32Array; shape: number[] } | undefined,
  expected: { data: Float32Array; shape: number[] },
  tol: number,
  label: string,
): number {
  assert.ok(actual, `${label}: output missing`);
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  const d = maxAbsDiff(actual.data, expected.data);
  assert.ok(d <= tol, `${label}: max |onnx - tfjs| = ${d} > ${tol}`);
  // a comparison that passes on two constant outputs proves little
  assert.ok(
    expected.data.some((v) => v !== expected.data[0]),
    `${label}: reference output is constant; the test input does not exercise the op`,
  );
  return d;
}
