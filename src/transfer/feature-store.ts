/**
 * Where extracted features live between runs. Keys are content hashes of the input (file bytes or text),
 * namespaced by the backbone and preprocessing that produced them, so a new head reuses every vector and a
 * changed file is recomputed. The interface is browser-safe; `src/node/feature-store-file.ts` persists it.
 */
export interface FeatureStore {
  /** vectors of one namespace (backbone hash + cut value + preprocessing hash) */
  readonly namespace: string;
  readonly dim: number;
  get(key: string): Float32Array | undefined;
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
