// The TF ops a text model uses between a sparse batch of tokens and dense tensors (SparseToDense, Where,
// GatherV2, GatherNd, ScatterNd, comparisons, Sin/Cos, SplitV, Range), checked against TF.js; and the
// rewrite that feeds such a model dense token ids and a mask instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importTfjsGraphModel } from './graph_model.js';
import { GraphModelBuilder, assertClose, attr, onnxPredict } from './test-utils/fixtures.js';
import { tfjsGraphPredict } from './test-utils/tfjs.js';
import { Session } from '../../runtime/session.js';
import { isGraftError } from '../../errors.js';

const SENTENCES = [
  [3, 7, 1, 9],
  [5, 2],
  [8, 8, 4],
];
const [N, T, V, D] = [3, 4, 10, 6];

function sparseFeeds() {
  const idx: number[] = [];
  const vals: number[] = [];
  SENTENCES.forEach((s, i) => s.forEach((v, j) => (idx.push(i, j), vals.push(v))));
  return {
    indices: { data: Int32Array.from(idx), shape: [vals.length, 2], dtype: 'int32' as const },
    values: { data: Int32Array.from(vals), shape: [vals.length], dtype: 'int32' as const },
  };
}

function denseFeeds(sentences = SENTENCES) {
  const ids = new BigInt64Array(N * T);
  const mask = new BigInt64Array(N * T);
  sentences.forEach((s, i) => s.forEach((v, j) => ((ids[i * T + j] = BigInt(v)), (mask[i * T + j] = 1n))));
  return {
    input_ids: { dtype: 'int64' as const, dims: [N, T], data: ids },
    attention_mask: { dtype: 'int64' as const, dims: [N, T], data: mask },
  };
}

/** A miniature of USE lite's input side: sparse ids -> dense -> mask -> embeddings scattered and gathered. */
function sparseTextGraph() {
  const b = new GraphModelBuilder();
  const i32 = { T: attr.type('DT_INT32') };
  const idx = b.placeholder('indices', [-1, 2], 'DT_INT32');
  const vals = b.placeholder('values', [-1], 'DT_INT32');
  const dense = b.op(
    'SparseToDense',
    'dense',
    [idx, b.const('shape', [N, T], [2], 'int32'), vals, b.const('zero', [0], [], 'int32')],
    i32,
  );
  const mask = b.op('Greater', 'mask', [dense, b.const('zero2', [0], [], 'int32')], i32);
  const pad = b.op('Cast', 'pad', [b.op('LogicalNot', 'not', [mask])], { DstT: attr.type('DT_FLOAT') });
  const where = b.op('Cast', 'where', [b.op('Where', 'where64', [mask])], { DstT: attr.type('DT_INT32') });
  const emb = b.op('GatherV2', 'emb', [b.random('table', [V, D], 5), vals, b.const('axis0', [0], [], 'int32')]);
  const scattered = b.op('ScatterNd', 'scattered', [where, emb, b.const('full', [N, T, D], [3], 'int32')]);
  const gathered = b.op('GatherNd', 'gathered', [scattered, where]);
  const pos = b.op('Cast', 'pos', [where], { DstT: attr.type('DT_FLOAT') });
  const sin = b.op('Sin', 'sin', [pos]);
  const cos = b.op('Cos', 'cos', [pos]);
  b.op('SplitV', 'split', [gathered, b.const('sizes', [2, -1], [2], 'int32'), b.const('ax1', [1], [], 'int32')], {
    num_split: attr.i(2),
  });
  const first = b.op('Identity', 'first', ['split']);
  const rest = b.op('Identity', 'rest', ['split:1']);
  const r = b.op('Range', 'range', [
    b.const('r0', [0], [], 'int32'),
    b.const('r1', [T], [], 'int32'),
    b.const('r2', [1], [], 'int32'),
  ]);
  const less = b.op('Cast', 'less', [b.op('Less', 'lt', [r, b.const('three', [3], [], 'int32')], i32)], {
    DstT: attr.type('DT_FLOAT'),
  });
  return { ...b.build(), outs: [pad, scattered, gathered, sin, cos, first, rest, less] };
}

