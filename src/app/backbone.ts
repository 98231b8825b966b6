import { resolve } from 'node:path';
import type { WebBackbone } from '../app-web/backbone.js';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { type Preprocessing, type ResizeMode, preprocessingKey } from '../data/preprocessing.js';
import { cut } from '../surgery/cut.js';
import { preprocessingFromMetadata } from '../transfer/pipeline-graft.js';
import { detectFeatureValue, imageInputOf, poolFeatures } from '../transfer/image-backbone.js';
import { withInputSize } from '../transfer/finetune/input-size.js';
import { preprocessingFromZoo, withResizeMode } from '../transfer/pipeline.js';
import { type PullResult, loadPulledModel, pullModel, pullSource, weightsKey } from '../zoo/node/pull.js';
import { loadRegistry } from '../zoo/node/user-models.js';
import type { ModelRegistry } from '../zoo/registry.js';
import type { SourceEventListener, SourceSettings } from '../zoo/sources/events.js';
import { defaultCacheDir, sha256Hex } from '../zoo/sources/node/cache.js';

export const DEFAULT_IMAGE_BACKBONE = 'efficientnet_b0.imagenet';

export interface BackboneOptions extends SourceSettings {
  /** zoo name, or a model source: an .onnx path, hf:..., npm:..., https://... (default efficientnet_b0.imagenet) */
  model?: string;
  /** value to cut at (default: the zoo entry's featureValue, else the detected classifier input) */
  cut?: string;
  /** overrides the model's resize rule, e.g. 'squash' for small, already framed images */
  resize?: ResizeMode;
  registry?: ModelRegistry;
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent?: SourceEventListener;
  /** how large a model input the preprocessing may ask for (a model's metadata is checked against it) */
  limits?: DataLimits;
}

/**
 * A pretrained network cut at its feature output, ready to embed images: what the browser recipes hold of one
 * (WebBackbone), and in Node the feature-store namespace, the cache entry it came from and its limits.
 */
export interface Backbone extends WebBackbone {
  /** feature-store namespace: model hash + cut + pooling + preprocessing, so any change is a new cache */
  namespace: string;
  pulled: Omit<PullResult, 'entry'>;
  /** the limits its preprocessing was checked against (kept for resizes) */
  limits?: DataLimits;
}

/** What a run names its backbone by: a loaded one (a study shares it), or the settings to load one. */
export interface BackboneChoice extends SourceSettings {
  backbone?: Backbone;
  model?: string;
  cut?: string;
  modelsFile?: string;
  env?: NodeJS.ProcessEnv;
  onSourceEvent?: SourceEventListener;
  limits?: DataLimits;
}

/** The run's backbone: the one given, else loaded from the zoo or a model source. */
export async function chooseBackbone(opts: BackboneChoice, cwd: string): Promise<Backbone> {
  return (
    opts.backbone ??
    (await loadBackbone({
      model: opts.model,
      cut: opts.cut,
      cacheDir: opts.cacheDir,
      offline: opts.offline,
      refresh: opts.refresh,
      modelsFile: opts.modelsFile,
      env: opts.env,
      cwd,
      onEvent: opts.onSourceEvent,
      limits: opts.limits,
    }))
  );
}

/**
 * Pulls (or reads) a model, cuts it at its feature value and pools spatial or token features to
 * [N, dim], and works out the preprocessing from the zoo entry or the model's own metadata.
 */
