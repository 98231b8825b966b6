import { GraftError } from '../errors.js';

/**
 * Where extracted features live between runs. Keys are content hashes of the input (file bytes or text),
 * namespaced by the backbone and preprocessing that produced them, so a new head reuses every vector and a
 * changed file is recomputed. The interface is browser-safe; `src/transfer/node/feature-store-file.ts` persists it.
 */
export interface FeatureStore {
  /** vectors of one namespace (verified backbone hash + cut value + preprocessing hash) */
  readonly namespace: string;
  readonly dim: number;
  get(key: string): Float32Array | undefined;
  /** refuses a vector holding NaN or an infinity (see checkFinite): a store never keeps one */
  set(key: string, vector: Float32Array): void;
  /** persists what was set since the last flush (no-op for memory stores) */
  flush(): Promise<void>;
}

export class MemoryFeatureStore implements FeatureStore {
  private map = new Map<string, Float32Array>();
  constructor(
    readonly namespace: string,
    readonly dim: number,
  ) {}
  get(key: string): Float32Array | undefined {
    return this.map.get(key);
  }
  set(key: string, vector: Float32Array): void {
    checkFinite(key, vector);
    this.map.set(key, vector);
  }
  entries(): IterableIterator<[string, Float32Array]> {
    return this.map.entries();
  }
  get size(): number {
    return this.map.size;
  }
  async flush(): Promise<void> {}
}

/** Index of the first NaN or infinite value, or -1 when every value is finite. */
export function firstNonFinite(v: ArrayLike<number>): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}

/**
 * A non-finite feature is never stored: once cached it would poison every later run (a head trained on it
 * outputs NaN), even after the model that produced it is repaired.
 */
export function checkFinite(key: string, vector: ArrayLike<number>, label?: string): void {
  const i = firstNonFinite(vector);
  if (i < 0) return;
  throw new GraftError('BAD_MODEL', `The backbone produced a non-finite feature for ${label ?? `the input ${key}`}`, {
    file: label,
    expected: 'finite feature values',
    found: `${vector[i]} at index ${i}`,
    fix: 'the model may be damaged (`graft cache verify` checks the cached models) or unable to take this input',
  });
}
