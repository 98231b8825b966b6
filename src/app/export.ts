import type { DataLimits } from '../data/limits.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { cropFractionOf, type Preprocessing } from '../data/preprocessing.js';
import { CLASSIFIER_INPUT, CLASSIFIER_LOGITS, readClassifierInfo } from '../transfer/pipeline-graft.js';
import { writeFileAtomic } from '../node/atomic.js';
import { externalTensors, fitsInline, loadOnnxFile, saveOnnxFile } from '../node/onnx-file.js';
import { resolveModelPath } from './classifier.js';

export type ExportFormat = 'transformers.js' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['transformers.js', 'onnx'];

export interface ExportResult {
  format: ExportFormat;
  out: string;
  files: string[];
}

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
 * Exports a grafted classifier. 'transformers.js' writes the folder layout an `image-classification`
 * pipeline loads (onnx/model.onnx, config.json with id2label, preprocessor_config.json); 'onnx' copies
 * the single model file (with any external data written inline).
 */
export function exportClassifier(
  target: string,
  out: string,
  format: ExportFormat,
  cwd = process.cwd(),
  limits?: DataLimits,
): ExportResult {
  const path = resolveModelPath(target, cwd);
  const model = loadOnnxFile(path);
  const info = readClassifierInfo(model, path, limits);
  const dest = resolve(cwd, out);
  if (format === 'onnx') {
    mkdirSync(resolve(dest, '..'), { recursive: true });
    if (externalTensors(model.graph).length === 0) {
      copyFileSync(path, dest);
      return { format, out: dest, files: [dest] };
    }
    // Weights in a data file beside the model: written inline, so the export is one file that cannot be
    // separated from its weights; each one is read through the confined reader (a data file that is a
    // symlink out of the model's folder is refused). Past protobuf's 2 GiB, they go to one data file beside.
    if (fitsInline(model)) {
      saveOnnxFile(dest, model);
      return { format, out: dest, files: [dest] };
    }
    saveOnnxFile(dest, model, { externalDataThreshold: 1024 });
    return { format, out: dest, files: [dest, `${dest}.data`] };
  }
  if (format !== 'transformers.js') {
    throw new GraftError('BAD_INPUT', `Unknown export format '${format as string}'`, { choices: EXPORT_FORMATS });
  }
  if (info.inputName !== CLASSIFIER_INPUT || info.logits !== CLASSIFIER_LOGITS) {
    throw new GraftError('BAD_MODEL', 'The model does not have the input and output a transformers.js pipeline reads', {
      file: path,
      expected: `input '${CLASSIFIER_INPUT}' and output '${CLASSIFIER_LOGITS}'`,
      found: `input '${info.inputName}', output '${info.logits}'`,
      fix: 'export a model.onnx written by graft train',
    });
  }
  const processor = preprocessorConfig(info.preprocessing, path);
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
  const onnxDir = join(dest, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  const modelOut = join(onnxDir, 'model.onnx');
  saveOnnxFile(modelOut, model);
  const enc = new TextEncoder();
  const configOut = join(dest, 'config.json');
  const procOut = join(dest, 'preprocessor_config.json');
  writeFileAtomic(configOut, enc.encode(JSON.stringify(config, null, 2) + '\n'));
  writeFileAtomic(procOut, enc.encode(JSON.stringify(processor, null, 2) + '\n'));
  return { format, out: dest, files: [modelOut, configOut, procOut] };
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
