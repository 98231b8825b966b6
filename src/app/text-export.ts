// Node-only: `graft export` for text classifiers.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { loadOnnxFile, saveOnnxFile } from '../node/onnx-file.js';
import { textEncoderOf } from '../transfer/text/classifier.js';
import type { ExportFormat, ExportResult } from './export.js';
import { textModelPath } from './text-predict.js';

/**
 * Exports a text classifier as one self-contained .onnx file: weights inline, and in its metadata the
 * labels and everything that turns raw text into its inputs (tokenizer settings and vocabulary, or the
 * tokenizer.json / SentencePiece pieces), which Graft's TextClassifier reads in Node or the browser.
 * The transformers.js layout is refused: its text pipelines tokenize with a tokenizer.json of their own,
 * which cannot reproduce Graft's word tokenizer or guarantee SentencePiece's ids.
 */
export function exportTextClassifier(
  target: string,
  out: string,
  format: ExportFormat,
  cwd = process.cwd(),
): ExportResult {
  const path = textModelPath(resolve(cwd, target));
  const model = loadOnnxFile(path);
  // the model must carry a readable input side: checked before anything is written
  textEncoderOf(model, path);
  if (format !== 'onnx') {
    throw new GraftError('BAD_INPUT', `A text classifier cannot be exported as ${format}`, {
      file: path,
      expected: '--format onnx for text models',
      found: `--format ${format}`,
      fix: `run \`graft export ${target} --format onnx --out model.onnx\`: the file carries its tokenizer, and Graft's TextClassifier runs it in Node and the browser`,
    });
  }
  const dest = resolve(cwd, out);
  mkdirSync(dirname(dest), { recursive: true });
  saveOnnxFile(dest, model);
  return { format, out: dest, files: [dest] };
}