test('text graph ops (SparseToDense, Where, GatherV2, GatherNd, ScatterNd, Sin, Cos, SplitV, Range, Less) match TF.js', async () => {
  const { modelJson, readFile, outs } = sparseTextGraph();
  const feeds = sparseFeeds();
  const expected = await tfjsGraphPredict(modelJson, readFile, feeds, outs, { dynamic: true });
  const model = await importTfjsGraphModel(modelJson, readFile, { outputs: outs });
  const ops = new Set(model.graph.nodes.map((n) => n.opType));
  for (const op of ['ScatterND', 'GatherND', 'NonZero', 'Gather', 'Split', 'Sin', 'Cos', 'Less', 'Not']) {
    assert.ok(ops.has(op), `an ONNX ${op} node (got ${[...ops].join(', ')})`);
  }
  const actual = await onnxPredict(model, feeds);
  outs.forEach((o, i) => assertClose(actual[o], expected[i]!, 1e-6, o));
});

test('a sparse token batch becomes dense input_ids + attention_mask, computing the same values', async () => {
  const { modelJson, readFile, outs } = sparseTextGraph();
  const expected = await tfjsGraphPredict(modelJson, readFile, sparseFeeds(), outs, { dynamic: true });
  const model = await importTfjsGraphModel(modelJson, readFile, {
    outputs: outs,
    sparseTokenInputs: { indices: 'indices', values: 'values', skipId: 0 },
  });
  assert.deepEqual(
    model.graph.inputs.map((i) => [i.name, i.dtype, i.shape]),
    [
      ['input_ids', 'int64', ['N', 'T']],
      ['attention_mask', 'int64', ['N', 'T']],
    ],
  );
  const s = await Session.create(model);
  try {
    const got = await s.run(denseFeeds());
    outs.forEach((o, i) =>
      assertClose(
        { data: Float32Array.from(got[o]!.data as Float32Array), shape: [...got[o]!.dims] },
        expected[i]!,
        1e-6,
        o,
      ),
    );
    // the skipped id is left out as padding is: sentence 1 with a 0 in the middle keeps the other positions
    const holed = await s.run(
      denseFeeds([
        [3, 0, 1, 9],
        [5, 2],
        [8, 8, 4],
      ]),
    );
    const sc = holed.scattered!.data as Float32Array;
    const row = (n: number, t: number) => Array.from(sc.subarray((n * T + t) * D, (n * T + t + 1) * D));
    assert.deepEqual(row(0, 1), new Array(D).fill(0), 'position (0, 1) holds id 0: no embedding');
    const full = (await s.run(denseFeeds())).scattered!.data as Float32Array;
    assert.deepEqual(row(0, 2), Array.from(full.subarray((0 * T + 2) * D, (0 * T + 3) * D)), 'later positions kept');
  } finally {
    await s.dispose();
  }
});

test('sparseTokenInputs naming something other than integer placeholders is refused', async () => {
  const { modelJson, readFile, outs } = sparseTextGraph();
  await assert.rejects(
    importTfjsGraphModel(modelJson, readFile, {
      outputs: outs,
      sparseTokenInputs: { indices: 'dense', values: 'values' },
    }),
    (e: unknown) => isGraftError(e) && e.code === 'BAD_MODEL' && e.fields.node === 'dense',
  );
});

test('a 1x1 convolution of a [N, T, 1, C] value (USE lite projections) is a MatMul in place, matching TF.js', async () => {
  const b = new GraphModelBuilder();
  const x = b.placeholder('x', [2, 5, 8]);
  const ex = b.op('ExpandDims', 'ex', [x, b.const('axis2', [2], [], 'int32')]);
  const conv = b.op('Conv2D', 'conv', [ex, b.random('k', [1, 1, 8, 6], 3)], {
    strides: attr.ints([1, 1, 1, 1]),
    padding: attr.s('VALID'),
    data_format: attr.s('NHWC'),
    dilations: attr.ints([1, 1, 1, 1]),
  });
  const biased = b.op('BiasAdd', 'biased', [conv, b.random('bias', [6], 4)], { data_format: attr.s('NHWC') });
  const y = b.op('Squeeze', 'y', [biased], { squeeze_dims: attr.ints([2]) });
  const { modelJson, readFile } = b.build();
  const feeds = { x: { data: Float32Array.from({ length: 80 }, (_, i) => Math.sin(i)), shape: [2, 5, 8] } };
  const [want] = await tfjsGraphPredict(modelJson, readFile, feeds, [y]);
  const model = await importTfjsGraphModel(modelJson, readFile, { outputs: [y] });
  const ops = model.graph.nodes.map((n) => n.opType);
  assert.ok(ops.includes('MatMul') && !ops.includes('Conv') && !ops.includes('Transpose'), ops.join(', '));
  const got = await onnxPredict(model, feeds);
  assertClose(got[y], want!, 1e-5, y);
});
