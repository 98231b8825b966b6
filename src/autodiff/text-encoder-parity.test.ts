import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeModel } from '../onnx/codec.js';
import { Session, f32, i64 } from '../runtime/session.js';
import { buildTrainingGraph } from './build.js';

/**
 * A small transformer encoder exported from PyTorch 1.13 at opsets 13 and 17
 * (scripts/fixtures/export_text_encoder.py): embeddings, position embeddings, two post-norm encoder
 * layers with a key padding mask, GELU, the class-token pick x[:, 0] and a linear head. Every parameter
 * trains; the loss and each full gradient must agree with PyTorch's. At opset 13 LayerNorm is written out
 * and the Gathers (embedding lookups, the class-token pick) take the one-hot gradient form.
 */
const TOL = 1e-4;
const dir = new URL('../../fixtures/text-encoder/', import.meta.url);

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[];
  loss: number;
  grads: Record<string, number[]>;
}

for (const opset of [13, 17]) {
  test(`transformer encoder (PyTorch export, opset ${opset}): loss and every gradient equal PyTorch's`, async (t) => {
    const ref = JSON.parse(readFileSync(new URL('encoder.reference.json', dir), 'utf8')) as Reference;
    const model = decodeModel(readFileSync(new URL(`encoder.opset${opset}.onnx`, dir)));
    assert.equal(model.opset, opset);
    const ops = new Set(model.graph.nodes.map((n) => n.opType));
    for (const op of ['Gather', 'MatMul', 'Softmax', 'Erf', 'Where']) assert.ok(ops.has(op), `the export has ${op}`);
    assert.equal(ops.has('LayerNormalization'), opset >= 17, 'LayerNorm decomposed before opset 17');
    const trainable = Object.keys(ref.grads);
    assert.equal(trainable.length, 28);
    const tg = buildTrainingGraph(model, { logits: 'logits', loss: { kind: 'softmax-cross-entropy' }, trainable });
    const [n, len] = [ref.input_ids.length, ref.input_ids[0]!.length];
    const feeds = {
      input_ids: i64(ref.input_ids.flat(), [n, len]),
      attention_mask: i64(ref.attention_mask.flat(), [n, len]),
      [tg.labels.name]: i64(ref.labels, [n]),
      ...Object.fromEntries(
        trainable.map((p) => {
          const init = model.graph.initializers.get(p)!;
          return [p, f32(init.toArray() as Float32Array, init.dims)];
        }),
      ),
    };
    const s = await Session.create(tg.model);
    let out;
    try {
      out = await s.run(feeds);
    } finally {
      await s.dispose();
    }
    const loss = out[tg.loss]!.data[0] as number;
    assert.ok(Math.abs(loss - ref.loss) < TOL * ref.loss, `loss ${loss} vs PyTorch ${ref.loss}`);
    let worst = { error: 0, param: '-' };
    for (const p of trainable) {
      const g = out[tg.gradOf[p]!]!.data as Float32Array;
      const want = ref.grads[p]!;
      assert.equal(g.length, want.length, p);
      const scale = Math.max(...want.map(Math.abs), 1e-12);
      let error = 0;
      for (let i = 0; i < want.length; i++) error = Math.max(error, Math.abs(g[i]! - want[i]!) / scale);
      assert.ok(error < TOL, `${p}: max |diff| / max |g| = ${error}`);
      if (error > worst.error) worst = { error, param: p };
    }
    t.diagnostic(`loss ${loss}; worst gradient ${worst.error.toExponential(2)} (${worst.param})`);
  });
}
