import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { Tensor } from '../onnx/tensor.js';
import { modelDiff } from '../onnx/test-utils/graph-diff.js';
import { Session, f32 } from '../runtime/session.js';
import { loadOnnxFile, saveOnnxFile } from './onnx-file.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'graft-onnx-file-'));
}

/** x[N,4] -> Gemm(w1 [4,64]) -> Relu -> MatMul(w2 [64,3]) + small bias; the weights are big enough to externalize. */
function mlp() {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 4]);
  const w1 = b.initializer(
    'w1',
    Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) / 4),
    [4, 64],
  );
  const w2 = b.initializer(
    'w2',
    Float32Array.from({ length: 192 }, (_, i) => Math.cos(i) / 8),
    [64, 3],
  );
  const bias = b.initializer('bias', Float32Array.of(0.1, 0.2, 0.3), [3]);
  const h = b.op('Relu', [b.op('Gemm', [x, w1])]);
  b.output(b.op('Add', [b.op('MatMul', [h, w2]), bias], undefined, { outputs: ['y'] }), 'float32', ['N', 3]);
  return b.build();
}

test('external data: saved beside the model, loaded lazily, same outputs', async () => {
  const dir = tempDir();
  try {
    const model = mlp();
    const path = join(dir, 'm.onnx');
    saveOnnxFile(path, model, { externalDataThreshold: 512 });
    assert.deepEqual(readdirSync(dir).sort(), ['m.onnx', 'm.onnx.data']);
    // w1 (1024 B) and w2 (768 B) go out, bias (12 B) stays inline
    assert.ok(statSync(join(dir, 'm.onnx.data')).size >= 1024 + 768);
    assert.ok(statSync(path).size < 1024);

    const back = loadOnnxFile(path);
    const w1 = back.graph.initializers.get('w1')!;
    assert.equal(w1.isLoaded, false);
    assert.equal(w1.external?.location, 'm.onnx.data');
    assert.equal(w1.external!.offset % 64, 0);
    assert.equal(back.graph.initializers.get('bias')!.external, undefined);
    assert.deepEqual(modelDiff(model, back), []); // compares tensor bytes, which loads them
    assert.equal(w1.isLoaded, true);
    assert.equal(model.graph.initializers.get('w1')!.external, undefined, 'the saved model object is unchanged');

    const feeds = { x: f32([1, -2, 3, 0.5, 0, 1, 2, 3], [2, 4]) };
    const s1 = await Session.create(model);
    const s2 = await Session.create(back);
    assert.deepEqual((await s1.run(feeds)).y!.data, (await s2.run(feeds)).y!.data);
    await s1.dispose();
    await s2.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external data locations resolve relative to the model file, in sub-folders too', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'weights'));
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [2]);
    b.graph.initializers.set(
      'w',
      new Tensor('w', 'float32', [2], { external: { location: 'weights/w.bin', offset: 8, length: 8 } }),
    );
    b.output(b.op('Mul', [x, 'w']));
    writeFileSync(join(dir, 'model.onnx'), encodeModel(b.build(), { keepExternal: true }));
    writeFileSync(join(dir, 'weights', 'w.bin'), new Uint8Array(new Float32Array([9, 9, 4, -5]).buffer));
    const m = loadOnnxFile(join(dir, 'model.onnx'));
    assert.deepEqual([...m.graph.initializers.get('w')!.toArray()], [4, -5]);

    // saving elsewhere without a threshold inlines it: the data file does not follow the model
    const other = join(dir, 'copy.onnx');
    saveOnnxFile(other, loadOnnxFile(join(dir, 'model.onnx')));
    const copy = decodeModel(readFileSync(other));
    assert.deepEqual([...copy.graph.initializers.get('w')!.toArray()], [4, -5]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('re-saving a lazily loaded model over its own data file keeps the data', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'm.onnx');
    saveOnnxFile(path, mlp(), { externalDataThreshold: 512 });
    const lazy = loadOnnxFile(path);
    lazy.graph.initializers.get('w2')!.setData(new Float32Array(192).fill(0.5));
    saveOnnxFile(path, lazy, { externalDataThreshold: 512 });
    const again = loadOnnxFile(path);
    assert.deepEqual(modelDiff(mlp(), again).sort(), ['graph.initializers[w2].bytes differ']);
    assert.ok((again.graph.initializers.get('w2')!.toArray() as Float32Array).every((v) => v === 0.5));
    assert.deepEqual(readdirSync(dir).sort(), ['m.onnx', 'm.onnx.data'], 'no temporary files left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a location that is a symlink to a file outside the folder is refused, one inside is read', () => {
  const dir = tempDir();
  try {
    const outside = join(dir, 'outside.bin');
    writeFileSync(outside, new Uint8Array(Float32Array.of(42).buffer));
    mkdirSync(join(dir, 'model'));
    symlinkSync(outside, join(dir, 'model', 'w.bin'));
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [1]);
    b.graph.initializers.set('w', new Tensor('w', 'float32', [1], { external: { location: 'w.bin', offset: 0 } }));
    b.output(b.op('Mul', [x, 'w']));
    const path = join(dir, 'model', 'm.onnx');
    writeFileSync(path, encodeModel(b.build(), { keepExternal: true }));
    assert.throws(
      () => loadOnnxFile(path).graph.initializers.get('w')!.bytes,
      (e: unknown) =>
        e instanceof GraftError &&
        e.code === 'BAD_MODEL' &&
        /outside the model folder[\s\S]*symlink/.test(e.message) &&
        e.fields.file === path,
    );
    rmSync(join(dir, 'model', 'w.bin'));
    writeFileSync(join(dir, 'model', 'real.bin'), new Uint8Array(Float32Array.of(7).buffer));
    symlinkSync('real.bin', join(dir, 'model', 'w.bin'));
    assert.deepEqual([...loadOnnxFile(path).graph.initializers.get('w')!.toNumbers()], [7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('locations escaping the model folder and missing files are reported, not read', () => {
  const dir = tempDir();
  try {
    for (const location of ['../outside.bin', '/etc/passwd']) {
      const b = new GraphBuilder('g');
      const x = b.input('x', 'float32', [1]);
      b.graph.initializers.set('w', new Tensor('w', 'float32', [1], { external: { location, offset: 0 } }));
      b.output(b.op('Mul', [x, 'w']));
      const path = join(dir, 'evil.onnx');
      writeFileSync(path, encodeModel(b.build(), { keepExternal: true }));
      const m = loadOnnxFile(path);
      assert.throws(
        () => m.graph.initializers.get('w')!.bytes,
        (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && /outside the model folder/.test(e.message),
        location,
      );
    }
    const b = new GraphBuilder('g');
    const x = b.input('x', 'float32', [1]);
    b.graph.initializers.set('w', new Tensor('w', 'float32', [1], { external: { location: 'gone.bin', offset: 0 } }));
    b.output(b.op('Mul', [x, 'w']));
    writeFileSync(join(dir, 'm.onnx'), encodeModel(b.build(), { keepExternal: true }));
    const m = loadOnnxFile(join(dir, 'm.onnx'));
    assert.throws(
      () => m.graph.initializers.get('w')!.bytes,
      (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND' && /gone\.bin/.test(e.message),
    );
    assert.throws(
      () => loadOnnxFile(join(dir, 'nope.onnx')),
      (e: unknown) => e instanceof GraftError && e.code === 'IO' && e.fields.file === join(dir, 'nope.onnx'),
    );
    saveOnnxFile(join(dir, 'new', 'sub', 'm.onnx'), mlp());
    assert.ok(statSync(join(dir, 'new', 'sub', 'm.onnx')).isFile(), 'missing folders are created');
    assert.throws(
      () => saveOnnxFile(join(dir, 'new'), mlp()), // a folder is in the way
      (e: unknown) => e instanceof GraftError && e.code === 'IO',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
