// A backbone for the browser recipe: an ONNX model as bytes (fetched over HTTP, picked by the user, or read
// from IndexedDB), cut at its features and pooled, with the preprocessing its images need. The Node recipes
// load theirs from the zoo's cache (app/backbone.ts); both share transfer/image-backbone.ts.
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import type { Preprocessing } from '../data/preprocessing.js';
import { decodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/graph.js';
import { cut } from '../surgery/cut.js';
import { writeKernelShapes } from '../surgery/kernel-shape.js';
import { detectFeatureValue, imageInputOf, poolFeatures } from '../transfer/image-backbone.js';
import { preprocessingFromMetadata } from '../transfer/pipeline-graft.js';
import { preprocessingFromZoo } from '../transfer/pipeline.js';
import { zoo } from '../zoo/registry.js';

/** A pretrained network cut at its pooled features, ready to graft a head on. */
export interface WebBackbone {
  /** a zoo name, or what the caller called it (a URL, a file name) */
  name: string;
  /** sha256 (hex) of the ONNX bytes */
  sha256: string;
  /** the cut model: one image input, one output `featureValue` holding [N, dim] features */
  model: Model;
  featureValue: string;
  inputName: string;
  /** one preprocessed image: [3, H, W] (NCHW) or [H, W, 3] */
  itemDims: number[];
  dim: number;
  preprocessing: Preprocessing;
  /** how spatial or token features were reduced to one vector */
  pooling: string;
}

export interface ReadBackboneOptions {
  /**
   * What to call the model. A built-in zoo name (e.g. 'efficientnet_b0.imagenet', served as the ONNX file
   * `graft zoo pull` converted) also gives its feature value and preprocessing.
   */
  name?: string;
  /** the value to cut at (default: the zoo entry's feature value, else the detected classifier input) */
  cut?: string;
  /** how images are preprocessed (default: the zoo entry's, else the model's 'graft.preprocessing' metadata) */
  preprocessing?: Preprocessing;
  /** how large a model input the preprocessing may ask for */
  limits?: Pick<DataLimits, 'maxInputPixels'>;
}

/** Decodes ONNX bytes into a backbone: the image input, the features (pooled to [N, dim]), the preprocessing. */
export async function readBackbone(bytes: Uint8Array, opts: ReadBackboneOptions = {}): Promise<WebBackbone> {
  const name = opts.name ?? 'model.onnx';
  const entry = opts.name && zoo().has(opts.name) ? zoo().get(opts.name) : undefined;
  const full = decodeModel(bytes, { file: name });
  // the browser's WebGPU Conv needs kernel_shape written (a no-op for every other provider)
  writeKernelShapes(full);
  const input = imageInputOf(full, name);
  let preprocessing: Preprocessing;
  if (opts.preprocessing) preprocessing = opts.preprocessing;
  else if (entry?.preprocessing) {
    preprocessing = preprocessingFromZoo(entry.preprocessing, input.layout, input.size, opts.limits);
  } else {
    const meta = full.metadata.get('graft.preprocessing');
    if (meta === undefined) {
      throw new GraftError('BAD_MODEL', 'The model does not say how images must be preprocessed', {
        file: name,
        expected: "a zoo name, a preprocessing option, or 'graft.preprocessing' metadata in the model",
        found: 'none of them',
        fix: 'pass `preprocessing` (size, resize, scale, mean, std, layout, channels)',
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(meta);
    } catch {
      throw new GraftError('BAD_MODEL', "The model's 'graft.preprocessing' metadata is not JSON", {
        file: name,
        fix: 'pass `preprocessing` instead, or write the metadata as Graft does',
      });
    }
    preprocessing = preprocessingFromMetadata(parsed, full.graph.dataInputs[0]!.shape, name, opts.limits);
  }
  const featureValue = opts.cut ?? entry?.featureValue ?? detectFeatureValue(full, name);
  const pooled = poolFeatures(cut(full, featureValue), featureValue, name);
  const [h, w] = input.size;
  return {
    name,
    sha256: await sha256Hex(bytes),
    model: pooled.model,
    featureValue: pooled.output,
    inputName: input.name,
    itemDims: input.layout === 'NCHW' ? [3, h, w] : [h, w, 3],
    dim: pooled.dim,
    preprocessing: { ...preprocessing, layout: input.layout },
    pooling: pooled.pooling,
  };
}

export interface FetchBackboneOptions extends ReadBackboneOptions {
  /** the most bytes read before giving up (default 512 MiB: EfficientNet-B0 is 21 MB, Inception-v3 85 MB) */
  maxBytes?: number;
  /** the fetch to use (default the global one) */
  fetch?: typeof fetch;
}

/** Fetches an ONNX model over HTTP (read up to `maxBytes`) and reads it as a backbone named by its URL. */
export async function fetchBackbone(url: string, opts: FetchBackboneOptions = {}): Promise<WebBackbone> {
  const bytes = await fetchBytes(url, opts.maxBytes ?? 512 * 2 ** 20, opts.fetch ?? globalThis.fetch);
  return readBackbone(bytes, { ...opts, name: opts.name ?? url });
}

/** The body of `url`, refused as soon as it grows past `maxBytes` (a declared length is checked first). */
export async function fetchBytes(
  url: string,
  maxBytes: number,
  fetchFn: typeof fetch = globalThis.fetch,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new GraftError('NETWORK', `Could not fetch ${url}`, {
      file: url,
      found: (e as Error).message,
      fix: 'check the URL and that the server allows this origin (CORS)',
      cause: e,
    });
  }
  if (!res.ok) {
    throw new GraftError('NETWORK', `Fetching ${url} failed with HTTP ${res.status}`, {
      file: url,
      fix: 'check the URL',
    });
  }
  const tooLarge = (found: string) =>
    new GraftError('BAD_MODEL', `${url} is larger than the ${maxBytes}-byte limit`, {
      file: url,
      expected: `at most ${maxBytes} bytes`,
      found,
      fix: 'raise maxBytes if the model really is this large',
    });
  const declared = Number(res.headers.get('content-length'));
  if (declared > maxBytes) throw tooLarge(`${declared} bytes declared`);
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length > maxBytes) throw tooLarge(`${all.length} bytes`);
    return all;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(`more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** sha256 through Web Crypto (browsers in a secure context, workers, Node 20). */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new GraftError('CONFIG', 'Web Crypto is not available here', {
      expected: 'crypto.subtle (a page served over https or from localhost, a worker, Node 20)',
      fix: 'serve the page over https',
    });
  }
  // Web Crypto takes no view of a SharedArrayBuffer
  const own = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const digest = await subtle.digest('SHA-256', own);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
