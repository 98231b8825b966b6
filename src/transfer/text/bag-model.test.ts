import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrainingGraph } from '../../autodiff/build.js';
import { gradCheckTraining } from '../../autodiff/gradcheck.js';
import { ortRunner } from '../../autodiff/test-utils/ort-runner.js';
import { Session } from '../../runtime/session.js';
import { attachHead } from '../../surgery/head.js';
import { mulberry32 } from '../../util/rng.js';
import { BAG_INPUTS, EMBEDDING_TABLE, type PoolKind, bagOfEmbeddingsModel, padTokenIds } from './bag-model.js';
import { applyStandardization, standardization } from './features.js';

const DIMS = 4;
const ROWS = 7;

function table(seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: ROWS * DIMS }, () => Math.round((r() * 2 - 1) * 100) / 100);
}

/** Plain-JS pooling of one token list: the reference the graph is checked against. */
function reference(t: Float32Array, ids: readonly number[], pool: PoolKind): number[] {
  const mean = new Array<number>(DIMS).fill(0);
  const max = new Array<number>(DIMS).fill(ids.length ? -Infinity : 0);
  for (const id of ids) {
    for (let j = 0; j < DIMS; j++) {
      mean[j]! += t[id * DIMS + j]! / ids.length;
      max[j] = Math.max(max[j]!, t[id * DIMS + j]!);
    }
  }
  return pool === 'mean' ? mean : pool === 'max' ? max : [...mean, ...max];
}

const LISTS = [[1, 2, 2, 5], [6], [], [3, 3, 3, 0, 4, 1]].map((l) => Int32Array.from(l));

for (const pool of ['mean', 'max', 'mean+max'] as const) {
  for (const differentiableMax of [false, true]) {
    test(`bag of embeddings (${pool}${differentiableMax ? ', differentiable max' : ''}) pools like the reference; padding and empty texts are ignored`, async () => {
      const t = table(3);
      const { model, features, featureDim } = bagOfEmbeddingsModel({ table: t, dims: DIMS, pool, differentiableMax });
      assert.equal(featureDim, pool === 'mean+max' ? 2 * DIMS : DIMS);
      const s = await Session.create(model);
      try {
        // padded to 8, longer than any list: padding must not change the result
        const p = padTokenIds(LISTS, 'int64', 8);
        const out = await s.run({
          [BAG_INPUTS.ids]: { dtype: 'int64', dims: p.dims, data: p.ids },
          [BAG_INPUTS.mask]: { dtype: 'float32', dims: p.dims, data: p.mask },
        });
        const got = out[features]!.data as Float32Array;
        LISTS.forEach((l, i) => {
          const want = reference(t, [...l], pool);
          want.forEach((w, j) =>
            assert.ok(
              Math.abs(got[i * featureDim + j]! - w) < 1e-5,
              `text ${i} feature ${j}: ${got[i * featureDim + j]} vs ${w}`,
            ),
          );
        });
      } finally {
        await s.dispose();
      }
    });
  }
}

test('standardization: the JS map equals the graph Sub/Mul bit for bit', async () => {
  const t = table(5);
  const raw = bagOfEmbeddingsModel({ table: t, dims: DIMS, pool: 'mean+max' });
  const s1 = await Session.create(raw.model);
  const p = padTokenIds(LISTS, 'int64');
  const feeds = {
    [BAG_INPUTS.ids]: { dtype: 'int64' as const, dims: p.dims, data: p.ids },
    [BAG_INPUTS.mask]: { dtype: 'float32' as const, dims: p.dims, data: p.mask },
  };
  const f = (await s1.run(feeds))[raw.features]!.data as Float32Array;
  await s1.dispose();
  const st = standardization(f, raw.featureDim);
  const js = applyStandardization(f, raw.featureDim, st);
  const std = bagOfEmbeddingsModel({ table: t, dims: DIMS, pool: 'mean+max', standardize: st });
  const s2 = await Session.create(std.model);
  const g = (await s2.run(feeds))[std.features]!.data as Float32Array;
  await s2.dispose();
  assert.deepEqual([...g], [...js]);
  // the training rows come out with mean 0 and (non-constant columns) std 1
  const n = LISTS.length;
  for (let j = 0; j < raw.featureDim; j++) {
    const col = Array.from({ length: n }, (_, i) => js[i * raw.featureDim + j]!);
    const m = col.reduce((a, b) => a + b, 0) / n;
    assert.ok(Math.abs(m) < 1e-5);
  }
});

test('fine-tuning graph: float ids, trainable table and head; gradients match central differences', async () => {
  const t = table(9);
  for (const pool of ['mean', 'mean+max'] as const) {
    const bag = bagOfEmbeddingsModel({ table: t, dims: DIMS, pool, idsDtype: 'float32', differentiableMax: true });
    const head = attachHead(bag.model, bag.features, { numClasses: 3, hidden: [5], seed: 2 });
    const tg = buildTrainingGraph(head.model, {
      logits: head.logits,
      loss: { kind: 'softmax-cross-entropy' },
      trainable: [EMBEDDING_TABLE, ...head.headParams],
    });
    // distinct values per text so the max has no ties the finite difference would step across
    const lists = [
      [1, 2, 5],
      [6, 0],
      [3, 4, 1, 2],
    ].map((l) => Int32Array.from(l));
    const p = padTokenIds(lists, 'float32');
    const params: Record<string, { dtype: 'float32'; dims: number[]; data: Float32Array }> = {};
    for (const name of tg.params) {
      const init = head.model.graph.initializers.get(name)!;
      params[name] = {
        dtype: 'float32',
        dims: [...init.dims],
        data: Float32Array.from(init.toArray() as Float32Array),
      };
    }
    const report = await gradCheckTraining(
      tg,
      {
        [BAG_INPUTS.ids]: { dtype: 'float32', dims: p.dims, data: p.ids },
        [BAG_INPUTS.mask]: { dtype: 'float32', dims: p.dims, data: p.mask },
        [tg.labels.name]: { dtype: 'int64', dims: [3], data: BigInt64Array.of(0n, 2n, 1n) },
      },
      params,
      ortRunner,
      { tol: 2e-2, step: 1e-2, directions: 2, seed: 4 },
    );
    assert.ok(report.ok, `${pool}: ${report.describe()}`);
    // rows no text uses get exactly zero gradient (Gather's scatter-add touches only used rows)
    const s = await Session.create(tg.model);
    const out = await s.run({
      [BAG_INPUTS.ids]: { dtype: 'float32', dims: p.dims, data: p.ids },
      [BAG_INPUTS.mask]: { dtype: 'float32', dims: p.dims, data: p.mask },
      [tg.labels.name]: { dtype: 'int64', dims: [3], data: BigInt64Array.of(0n, 2n, 1n) },
      ...params,
    });
    await s.dispose();
    const grad = out[tg.gradOf[EMBEDDING_TABLE]!]!.data as Float32Array;
    const usedRows = new Set(lists.flatMap((l) => [...l]));
    for (let r = 0; r < ROWS; r++) {
      const norm = Math.hypot(...grad.subarray(r * DIMS, (r + 1) * DIMS));
      if (usedRows.has(r)) assert.ok(norm > 0, `row ${r} is used and must get a gradient`);
      else assert.equal(norm, 0, `row ${r} is unused`);
    }
  }
});
