import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { encodeModel } from '../onnx/codec.js';
import { GraphBuilder } from '../onnx/builder.js';
import type * as nodeSeam from './ort.js';
import { detectBackends as detectNode } from './ort.js';
import { detectBackends, ort } from './ort.web.js';

// The browser seam runs here on onnxruntime-web's Node build (wasm), with `navigator.gpu` faked: the
// backend listing is the part the browser build adds to onnxruntime-web.

// Compile-time: the browser seam offers what the rest of Graft uses from the Node one.
const _sameShape: {
  ort: Pick<typeof nodeSeam.ort, 'InferenceSession' | 'Tensor' | 'listSupportedBackends'>;
  detectBackends: () => Promise<readonly nodeSeam.SupportedBackend[]>;
} = { ort, detectBackends };
void _sameShape;

const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
function fakeNavigator(gpu: unknown): void {
  Object.defineProperty(globalThis, 'navigator', { value: gpu === undefined ? {} : { gpu }, configurable: true });
}
after(() => {
  if (hadNavigator) Object.defineProperty(globalThis, 'navigator', hadNavigator);
  else delete (globalThis as { navigator?: unknown }).navigator;
});

const names = (list: readonly nodeSeam.SupportedBackend[]) => list.map((b) => b.name);

test('without navigator.gpu the browser seam lists wasm (and cpu, the name onnxruntime-web registers for it)', async () => {
  fakeNavigator(undefined);
  assert.deepEqual(names(await detectBackends({ refresh: true })), ['cpu', 'wasm']);
  assert.deepEqual(names(ort.listSupportedBackends()), ['cpu', 'wasm']);
});

test('webgpu is listed only when navigator.gpu gives an adapter', async () => {
  fakeNavigator({ requestAdapter: async () => null });
  assert.deepEqual(names(await detectBackends({ refresh: true })), ['cpu', 'wasm'], 'no adapter');
  fakeNavigator({
    requestAdapter: async () => {
      throw new Error('GPU process crashed');
    },
  });
  assert.deepEqual(names(await detectBackends({ refresh: true })), ['cpu', 'wasm'], 'a failing request');
  fakeNavigator({ requestAdapter: async () => ({ features: new Set() }) });
  assert.deepEqual(names(await detectBackends({ refresh: true })), ['cpu', 'wasm', 'webgpu'], 'an adapter');
  assert.deepEqual(names(ort.listSupportedBackends()), ['cpu', 'wasm', 'webgpu'], 'the synchronous listing');
  assert.ok((await detectBackends()).every((b) => b.bundled));
  fakeNavigator(undefined);
  await detectBackends({ refresh: true });
});

test("the browser seam's ort runs a model on onnxruntime-web (wasm)", async () => {
  const b = new GraphBuilder('add_one');
  const x = b.input('x', 'float32', ['N', 2]);
  b.output(b.op('Add', [x, b.scalar(1)], undefined, { outputs: ['y'] }), 'float32', ['N', 2]);
  const session = await ort.InferenceSession.create(encodeModel(b.build({ opset: 17 })), {
    executionProviders: ['wasm'],
  });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [2, 2]) });
    assert.deepEqual([...(out.y!.data as Float32Array)], [2, 3, 4, 5]);
  } finally {
    await session.release();
  }
  assert.equal(ort.env.versions.web, '1.30.0', 'onnxruntime-web matches onnxruntime-node 1.30');
});

test('the Node seam lists the providers onnxruntime-node bundles, cpu first', async () => {
  const list = await detectNode();
  assert.equal(list[0]?.name, 'cpu');
  assert.ok(Object.isFrozen(list));
});
