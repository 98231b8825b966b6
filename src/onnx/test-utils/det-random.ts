/**
 * "graft-hash32-v1": deterministic pseudo-random float32 values, implemented identically in
 * scripts/fixtures/export_torchvision.py so fixture weights need not be committed.
 *
 * Counter-based (element i hashed on its own) rather than a sequential LCG/xorshift so numpy can
 * vectorise it: ResNet-18 alone has 11.7M weights.
 *   seed = FNV-1a 32 of the UTF-8 name
 *   h_i  = lowbias32((seed + i * 0x9E3779B9) mod 2^32)
 *   x_i  = float32(center + halfWidth * ((h_i >>> 8) / 2^23 - 1))   (float64 arithmetic, one rounding)
 */
export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** `n` values uniform in [center - halfWidth, center + halfWidth), keyed by `name`. */
export function hashUniform(name: string, n: number, center = 0, halfWidth = 1): Float32Array {
  const seed = fnv1a32(name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = lowbias32((seed + Math.imul(i, 0x9e3779b9)) >>> 0);
    out[i] = center + halfWidth * ((h >>> 8) / 8388608 - 1);
  }
  return out;
}
