// Node-only: raw-text predictions from a run folder or an exported .onnx file.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import type { Model } from '../onnx/graph.js';
import { loadOnnxFile } from '../node/onnx-file.js';
import type { SessionOptions } from '../runtime/session.js';
import { RUN_FILES } from '../report/run-folder.js';
import { TextClassifier, type TextPrediction } from '../transfer/text/classifier.js';

/** The model file of a run folder, or the path itself when it is a file. */
export function textModelPath(runDirOrModel: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(runDirOrModel).isDirectory();
  } catch (e) {
    throw new GraftError('NOT_FOUND', 'No run folder or model file at this path', {
      file: runDirOrModel,
      expected: `a run folder written by graft train (holding ${RUN_FILES.model}) or an .onnx file`,
      fix: 'pass the folder graft train printed at the end of the run',
      cause: e,
    });
  }
  return isDir ? join(runDirOrModel, RUN_FILES.model) : runDirOrModel;
}

/** Opens a text classifier from a run folder, an .onnx path, or a model in memory. Dispose it when done. */
export async function openTextClassifier(
  runDirOrModel: string | Model,
  opts: { session?: SessionOptions } = {},
): Promise<TextClassifier> {
  if (typeof runDirOrModel !== 'string') return TextClassifier.fromModel(runDirOrModel, opts);
  const file = textModelPath(runDirOrModel);
  return TextClassifier.fromModel(loadOnnxFile(file), { ...opts, file });
}

/**
 * Classifies raw texts with a text classifier trained by `graft train`: tokenized exactly as in training
 * (tokenizer settings, vocabulary or tokenizer.json travel in the model metadata), one prediction per text.
 */
export async function predictText(
  runDirOrModel: string | Model,
  texts: readonly string[],
  opts: { session?: SessionOptions; batchSize?: number } = {},
): Promise<TextPrediction[]> {
  const c = await openTextClassifier(runDirOrModel, opts);
  try {
    return await c.predict(texts, opts.batchSize);
  } finally {
    await c.dispose();
  }
}