export async function loadBackbone(opts: BackboneOptions = {}): Promise<Backbone> {
  const name = opts.model ?? DEFAULT_IMAGE_BACKBONE;
  const registry = opts.registry ?? loadRegistry({ modelsFile: opts.modelsFile, env: opts.env, cwd: opts.cwd });
  const pullOpts = {
    registry,
    cacheDir: opts.cacheDir,
    offline: opts.offline,
    refresh: opts.refresh,
    env: opts.env,
    cwd: opts.cwd,
    onEvent: opts.onEvent,
  };
  const inZoo = checkModelName(name, registry);
  const looksLikeSource = !inZoo;
  const pulled = inZoo
    ? await pullModel(name, pullOpts)
    : await pullSource(
        looksLikeSource && !/^(hf|npm|https?):/i.test(name) ? resolve(opts.cwd ?? '.', name) : name,
        pullOpts,
      );
  const { entry, ...rest } = pulled;
  if (inZoo && entry.input.kind !== 'image') {
    throw new GraftError('BAD_INPUT', `'${name}' is a ${entry.task} model, not an image backbone`, {
      expected: 'an image model (`graft zoo list` shows the task of each)',
      found: entry.task,
      fix: 'pick an image model with --model, e.g. efficientnet_b0.imagenet',
    });
  }
  const full = await loadPulledModel(pulled);
  const input = imageInputOf(full, pulled.modelPath);
  const { layout, size: inputSize } = input;
  const shape = full.graph.dataInputs[0]!.shape;

  let preprocessing: Preprocessing;
  if (inZoo && entry.preprocessing)
    preprocessing = preprocessingFromZoo(entry.preprocessing, layout, inputSize, opts.limits);
  else {
    const meta = full.metadata.get('graft.preprocessing');
    if (meta === undefined) {
      throw new GraftError('BAD_MODEL', 'The model does not say how images must be preprocessed', {
        file: pulled.modelPath,
        expected: "a zoo entry with preprocessing, or 'graft.preprocessing' metadata in the model",
        found: 'neither',
        fix: 'add the model to your models file (`graft zoo info efficientnet_b0.imagenet` shows an entry to copy)',
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(meta);
    } catch {
      throw new GraftError('BAD_MODEL', "The model's 'graft.preprocessing' metadata is not JSON", {
        file: pulled.modelPath,
        fix: 'write it as Graft does: a JSON object (see `graft inspect` of a model graft train wrote)',
      });
    }
    preprocessing = preprocessingFromMetadata(parsed, shape, pulled.modelPath, opts.limits);
  }
  if (opts.resize) preprocessing = withResizeMode(preprocessing, opts.resize, opts.limits);

  const featureValue =
    opts.cut ?? (inZoo ? entry.featureValue : undefined) ?? detectFeatureValue(full, pulled.modelPath);
  const pooled = poolFeatures(cut(full, featureValue), featureValue, pulled.modelPath);
  const channels = 3;
  const itemDims = layout === 'NCHW' ? [channels, inputSize[0], inputSize[1]] : [inputSize[0], inputSize[1], channels];
  const finalPreprocessing: Preprocessing = { ...preprocessing, layout };
  return {
    name,
    sha256: pulled.sha256,
    model: pooled.model,
    featureValue: pooled.output,
    inputName: input.name,
    itemDims,
    dim: pooled.dim,
    preprocessing: finalPreprocessing,
    // keyed by the hash loadPulledModel checked the bytes against (and the external data's, if any)
    namespace: namespaceOf(weightsKey(pulled), featureValue, pooled.pooling, finalPreprocessing),
    pooling: pooled.pooling,
    pulled: rest,
    limits: opts.limits,
  };
}

function namespaceOf(sha256: string, featureValue: string, pooling: string, p: Preprocessing): string {
  return sha256Hex([sha256, featureValue, pooling, preprocessingKey(p)].join('|')).slice(0, 32);
}

/** The same backbone fed with another resize rule (and so its own feature-cache namespace). */
export function withBackboneResize(b: Backbone, resize: ResizeMode): Backbone {
  if (resize === b.preprocessing.resize) return b;
  const preprocessing = withResizeMode(b.preprocessing, resize, b.limits);
  return {
    ...b,
    preprocessing,
    namespace: namespaceOf(weightsKey(b.pulled), b.featureValue, b.pooling, preprocessing),
  };
}

/** The backbone taking `size` x `size` images: new input shape, preprocessing size and cache namespace. */
export function resizedBackbone(b: Backbone, size: number): Backbone {
  const nchw = b.preprocessing.layout === 'NCHW';
  const model = withInputSize(b.model, [size, size]);
  const features = model.graph.outputs.find((o) => o.name === b.featureValue)?.shape;
  const dim = features?.length === 2 && typeof features[1] === 'number' ? features[1] : b.dim;
  return {
    ...b,
    model,
    dim,
    itemDims: nchw ? [b.itemDims[0]!, size, size] : [size, size, b.itemDims[2]!],
    preprocessing: { ...b.preprocessing, size: [size, size] },
    namespace: sha256Hex(`${b.namespace}|input ${size}x${size}`).slice(0, 32),
  };
}

/**
 * 'auto' resizing: ImageNet's resize-then-centre-crop assumes photos with margin around the subject. When
 * most images are smaller than the model input (icons, thumbnails, MNIST-like scans) they are already
 * tightly framed and upscaled anyway, so the crop would only cut off content: squash them instead.
 * Measured on Fashion-MNIST (28x28, 100 per class) with EfficientNet-B0, full test set: linear probe
 * 85.7% squashed vs 84.9% resized to 256 and cropped to 224.
 */
export function autoResize(
  b: Backbone,
  sizes: readonly { width: number; height: number }[],
): { resize: ResizeMode; why?: string } {
  const [h, w] = b.preprocessing.size;
  const small = sizes.filter((s) => s.width < w && s.height < h).length;
  if (sizes.length > 0 && small * 2 > sizes.length && b.preprocessing.resize !== 'squash') {
    return {
      resize: 'squash',
      why: `most images are smaller than the ${w}x${h} model input: squashing them rather than cropping (--resize to choose)`,
    };
  }
  return { resize: b.preprocessing.resize };
}

/**
 * Whether `name` is a zoo entry (true) or a model source such as a file path (false); anything else is
 * the registry's "unknown model" error listing the valid names. Cheap: nothing is read or fetched.
 */
export function checkModelName(
  name: string,
  registry: ModelRegistry | { modelsFile?: string; env?: NodeJS.ProcessEnv; cwd?: string },
): boolean {
  const r = 'has' in registry ? registry : loadRegistry(registry);
  if (r.has(name)) return true;
  if (/[\\/]|\.onnx$|^(hf|npm):|^https?:/i.test(name)) return false;
  r.get(name);
  return false;
}

/** Where the feature cache of a cache folder lives. */
export function featureCacheDir(opts: { cacheDir?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  return resolve(opts.cwd ?? '.', opts.cacheDir ?? defaultCacheDir(opts.env ?? process.env), 'features');
}
