import { GraftError } from '../errors.js';
import type { Session } from '../runtime/session.js';
import { type FeatureStore, checkFinite } from './feature-store.js';

/** One input to embed: a cache key (content hash) and a loader giving its preprocessed tensor. */
export interface ExtractItem {
  key: string;
  /** preprocessed input of shape `itemDims`; rejects for undecodable inputs (they are reported, not fatal) */
  load(): Promise<Float32Array>;
  /** shown in reports (a file path) */
  label?: string;
}

export interface ExtractProgress {
  done: number;
  total: number;
  computed: number;
  reused: number;
  /** inputs per second over the computed part */
  rate: number;
  etaSeconds: number;
}

export interface ExtractOptions {
  /** only `run` is used, so a caller may create the real session lazily, on the first batch */
  session: Pick<Session, 'run'>;
  inputName: string;
  outputName: string;
  /** dims of one preprocessed input, e.g. [3, 224, 224] */
  itemDims: number[];
  items: ExtractItem[];
  store: FeatureStore;
  batchSize?: number;
  onProgress?: (p: ExtractProgress) => void;
  /** flush the store every this many computed vectors (default 2048) so an interrupted run keeps its work */
  flushEvery?: number;
}

export interface ExtractResult {
  /** one vector per item, in item order; undefined where the input failed to load */
  vectors: (Float32Array | undefined)[];
  computed: number;
  reused: number;
  failed: { key: string; label?: string; error: string }[];
  /** backbone forward passes run (0 when everything came from the store) */
  batchesRun: number;
}

/**
 * Runs the backbone over every item not yet in the store, in batches, loading the next batch while the
 * current one runs, and returns all vectors (cached or new). Failed loads are collected, never fatal.
 */
export async function extractFeatures(opts: ExtractOptions): Promise<ExtractResult> {
  const { store, items } = opts;
  const batchSize = opts.batchSize ?? 32;
  const per = opts.itemDims.reduce((a, b) => a * b, 1);
  const vectors: (Float32Array | undefined)[] = items.map((it) => store.get(it.key));
  const todo = items.map((_, i) => i).filter((i) => vectors[i] === undefined);
  // identical content appears once in the work list
  const firstOfKey = new Map<string, number>();
  const work = todo.filter((i) => {
    const k = items[i]!.key;
    if (firstOfKey.has(k)) return false;
    firstOfKey.set(k, i);
    return true;
  });
  const reused = items.length - todo.length;
  const failed: ExtractResult['failed'] = [];
  let computed = 0;
  let batchesRun = 0;
  let sinceFlush = 0;
  const t0 = performance.now();

  const loadBatch = async (start: number) => {
    const idx = work.slice(start, start + batchSize);
    const loaded = await Promise.all(
      idx.map(async (i) => {
        try {
          const x = await items[i]!.load();
          if (x.length !== per) {
            throw new GraftError('SHAPE_MISMATCH', 'Preprocessed input has the wrong size', {
              expected: `${per} values [${opts.itemDims.join(', ')}]`,
              found: `${x.length}`,
            });
          }
          return { i, x };
        } catch (e) {
          failed.push({ key: items[i]!.key, label: items[i]!.label, error: (e as Error).message.split('\n')[0]! });
          return undefined;
        }
      }),
    );
    return loaded.filter((v): v is { i: number; x: Float32Array } => v !== undefined);
  };

  let next = work.length ? loadBatch(0) : undefined;
  for (let start = 0; start < work.length; start += batchSize) {
    const batch = await next!;
    next = start + batchSize < work.length ? loadBatch(start + batchSize) : undefined;
    if (batch.length === 0) continue;
    const input = new Float32Array(batch.length * per);
    batch.forEach((b, j) => input.set(b.x, j * per));
    const out = await opts.session.run(
      { [opts.inputName]: { dtype: 'float32', dims: [batch.length, ...opts.itemDims], data: input } },
      [opts.outputName],
    );
    batchesRun++;
    const y = out[opts.outputName]!;
    const dim = y.data.length / batch.length;
    if (dim !== store.dim) {
      throw new GraftError('SHAPE_MISMATCH', `Backbone output '${opts.outputName}' has the wrong feature size`, {
        value: opts.outputName,
        expected: String(store.dim),
        found: `${dim} (dims [${y.dims.join(', ')}])`,
        fix: 'cut the backbone at its pooled feature value',
      });
    }
    const data = y.data as Float32Array;
    batch.forEach((b, j) => {
      const v = data.slice(j * dim, (j + 1) * dim);
      const item = items[b.i]!;
      // fatal, not a skipped file: a model that outputs NaN for one input is not to be trusted for the rest
      checkFinite(item.key, v, item.label);
      store.set(item.key, v);
      vectors[b.i] = v;
    });
    computed += batch.length;
    sinceFlush += batch.length;
    if (sinceFlush >= (opts.flushEvery ?? 2048)) {
      await store.flush();
      sinceFlush = 0;
    }
    const secs = (performance.now() - t0) / 1000;
    const rate = computed / Math.max(secs, 1e-9);
    const done = reused + Math.min(start + batchSize, work.length);
    opts.onProgress?.({
      done,
      total: items.length,
      computed,
      reused,
      rate,
      etaSeconds: (work.length - computed) / rate,
    });
  }
  await store.flush();
  // duplicates of a computed key share its vector
  for (const i of todo) vectors[i] ??= store.get(items[i]!.key);
  return { vectors, computed, reused, failed, batchesRun };
}
