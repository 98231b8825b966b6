// Models for the server tests: a tiny image classifier trained by `graft train`'s recipe on a slice of the
// committed Fashion-MNIST subset, and a tiny text classifier (two words, two classes) built as graft train
// exports one, so serving goes through the same loaders as real models.
import { join } from 'node:path';
import { trainImageClassifier } from '../../app/train-image.js';
import { fashionSlice, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { saveOnnxFile } from '../../node/onnx-file.js';
import { bagOfEmbeddingsModel } from '../../transfer/text/bag-model.js';
import { WordInputEncoder, finalizeTextClassifier } from '../../transfer/text/classifier.js';
import { wordTokenizerConfig } from '../../transfer/text/tokenizer.js';
import { Vocabulary } from '../../transfer/text/vocabulary.js';

export interface TinyImageClassifier {
  model: string;
  /** test images of the slice, one file per entry */
  images: string[];
  classes: string[];
}

export async function trainTinyImageClassifier(dir: string): Promise<TinyImageClassifier> {
  const backbone = writeTinyBackbone(join(dir, 'tiny.onnx'));
  const data = fashionSlice(join(dir, 'data'), { train: 6, test: 2, classes: 4 });
  const r = await trainImageClassifier({
    data,
    out: join(dir, 'run'),
    model: backbone,
    cacheDir: join(dir, 'cache'),
    epochs: 10,
    env: { HOME: dir },
    cwd: dir,
  });
  const { readdirSync } = await import('node:fs');
  const images = readdirSync(join(data, 'test'))
    .sort()
    .flatMap((c) =>
      readdirSync(join(data, 'test', c))
        .sort()
        .map((f) => join(data, 'test', c, f)),
    );
  return { model: r.modelPath, images, classes: r.classes };
}

/** 'good' votes positive, 'bad' negative; a word-vector text classifier with the metadata graft train writes. */
export function writeTinyTextClassifier(file: string): string {
  const { model } = bagOfEmbeddingsModel({
    table: Float32Array.of(3, -3, -3, 3, 0, 0),
    dims: 2,
    pool: 'mean',
    idsDtype: 'int64',
  });
  const encoder = new WordInputEncoder(new Vocabulary(['good', 'bad', 'the']), wordTokenizerConfig());
  saveOnnxFile(file, finalizeTextClassifier(model, encoder, { labels: ['positive', 'negative'] }));
  return file;
}
