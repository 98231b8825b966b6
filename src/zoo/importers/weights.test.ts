import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../../errors.js';
import { importTfjsGraphModel } from './graph-model.js';
import { float16ToFloat32, loadWeights } from './weights.js';
import { GraphModelBuilder, assertClose, attr, onnxPredict, randomData } from './test-utils/fixtures.js';
import { filesReader, tf, tfReady, tfjsGraphPredict } from './test-utils/tfjs.js';
import type { WeightSpec } from './types.js';

function quantize(data: Float32Array, dtype: 'uint8' | 'uint16'): { bytes: Uint8Array; scale: number; min: number } {
  const min = Math.min(...data);
  const max = Math.max(...data);
  const levels = dtype === 'uint8' ? 255 : 65535;
  const scale = (max - min) / levels;
  const q = dtype === 'uint8' ? new Uint8Array(data.length) : new Uint16Array(data.length);
  data.forEach((v, i) => (q[i] = Math.round((v - min) / scale)));
  return { bytes: new Uint8Array(q.buffer), scale, min };
}

test('weights: uint8, uint16 and float16 quantized weights decode exactly as TF.js decodes them', async () => {
  await tfReady();
  const values = randomData([4, 6], 5, 3);
  const u8 = quantize(values, 'uint8');
  const u16 = quantize(values, 'uint16');
  const f16 = new Uint16Array([
    0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x3555, 0x1234, 0x4248,
  ]);
  const specs: WeightSpec[] = [
    { name: 'a', shape: [4, 6], dtype: 'float32', quantization: { dtype: 'uint8', scale: u8.scale, min: u8.min } },
    { name: 'b', shape: [4, 6], dtype: 'float32', quantization: { dtype: 'uint16', scale: u16.scale, min: u16.min } },
    { name: 'c', shape: [12], dtype: 'float32', quantization: { dtype: 'float16' } },
    { name: 'd', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 2, min: -3 } },
    { name: 'e', shape: [2], dtype: 'int32' },
  ];
  const parts = [
    u8.bytes,
    u16.bytes,
    new Uint8Array(f16.buffer),
    Uint8Array.of(0, 1, 7),
    new Uint8Array(Int32Array.of(-5, 9).buffer),
  ];
  // split across two shards, mid-weight, as TF.js does for large weights
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  const files = { s1: all.slice(0, 30), s2: all.slice(30) };
  const ours = await loadWeights([{ paths: ['s1', 's2'], weights: specs }], filesReader(files));
  const theirs = tf.io.decodeWeights(all.buffer, specs as tf.io.WeightsManifestEntry[]);
  for (const s of specs) {
    const mine = ours.get(s.name)!;
    assert.deepEqual(mine.shape, s.shape);
    assert.deepEqual(Array.from(mine.data), Array.from(theirs[s.name]!.dataSync()), s.name);
  }
  tf.dispose(Object.values(theirs));
  assert.ok(Number.isNaN(float16ToFloat32(Uint16Array.of(0x7e00))[0]));
});

test('weights: a conv model with uint8 kernel and float16 bias matches TF.js after import', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('x', [1, 6, 6, 3]);
  b.op('_FusedConv2D', 'y', [x, b.random('w', [3, 3, 3, 4], 1), b.random('bias', [4], 2)], {
    strides: attr.ints([1, 1, 1, 1]),
    padding: attr.s('SAME'),
    data_format: attr.s('NHWC'),
    dilations: attr.ints([1, 1, 1, 1]),
    fused_ops: attr.strs(['BiasAdd', 'Relu']),
    num_args: attr.i(1),
  });
  const { modelJson, readFile } = b.build();
  // rewrite the shard with quantized weights
  const raw = await readFile('w.bin');
  const w = new Float32Array(raw.slice(0, 108 * 4).buffer);
  const bias = new Float32Array(raw.slice(108 * 4).buffer);
  const q = quantize(w, 'uint8');
  const half = Uint16Array.from(bias, (v) => f32ToF16(v));
  const specs = modelJson.weightsManifest![0]!.weights;
  specs[0]!.quantization = { dtype: 'uint8', scale: q.scale, min: q.min };
  specs[1]!.quantization = { dtype: 'float16' };
  const shard = new Uint8Array(q.bytes.byteLength + half.byteLength);
  shard.set(q.bytes);
  shard.set(new Uint8Array(half.buffer), q.bytes.byteLength);
  const qRead = filesReader({ 'w.bin': shard });
  const feeds = { x: { data: randomData([1, 6, 6, 3], 9), shape: [1, 6, 6, 3] } };
  const [expected] = await tfjsGraphPredict(modelJson, qRead, feeds, ['y']);
  const model = await importTfjsGraphModel(modelJson, qRead);
  assertClose((await onnxPredict(model, feeds)).y, expected!, 1e-5, 'y');
});

test('weights: truncated shards and missing scale/min are BAD_MODEL errors naming the weight', async () => {
  await assert.rejects(
    loadWeights(
      [{ paths: ['s'], weights: [{ name: 'k', shape: [10], dtype: 'float32' }] }],
      filesReader({ s: new Uint8Array(12) }),
    ),
    (e: unknown) =>
      e instanceof GraftError && e.code === 'BAD_MODEL' && e.fields.value === 'k' && /40 bytes/.test(e.message),
  );
  await assert.rejects(
    loadWeights(
      [{ paths: ['s'], weights: [{ name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }] }],
      filesReader({ s: new Uint8Array(2) }),
    ),
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && e.fields.value === 'q',
  );
});

/** float32 -> float16 bits (round to nearest even), for writing test shards. */
function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) return sign; // tiny test values only; flush to zero
  let half = sign | (exp << 10) | (mant >>> 13);
  mant &= 0x1fff;
  if (mant > 0x1000 || (mant === 0x1000 && half & 1)) half++;
  return half;
}
