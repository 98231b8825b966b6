// The browser recipe's own checks, run in Node (where it trains on onnxruntime-node's CPU); the browser test
// (browser.test.ts) runs the same recipe in Chromium and compares it with this one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawImage } from '../data/image.js';
import { GraftError } from '../errors.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { type FetchBackboneOptions, fetchBackbone, fetchBytes, readBackbone } from './backbone.js';
import { chooseDevice } from './device.js';
import { prepareFineTune } from './finetune.js';
import { TINY_CLASSES, TINY_PREPROCESSING, tinyBackboneBytes, tinyImages } from './test-utils/fixtures.js';

const bytes = tinyBackboneBytes();
const isCode = (code: string, re?: RegExp) => (e: unknown) =>
  e instanceof GraftError && e.code === code && (!re || re.test(e.message));

test('readBackbone: image input, pooled features, preprocessing from the metadata, kernel shapes written', async () => {
  const b = await readBackbone(bytes, { name: 'tiny.onnx' });
  assert.equal(b.inputName, 'image');
  assert.deepEqual(b.itemDims, [3, 16, 16]);
  assert.equal(b.featureValue, 'features');
  assert.equal(b.dim, 16);
  assert.equal(b.pooling, 'none');
  assert.deepEqual(b.preprocessing, TINY_PREPROCESSING);
  assert.match(b.sha256, /^[0-9a-f]{64}$/);
  const convs = b.model.graph.nodes.filter((n) => n.opType === 'Conv');
  assert.ok(convs.length > 0);
  for (const n of convs) assert.ok(n.attrs.kernel_shape, `${n.name} has no kernel_shape`);
  assert.ok(
    decodeModel(bytes).graph.nodes.every((n) => n.opType !== 'Conv' || !n.attrs.kernel_shape),
    'the fixture leaves kernel_shape out (so the browser test sees the rewrite)',
  );
});

test('readBackbone: a model that says nothing of its preprocessing, or says it badly, is refused by name', async () => {
  const m = decodeModel(bytes);
  m.metadata.delete('graft.preprocessing');
  await assert.rejects(
    readBackbone(encodeModel(m), { name: 'bare.onnx' }),
    isCode('BAD_MODEL', /does not say how images must be preprocessed \[file bare\.onnx\]/),
  );
  const ok = await readBackbone(encodeModel(m), { preprocessing: TINY_PREPROCESSING });
  assert.deepEqual(ok.preprocessing.size, [16, 16]);
  m.metadata.set('graft.preprocessing', '{"size": SECRET-TEXT');
  await assert.rejects(readBackbone(encodeModel(m), { name: 'bad.onnx' }), (e: unknown) => {
    assert.ok(isCode('BAD_MODEL', /not JSON/)(e));
    assert.doesNotMatch((e as Error).message, /SECRET/, 'the error quotes the metadata');
    return true;
  });
  await assert.rejects(readBackbone(new Uint8Array([1, 2, 3, 4, 5])), isCode('BAD_MODEL'));
});

/** A fetch answering from a table, with a body streamed in 1 KiB chunks and no length unless asked. */
function fakeFetch(files: Record<string, Uint8Array>, opts: { declareLength?: boolean } = {}): typeof fetch {
  return (async (url: string | URL | Request) => {
    const body = files[String(url)];
    if (!body) return new Response(null, { status: 404 });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < body.length; i += 1024) c.enqueue(body.slice(i, i + 1024));
        c.close();
      },
    });
    const headers = opts.declareLength ? { 'content-length': String(body.length) } : undefined;
    return new Response(stream, { headers });
  }) as typeof fetch;
}

