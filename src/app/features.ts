import type { DataLimits } from '../data/limits.js';
import { exampleSize, writeNormalized } from '../data/image.js';
import { decodeForModel } from '../data/node/decode.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import { type ExtractProgress, type ExtractResult, extractFeatures } from '../transfer/extract.js';
import { FileFeatureStore } from '../transfer/node/feature-store-file.js';
import type { Backbone } from './backbone.js';

/** One image to embed: its content hash is the cache key. */
export interface ImageSource {
  /** sha256 of the file bytes */
  key: string;
  /** a path, or the encoded bytes */
  input: string | Buffer;
  /** shown in reports: the path relative to the data root */
  label: string;
  /** oriented size from a scan, which saves a header read */
  size?: { width: number; height: number };
}

export interface ImageFeatureOptions {
  backbone: Backbone;
  images: readonly ImageSource[];
  /** folder of the feature cache (featureCacheDir()); the store file is named by the backbone namespace */
  cacheDir: string;
  /** images per backbone run (default 32) */
  batchSize?: number;
  session?: SessionOptions;
  onProgress?: (p: ExtractProgress) => void;
  /** caps on the files read and the images decoded */
  limits?: DataLimits;
}

export interface ImageFeatureResult extends ExtractResult {
  /** wall time of decoding plus backbone runs (0 when everything came from the cache) */
  seconds: number;
  /** images through decode + backbone per second, over the computed ones */
  imagesPerSecond?: number;
  /** whether a backbone session was created at all */
  backboneLoaded: boolean;
  storePath: string;
}

/**
 * Embeds images with a cut backbone, reading and writing the on-disk feature cache: vectors already
 * stored under the same (model hash, cut, preprocessing) namespace and file hash are reused, and the
 * backbone is not even loaded when all of them are.
 */
export async function extractImageFeatures(opts: ImageFeatureOptions): Promise<ImageFeatureResult> {
  const { backbone } = opts;
  const store = FileFeatureStore.open(opts.cacheDir, backbone.namespace, backbone.dim);
  const missing = opts.images.some((im) => store.get(im.key) === undefined);
  if (!missing) {
    return {
      vectors: opts.images.map((im) => store.get(im.key)),
      computed: 0,
      reused: opts.images.length,
      failed: [],
      batchesRun: 0,
      seconds: 0,
      backboneLoaded: false,
      storePath: store.path,
    };
  }
  const p = backbone.preprocessing;
  const per = exampleSize(p);
  const started = performance.now();
  // created on the first batch that has images to run: when only undecodable files are missing from the
  // cache, the backbone is never loaded
  let session: Session | undefined;
  const lazy: Pick<Session, 'run'> = {
    run: async (feeds, outputs) => (session ??= await Session.create(backbone.model, opts.session)).run(feeds, outputs),
  };
  try {
    const result = await extractFeatures({
      session: lazy,
      inputName: backbone.inputName,
      outputName: backbone.featureValue,
      itemDims: backbone.itemDims,
      store,
      batchSize: opts.batchSize ?? 32,
      onProgress: opts.onProgress,
      items: opts.images.map((im) => ({
        key: im.key,
        label: im.label,
        load: async () => {
          const out = new Float32Array(per);
          writeNormalized(await decodeForModel(im.input, p, im.size, opts.limits), p, out, 0);
          return out;
        },
      })),
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      ...result,
      seconds,
      imagesPerSecond: result.computed > 0 ? result.computed / seconds : undefined,
      backboneLoaded: session !== undefined,
      storePath: store.path,
    };
  } finally {
    await session?.dispose();
  }
}
