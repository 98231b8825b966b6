import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../onnx/builder.js';
import { Session, f64 } from '../../runtime/session.js';
import { appendBackward } from '../backward.js';
import { Emitter } from '../emitter.js';
import { TypeEnv } from '../shapes.js';
import { gradCheckTable } from '../test-utils/cases.js';
import { ACTIVATION_ROWS } from '../test-utils/rows/activation.js';

gradCheckTable('activation', ACTIVATION_ROWS);

test('Dropout in training mode: gradient = GO * mask / (1 - ratio), with the mask the forward pass drew', async () => {
  for (const ratioAsInput of [false, true]) {
    const b = new GraphBuilder('dropout');
    const x = b.input('x', 'float64', [64, 32]);
    const ratio = ratioAsInput ? b.input('ratio', 'float64', []) : b.scalar(0.3, 'ratio', 'float64');
    const training = b.initializer('training', Uint8Array.of(1), [], 'bool');
    // The node exposes only y: the rule's prepare step must add the mask output itself.
    const y = b.op('Dropout', [x, ratio, training], undefined, { outputs: ['y'] });
    b.output(y, 'float64', [64, 32]);
    const model = b.build({ opset: 13 });
    const g = model.graph;
    const env = TypeEnv.fromGraph(g, 13);
    const e = new Emitter(g, env);
    g.inputs.push({ name: 'ct', dtype: 'float64', shape: [64, 32] });
    env.declare('ct', { dtype: 'float64', shape: [64, 32] });
    const { grads } = appendBackward(e, { seeds: new Map([['y', 'ct']]), wrt: ['x'] });
    const dropout = g.nodes.find((n) => n.opType === 'Dropout')!;
    assert.ok(dropout.outputs[1], 'the mask output was added');
    e.emit('Identity', [grads.get('x')!], undefined, { outputs: ['dx'] });
    g.outputs.push({ name: 'dx', dtype: 'float64' }, { name: dropout.outputs[1]!, dtype: 'bool' });
    g.cleanup();
    const s = await Session.create(model);
    const n = 64 * 32;
    const xs = Float64Array.from({ length: n }, (_, i) => 1 + Math.sin(i));
    const ct = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
    const feeds: Record<string, ReturnType<typeof f64>> = { x: f64(xs, [64, 32]), ct: f64(ct, [64, 32]) };
    if (ratioAsInput) feeds['ratio'] = f64([0.3], []);
    const out = await s.run(feeds);
    await s.dispose();
    const mask = out[dropout.outputs[1]!]!.data as Uint8Array;
    const yv = out['y']!.data as Float64Array;
    const dx = out['dx']!.data as Float64Array;
    const kept = mask.reduce((a, m) => a + m, 0);
    assert.ok(kept > n * 0.6 && kept < n * 0.8, `about 70% kept, got ${kept}/${n}`);
    for (let i = 0; i < n; i++) {
      const scale = mask[i] ? 1 / 0.7 : 0;
      // The forward output confirms the mask/scale convention the gradient relies on (onnxruntime computes
      // the scale in float32 even for float64 tensors, hence the 1e-7 tolerance).
      assert.ok(Math.abs(yv[i]! - xs[i]! * scale) < 1e-7 * Math.abs(xs[i]!), `y[${i}] = ${yv[i]}, x = ${xs[i]}`);
      const where = `dx[${i}] (ratio as ${ratioAsInput ? 'input' : 'constant'})`;
      assert.ok(Math.abs(dx[i]! - ct[i]! * scale) < 1e-7 * Math.abs(ct[i]!) + 1e-15, where);
    }
  }
});
