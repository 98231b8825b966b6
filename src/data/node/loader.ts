import { GraftError } from '../../errors.js';
import { type AugmentParams, type AugmentSpec, applyAugment, checkAugment, sampleAugment } from '../augment.js';
import { type RawImage, batchDims, exampleSize, writeNormalized } from '../image.js';
import type { LabelMap } from '../labels.js';
import { type Preprocessing, checkPreprocessing } from '../preprocessing.js';
import type { DatasetIssue } from '../report.js';
import { type DataLimits, dataLimits } from '../limits.js';
import { decodeForAugment, decodeForModel } from './decode.js';
import type { ImageItem } from './images.js';
import { orderedMap } from './pool.js';

export interface ImageBatch {
  /** normalised pixels in the preprocessing's layout */
  x: Float32Array;
  dims: [number, number, number, number];
  labels: Int32Array;
  items: ImageItem[];
}

export interface ImageLoaderOptions {
  preprocessing: Preprocessing;
  labels: LabelMap;
  batchSize: number;
  /** images decoding at once (default 4); libvips also spreads each decode over its own threads */
  concurrency?: number;
  /** a last batch smaller than batchSize is dropped (training) or kept (default; evaluation) */
  dropLast?: boolean;
  /** called once per file that fails to decode (it is then skipped in every later epoch) */
  onIssue?: (issue: DatasetIssue) => void;
  /** file size and pixel limits of each decode, model input limit (defaults: DEFAULT_DATA_LIMITS); pass the scan's */
  limits?: Partial<DataLimits>;
}

export interface EpochOptions {
  /** the trainer's seeded generator: the shuffle and every augmentation draw come from it, in item order */
  rng?: () => number;
  shuffle?: boolean;
  augment?: AugmentSpec;
}

/**
 * Streams batches of decoded, resized (and optionally augmented) images. Decodes run ahead with bounded
 * concurrency while batches are assembled in order; random draws happen up front in item order, so a
 * seed gives the same batches whatever the concurrency. A file that fails to decode is skipped, recorded
 * in `issues`, and not retried.
 */
export class ImageLoader {
  readonly issues: DatasetIssue[] = [];
  private readonly failed = new Set<string>();
  private readonly p: Preprocessing;
  private readonly limits: DataLimits;

  constructor(
    private readonly items: readonly ImageItem[],
    private readonly opts: ImageLoaderOptions,
  ) {
    this.limits = dataLimits(opts.limits);
    this.p = checkPreprocessing(opts.preprocessing, this.limits);
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) {
      throw new GraftError('CONFIG', 'batchSize must be a positive integer', { found: String(opts.batchSize) });
    }
  }

  get size(): number {
    return this.items.length - this.failed.size;
  }

  async *epoch(e: EpochOptions = {}): AsyncGenerator<ImageBatch> {
    if ((e.shuffle || e.augment) && !e.rng) {
      throw new GraftError('CONFIG', 'Shuffling and augmentation need a seeded random generator', {
        fix: 'pass rng (e.g. the trainer generator as () => rng.uniform())',
      });
    }
    if (e.augment) checkAugment(e.augment);
    const order = this.items.filter((it) => !this.failed.has(it.path));
    if (e.shuffle) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(e.rng!() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    const params: (AugmentParams | undefined)[] = order.map((it) =>
      e.augment ? sampleAugment(e.augment, it.width, it.height, e.rng!) : undefined,
    );
    const p = this.p;
    const bs = this.opts.batchSize;
    const per = exampleSize(p);
    const labels = this.opts.labels;
    const decode = async (it: ImageItem, i: number): Promise<RawImage> => {
      const size = { width: it.width, height: it.height };
      const a = params[i];
      if (a) return applyAugment(await decodeForAugment(it.path, p, size, this.limits), a, p);
      return decodeForModel(it.path, p, size, this.limits);
    };
    let x = new Float32Array(bs * per);
    let y = new Int32Array(bs);
    let batchItems: ImageItem[] = [];
    for await (const r of orderedMap(order, this.opts.concurrency ?? 4, decode)) {
      if ('error' in r) {
        this.fail(r.item, r.error);
        continue;
      }
      const k = batchItems.length;
      writeNormalized(r.value, p, x, k);
      y[k] = labels.indexOf(r.item.label);
      batchItems.push(r.item);
      if (batchItems.length === bs) {
        yield { x, dims: batchDims(bs, p), labels: y, items: batchItems };
        x = new Float32Array(bs * per);
        y = new Int32Array(bs);
        batchItems = [];
      }
    }
    const n = batchItems.length;
    if (n > 0 && !this.opts.dropLast) {
      yield { x: x.subarray(0, n * per), dims: batchDims(n, p), labels: y.subarray(0, n), items: batchItems };
    }
  }

  private fail(item: ImageItem, error: unknown): void {
    this.failed.add(item.path);
    const issue: DatasetIssue = {
      kind: 'decode-failed',
      files: [item.id],
      skipped: true,
      detail: (error instanceof Error ? error.message : String(error)).split('\n')[0]!,
      label: item.label,
      split: item.split,
    };
    this.issues.push(issue);
    this.opts.onIssue?.(issue);
  }
}

/**
 * Decodes a whole (small) set into one array, e.g. for feature extraction or the in-memory trainer. Files
 * failing to decode are skipped and reported, so `labels.length` may be less than `items.length`.
 */
export async function loadImageArrays(
  items: readonly ImageItem[],
  opts: Omit<ImageLoaderOptions, 'batchSize' | 'dropLast'>,
): Promise<{
  x: Float32Array;
  dims: [number, number, number, number];
  labels: Int32Array;
  items: ImageItem[];
  issues: DatasetIssue[];
}> {
  const loader = new ImageLoader(items, { ...opts, batchSize: Math.max(1, items.length) });
  let out: ImageBatch | undefined;
  for await (const b of loader.epoch()) out = b;
  const p = opts.preprocessing;
  if (!out)
    return {
      x: new Float32Array(0),
      dims: batchDims(0, p),
      labels: new Int32Array(0),
      items: [],
      issues: loader.issues,
    };
  return { ...out, issues: loader.issues };
}