test('fetchBackbone reads a model over HTTP; fetchBytes stops at the byte limit, declared or streamed', async () => {
  const files = { 'https://models.example/tiny.onnx': bytes };
  const o: FetchBackboneOptions = { fetch: fakeFetch(files) };
  const b = await fetchBackbone('https://models.example/tiny.onnx', o);
  assert.equal(b.name, 'https://models.example/tiny.onnx');
  assert.equal(b.dim, 16);
  const limit = bytes.length - 1;
  for (const declareLength of [true, false]) {
    await assert.rejects(
      fetchBytes('https://models.example/tiny.onnx', limit, fakeFetch(files, { declareLength })),
      isCode('BAD_MODEL', new RegExp(`larger than the ${limit}-byte limit`)),
    );
  }
  assert.equal(
    (await fetchBytes('https://models.example/tiny.onnx', bytes.length, fakeFetch(files))).length,
    bytes.length,
  );
  await assert.rejects(
    fetchBytes('https://models.example/none.onnx', 1e6, fakeFetch(files)),
    isCode('NETWORK', /HTTP 404/),
  );
  const failing = (async () => {
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  await assert.rejects(fetchBytes('https://down.example/m.onnx', 1e6, failing), isCode('NETWORK', /CORS/));
});

test('chooseDevice under onnxruntime-node: auto is the CPU; wasm is refused with the valid choices', async () => {
  assert.equal((await chooseDevice('auto')).device, 'cpu');
  assert.equal((await chooseDevice()).device, 'cpu');
  await assert.rejects(chooseDevice('wasm'), (e: unknown) => {
    assert.ok(isCode('CONFIG', /'wasm' is not available here/)(e));
    assert.ok((e as GraftError).fields.choices?.includes('cpu'));
    return true;
  });
});

/** The texture images as 32x32 RGBA pixels (what a canvas gives), each texel doubled. */
function asCanvasImages(pixels: Float32Array, count: number): RawImage[] {
  const p = TINY_PREPROCESSING;
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8ClampedArray(32 * 32 * 4);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        for (let c = 0; c < 3; c++) {
          const v = pixels[i * 768 + c * 256 + (y >> 1) * 16 + (x >> 1)]!;
          data[(y * 32 + x) * 4 + c] = (v * p.std[c]! + p.mean[c]!) / p.scale;
        }
        data[(y * 32 + x) * 4 + 3] = 255;
      }
    }
    return { data, width: 32, height: 32, channels: 4 };
  });
}

test('prepareFineTune: canvas images are resized and normalised with the backbone preprocessing', async () => {
  const backbone = await readBackbone(bytes);
  const { pixels, labels } = tinyImages(8, 5);
  const images = asCanvasImages(pixels, 8);
  const prep = await prepareFineTune({
    backbone,
    classes: TINY_CLASSES,
    train: { images, labels },
    unfreeze: 'all',
    device: 'cpu',
  });
  assert.equal(prep.data.at, 'image', 'with every block trainable the training inputs are the images');
  const rows = prep.data.train.data;
  assert.equal(rows.length, pixels.length);
  // squashing 32 -> 16 averages each doubled texel with itself: the 16x16 texture, up to uint8 rounding
  let worst = 0;
  for (let i = 0; i < rows.length; i++) worst = Math.max(worst, Math.abs(rows[i]! - pixels[i]!));
  assert.ok(worst <= 0.5 / 255 / 0.25 + 1e-6, `pixels differ by ${worst}`);
});

test('prepareFineTune: the plan, the phases and the freeze boundary; bad sets are refused', async () => {
  const backbone = await readBackbone(bytes);
  const train = tinyImages(12, 1);
  const events: string[] = [];
  const prep = await prepareFineTune({
    backbone,
    classes: TINY_CLASSES,
    train,
    device: 'cpu',
    onEvent: (e) => events.push(e.type),
  });
  assert.equal(prep.device, 'cpu');
  assert.deepEqual(
    prep.phases.map((p) => p.kind),
    ['probe', 'train'],
    'fine-tune: a head warm-up, then the unfrozen block',
  );
  assert.equal(prep.plan.boundary, 'layers/block_2/out/Relu_out', 'last:1 by default: the top block');
  assert.deepEqual(prep.data.train.sampleDims, [8, 16, 16]);
  assert.deepEqual(events.slice(0, 3), ['stage', 'freeze-report', 'phases']);
  await assert.rejects(prep.phaseGraph(0), isCode('BAD_INPUT', /Phase 0 has no training graph[^]*valid choices: 1/));
  const graph = await prep.phaseGraph(1);
  assert.deepEqual([...graph.graph.params].sort(), [...prep.plan.trainable].sort());

  const base = { backbone, classes: TINY_CLASSES, device: 'cpu' as const };
  await assert.rejects(
    prepareFineTune({ ...base, train: { pixels: train.pixels, labels: [...train.labels].slice(1) } }),
    isCode('SHAPE_MISMATCH', /train images and labels disagree/),
  );
  await assert.rejects(
    prepareFineTune({ ...base, train: { pixels: train.pixels, labels: [...train.labels.slice(1), 4] } }),
    isCode('BAD_INPUT', /Label 4 of train image 11 is not a class index/),
  );
  await assert.rejects(prepareFineTune({ ...base, train: { labels: [] } }), isCode('BAD_INPUT', /no images/));
  await assert.rejects(prepareFineTune({ ...base, classes: ['one'], train }), isCode('BAD_INPUT', /two classes/));
  await assert.rejects(prepareFineTune({ ...base, train, device: 'webgpu-typo' as 'wasm' }), isCode('CONFIG'));
});
