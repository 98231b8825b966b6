// The transformers.js folder of a grafted classifier, as files in memory: onnx/model.onnx, config.json
// (id2label) and preprocessor_config.json. `graft export --format transformers.js` (app/export.ts) writes
// them to disk; the studio zips them for a download. One home, so the two never drift apart.
import { GraftError } from '../errors.js';
import { cropFractionOf, type Preprocessing } from '../data/preprocessing.js';
import type { DataLimits } from '../data/limits.js';
import { encodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/graph.js';
import {
  CLASSIFIER_INPUT,
  CLASSIFIER_LOGITS,
  type ClassifierInfo,
  readClassifierInfo,
} from '../transfer/pipeline-graft.js';

/** The folder's files by path; onnx/model.onnx is the grafted model itself. */
export const TRANSFORMERS_JS_FILES = {
  model: 'onnx/model.onnx',
  config: 'config.json',
  preprocessor: 'preprocessor_config.json',
} as const;

/**
 * transformers.js picks a model class by `model_type`; every *ForImageClassification class just runs
 * the session and returns its `logits`, so the type only needs to name an image classifier. The base
 * model's architecture is used when transformers.js knows it, else ViT's.
 */
const HF_MODEL_TYPES: [RegExp, string, string][] = [
  [/^efficientnet/, 'efficientnet', 'EfficientNetForImageClassification'],
  [/^mobilenet_?v2/, 'mobilenet_v2', 'MobileNetV2ForImageClassification'],
  [/^resnet/, 'resnet', 'ResNetForImageClassification'],
  [/^convnext/, 'convnext', 'ConvNextForImageClassification'],
];

/**
 * config.json and preprocessor_config.json of a grafted classifier; a model without the input and output a
 * transformers.js pipeline reads, or with preprocessing it cannot reproduce, is refused.
 */
export function transformersJsConfig(
  info: ClassifierInfo,
  file?: string,
): { config: Record<string, unknown>; preprocessor: Record<string, unknown> } {
  if (info.inputName !== CLASSIFIER_INPUT || info.logits !== CLASSIFIER_LOGITS) {
    throw new GraftError('BAD_MODEL', 'The model does not have the input and output a transformers.js pipeline reads', {
      file,
      expected: `input '${CLASSIFIER_INPUT}' and output '${CLASSIFIER_LOGITS}'`,
      found: `input '${info.inputName}', output '${info.logits}'`,
      fix: 'export a model.onnx written by graft train',
    });
  }
  const preprocessor = preprocessorConfig(info.preprocessing, file);
  const base = String(info.provenance.baseModel ?? '')
    .split(/[\\/]/)
    .pop()!
    .toLowerCase();
  const [, modelType, architecture] = HF_MODEL_TYPES.find(([re]) => re.test(base)) ?? [
    /./,
    'vit',
    'ViTForImageClassification',
  ];
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  info.labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  const config = {
    model_type: modelType,
    architectures: [architecture],
    num_labels: info.labels.length,
    id2label,
    label2id,
    graft: {
      temperature: info.temperature,
      baseModel: info.provenance.baseModel,
      strategy: info.provenance.strategy,
      head: info.provenance.head,
      note: 'logits are temperature-scaled: softmax(logits) is the calibrated probability',
    },
  };
  return { config, preprocessor };
}

/** Every file of the transformers.js folder of a grafted classifier, in memory. */
export function transformersJsFiles(
  model: Model,
  opts: { file?: string; limits?: Pick<DataLimits, 'maxInputPixels'> } = {},
): { path: string; bytes: Uint8Array }[] {
  const info = readClassifierInfo(model, opts.file, opts.limits);
  const { config, preprocessor } = transformersJsConfig(info, opts.file);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  return [
    { path: TRANSFORMERS_JS_FILES.model, bytes: encodeModel(model) },
    { path: TRANSFORMERS_JS_FILES.config, bytes: json(config) },
    { path: TRANSFORMERS_JS_FILES.preprocessor, bytes: json(preprocessor) },
  ];
}

/**
 * The image processor settings that reproduce Graft's preprocessing: same resize geometry, Lanczos
 * resampling (what Graft's decoder uses), rescale, mean and std. Resize modes transformers.js has no
 * equivalent for are refused rather than approximated.
 */
export function preprocessorConfig(p: Preprocessing, file?: string): Record<string, unknown> {
  if (p.layout !== 'NCHW' || p.channels !== 3) {
    throw new GraftError('BAD_MODEL', 'transformers.js feeds 3-channel NCHW pixels', {
      file,
      expected: 'layout NCHW with 3 channels',
      found: `layout ${p.layout} with ${p.channels} channel(s)`,
      fix: 'export the plain ONNX model instead (--format onnx)',
    });
  }
  const [h, w] = p.size;
  const common = {
    // ViT's processor adds nothing to the base ImageProcessor: every step is driven by the fields below
    image_processor_type: 'ViTImageProcessor',
    do_convert_rgb: true,
    do_rescale: true,
    rescale_factor: p.scale,
    do_normalize: true,
    image_mean: [...p.mean],
    image_std: [...p.std],
    // PIL's LANCZOS (1): transformers.js resizes with sharp's lanczos3, as Graft's decoder does
    resample: 1,
  };
  if (p.resize === 'squash') {
    return { ...common, do_resize: true, size: { height: h, width: w }, do_center_crop: false };
  }
  if (p.resize === 'shorter-side-then-crop') {
    return {
      ...common,
      do_resize: true,
      size: { shortest_edge: Math.floor(Math.min(h, w) / cropFractionOf(p)) },
      do_center_crop: true,
      crop_size: { height: h, width: w },
    };
  }
  throw new GraftError('BAD_MODEL', `transformers.js has no equivalent of the '${p.resize}' resize mode`, {
    file,
    expected: "'squash' or 'shorter-side-then-crop'",
    found: p.resize,
    fix: 'train with --resize squash, or export the plain ONNX model (--format onnx)',
  });
}
