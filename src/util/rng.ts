import { GraftError } from '../errors.js';

// Graft's seeded random numbers, one home: mulberry32 (a closure, for initialisation, splits and augmentation)
// and xoshiro128** (Rng: its state is saved in training checkpoints, so a resumed run continues the stream).
// Both are identical on every JS engine, so a seed reproduces a run in Node and in the browser.

/**
 * Seeded pseudo-random numbers (mulberry32): tiny, fast, and identical on every JS engine, so a seed
 * reproduces head initialisation, shuffles and augmentation exactly in Node and in the browser.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform source (Box-Muller). */
export function gaussian(rng: () => number): () => number {
  return () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
}

/** The four 32-bit words of xoshiro128** — everything needed to continue a stream exactly (checkpoints). */
export type RngState = [number, number, number, number];

/**
 * A small seeded PRNG (xoshiro128**), used for shuffling and weight init so that the same seed gives the
 * same batch order on every platform. Math.random cannot be seeded or saved, hence this.
 */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new GraftError('CONFIG', 'A random seed must be a non-negative integer', {
        expected: 'an integer in [0, 2^53)',
        found: String(seed),
        fix: 'pass an integer seed such as 42',
      });
    }
    // Spread the seed's bits over all four words so that nearby seeds give unrelated streams.
    const mix = new SeedMixer(seed % 0x100000000, Math.floor(seed / 0x100000000));
    this.s = Uint32Array.of(mix.next(), mix.next(), mix.next(), mix.next());
    if (this.s.every((w) => w === 0)) this.s[0] = 1; // the all-zero state is a fixed point
  }

  static fromState(state: readonly number[]): Rng {
    const ok =
      state.length === 4 &&
      state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      state.some((w) => w !== 0);
    if (!ok) {
      throw new GraftError('CHECKPOINT', 'Saved random-generator state is invalid', {
        expected: 'four unsigned 32-bit words, not all zero',
        found: JSON.stringify(state),
        fix: 'the checkpoint is damaged; resume from another checkpoint or start fresh',
      });
    }
    const r = new Rng(0);
    r.s = Uint32Array.from(state);
    return r;
  }

  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal sample (Box-Muller; no cached second value, so the state stays four words). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log(0) would be -Infinity
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Counter-based 32-bit finaliser (murmur3-style) that turns a seed into well-mixed state words. */
class SeedMixer {
  private counter: number;
  constructor(
    low: number,
    private readonly high: number,
  ) {
    this.counter = low >>> 0;
  }
  next(): number {
    this.counter = (this.counter + 0x9e3779b9) >>> 0;
    let z = (this.counter ^ Math.imul(this.high, 0x632be5ab)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** Glorot/Xavier-uniform values for a weight of shape `dims` (fan-in and fan-out given explicitly). */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, size: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() * 2 - 1) * limit;
  return out;
}

/** He/Kaiming-normal values (for ReLU layers). */
export function heNormal(rng: Rng, fanIn: number, size: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}
