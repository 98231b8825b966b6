import type { GraphBuilder } from '../onnx/builder.js';

/** Emits x / sqrt(sum(x^2, axis=1) + eps): rows scaled to unit length (cosine geometry). */
export function emitL2Normalize(b: GraphBuilder, x: string, prefix: string): string {
  const sq = b.op('Mul', [x, x], undefined, { name: `${prefix}_sq` });
  const sum = b.op('ReduceSum', [sq, b.ints([1], `${prefix}_axes`)], { keepdims: 1 }, { name: `${prefix}_sumsq` });
  const norm = b.op('Sqrt', [b.op('Add', [sum, b.scalar(1e-12, `${prefix}_eps`)])], undefined, {
    name: `${prefix}_norm`,
  });
  return b.op('Div', [x, norm], undefined, { name: `${prefix}_normalized` });
}

/** Row-wise L2 normalisation of a row-major [rows, dim] matrix, in a new array. */
export function l2NormalizeRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[r * dim + j]! ** 2;
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let j = 0; j < dim; j++) out[r * dim + j] = data[r * dim + j]! * inv;
  }
  return out;
}
