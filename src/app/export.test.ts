// The exported folder loads in a transformers.js image-classification pipeline (offline, from disk) and
// the exported model in plain onnxruntime-node; both give graft predict's top-1 on every test image.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { exampleSize, writeNormalized } from '../data/image.js';
import { decodeForModel } from '../data/node/decode.js';
import type { ResizeMode } from '../data/preprocessing.js';
import { loadClassifier, predictFiles } from './classifier.js';
import { exportClassifier } from './export.js';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';
import { trainImageClassifier } from './train-image.js';

after(removeTempDirs);

interface PipelineLabel {
  label: string;
  score: number;
}

for (const resize of ['squash', 'shorter-side-then-crop'] as ResizeMode[]) {
  test(`transformers.js and onnxruntime-node agree with graft predict (${resize})`, async () => {
    const dir = tempDir();
    const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
    const data = fashionSlice(join(dir, 'data'), { train: 12, test: 2 });
    const r = await trainImageClassifier({
      data,
      out: join(dir, 'run'),
      model,
      cacheDir: join(dir, 'cache'),
      resize,
      epochs: 30,
    });
    const out = join(dir, 'web', 'fashion-tiny');
    const exported = exportClassifier(r.modelPath, out, 'transformers.js');
    assert.deepEqual(
      exported.files.map((f) => f.slice(out.length + 1)),
      ['onnx/model.onnx', 'config.json', 'preprocessor_config.json'],
    );
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { id2label: Record<string, string> };
    assert.deepEqual(Object.values(config.id2label), r.classes);

    const files = readdirSync(join(data, 'test')).flatMap((c) =>
      readdirSync(join(data, 'test', c)).map((f) => join(data, 'test', c, f)),
    );
    const c = await loadClassifier(r.modelPath);
    const graft = await predictFiles(c, files, { top: 1 });
    await c.dispose();

    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(out);
    const classify = (await pipeline('image-classification', basename(out), {
      dtype: 'fp32',
      device: 'cpu',
    })) as unknown as (input: string, o: { top_k: number }) => Promise<PipelineLabel[]>;

    const session = await ort.InferenceSession.create(join(out, 'onnx', 'model.onnx'));
    const p = c.info.preprocessing;
    try {
      for (let i = 0; i < files.length; i++) {
        const [tj] = await classify(files[i]!, { top_k: 1 });
        const x = new Float32Array(exampleSize(p));
        writeNormalized(await decodeForModel(files[i]!, p), p, x, 0);
        const res = await session.run({ pixel_values: new ort.Tensor('float32', x, [1, 3, p.size[0], p.size[1]]) });
        const probs = res.probabilities!.data as Float32Array;
        const top = probs.indexOf(Math.max(...probs));
        const mine = graft[i]!.top![0]!;
        assert.equal(tj!.label, mine.label, `${files[i]}: transformers.js ${tj!.label}, graft ${mine.label}`);
        assert.equal(r.classes[top], mine.label, `${files[i]}: onnxruntime-node`);
        assert.ok(Math.abs(probs[top]! - mine.probability) < 1e-5);
        // transformers.js resizes the decoded pixels rather than the file: tiny resampling differences only
        assert.ok(Math.abs(tj!.score - mine.probability) < 0.02, `${tj!.score} vs ${mine.probability}`);
      }
    } finally {
      await session.release();
    }
  });
}
