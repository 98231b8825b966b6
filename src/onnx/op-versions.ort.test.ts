// MAX_ONNX_OPSET (what `graft inspect` accepts) is the newest default-domain opset the bundled onnxruntime
// loads: this fails when an onnxruntime upgrade moves it, so the table is regenerated with the new bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../runtime/session.js';
import { GraphBuilder } from './builder.js';
import { MAX_ONNX_OPSET, ONNX_OPS } from './op-versions.js';

function relu(opset: number) {
  const b = new GraphBuilder('relu');
  b.output(b.op('Relu', [b.input('x', 'float32', [2])]), 'float32', [2]);
  const m = b.build();
  m.opsetImports = [{ domain: '', version: opset }];
  m.irVersion = 10;
  return m;
}

test(`onnxruntime loads opset ${MAX_ONNX_OPSET} and refuses the next one`, async () => {
  const s = await Session.create(relu(MAX_ONNX_OPSET));
  await s.dispose();
  await assert.rejects(Session.create(relu(MAX_ONNX_OPSET + 1)), /opset|ONNX/i);
});

test('the op table knows the common ops from the opset that introduced them', () => {
  assert.deepEqual(ONNX_OPS.Conv, [1]);
  assert.deepEqual(ONNX_OPS.Gelu, [20]);
  assert.deepEqual(ONNX_OPS.Upsample, [1, 10]);
  assert.ok(Object.values(ONNX_OPS).every(([since]) => since <= MAX_ONNX_OPSET));
});
