import type { DataLimits } from '../data/limits.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { readClassifierInfo } from '../transfer/pipeline-graft.js';
import { transformersJsConfig } from '../app-web/export.js';
import { writeFileAtomic } from '../node/atomic.js';
import { externalTensors, fitsInline, loadOnnxFile, saveOnnxFile } from '../node/onnx-file.js';
import { resolveModelPath } from './classifier.js';

export { preprocessorConfig } from '../app-web/export.js';

export type ExportFormat = 'transformers.js' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['transformers.js', 'onnx'];

export interface ExportResult {
  format: ExportFormat;
  out: string;
  files: string[];
}

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
  const { config, preprocessor: processor } = transformersJsConfig(info, path);
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
