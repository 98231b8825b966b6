import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { checkGraph } from '../../onnx/check.js';
import { Model } from '../../onnx/graph.js';

export type PoolKind = 'mean' | 'max' | 'mean+max';
export const POOL_KINDS: readonly PoolKind[] = ['mean', 'max', 'mean+max'];

/** Graph input names of the bag-of-embeddings models. */
export const BAG_INPUTS = { ids: 'token_ids', mask: 'mask' } as const;
export const EMBEDDING_TABLE = 'embeddings';
export const BAG_FEATURES = 'text_features';

export interface BagModelSpec {
  /** rows x dims, row-major */
  table: Float32Array;
  dims: number;
  pool: PoolKind;
  /**
   * Element type of the token-id input. The exported model takes int64 ids; training graphs take float32
   * ids (the trainer feeds float32 batches) and cast them, exact for tables below 2^24 rows.
   */
  idsDtype?: 'int64' | 'float32';
  /** per-feature affine map applied to the pooled features, (x - shift) * scale: standardisation */
  standardize?: { shift: Float32Array; scale: Float32Array };
  /**
   * Write the max pool with ops that have gradient rules (needed when the table is trained); otherwise a
   * plain ReduceMax, the same values at about a tenth of the cost.
   */
  differentiableMax?: boolean;
  /** opset of the model (16+ so the table can be trained: Gather's gradient needs ScatterND add) */
  opset?: number;
}

export interface BagModel {
  model: Model;
  /** the pooled (and standardised) feature value, [N, featureDim] */
  features: string;
  featureDim: number;
}

/** Large enough that a padded position never wins a max over real word-vector components. */
const PAD_PENALTY = 1e4;

/**
 * A bag-of-embeddings text encoder as ONNX: token ids [N, T] and a mask [N, T] (1 for a token, 0 for
 * padding) -> embedding lookup (Gather) -> masked mean and/or max over T -> [N, D] or [N, 2D] features.
 *
 * Every op has a gradient rule, so the table can be fine-tuned: the max is written as the masked mean of
 * the positions equal to the maximum (the comparison is a constant to the backward pass), which gives the
 * same value and splits the gradient among ties - a word repeated in a text ties in every component.
 * A text with no known token pools to zeros.
 */
export function bagOfEmbeddingsModel(spec: BagModelSpec, name = 'bag_of_embeddings'): BagModel {
  const { table, dims } = spec;
  if (!Number.isInteger(dims) || dims < 1 || table.length % dims !== 0 || table.length === 0) {
    throw new GraftError('SHAPE_MISMATCH', 'The embedding table does not divide into rows', {
      expected: `a non-empty multiple of ${dims} values`,
      found: `${table.length} values`,
    });
  }
  const rows = table.length / dims;
  const b = new GraphBuilder(name);
  let ids = b.input(BAG_INPUTS.ids, spec.idsDtype ?? 'int64', ['N', 'T']);
  const mask = b.input(BAG_INPUTS.mask, 'float32', ['N', 'T']);
  if ((spec.idsDtype ?? 'int64') === 'float32') ids = b.op('Cast', [ids], { to: 7 }, { name: 'ids_int64' });
  const emb = b.initializer(EMBEDDING_TABLE, table, [rows, dims]);
  const x = b.op('Gather', [emb, ids], { axis: 0 }, { name: 'lookup' });
  const m3 = b.op('Unsqueeze', [mask, b.ints([2], 'mask_axes')], undefined, { name: 'mask3' });
  const tAxis = b.ints([1], 'token_axis');
  const one = b.scalar(1, 'one');
  const parts: string[] = [];
  if (spec.pool === 'mean' || spec.pool === 'mean+max') {
    const sum = b.op('ReduceSum', [b.op('Mul', [x, m3], undefined, { name: 'masked' }), tAxis], { keepdims: 0 });
    const count = b.op('ReduceSum', [mask, tAxis], { keepdims: 1 }, { name: 'token_count' });
    parts.push(
      b.op('Div', [sum, b.op('Clip', [count, one], undefined, { name: 'count_min1' })], undefined, {
        name: 'mean_pool',
      }),
    );
  }
  if (spec.pool === 'max' || spec.pool === 'mean+max') {
    const penalty = b.op('Mul', [b.op('Sub', [m3, one]), b.scalar(PAD_PENALTY, 'pad_penalty')]);
    const xm = b.op('Add', [x, penalty], undefined, { name: 'padded_low' });
    if (!spec.differentiableMax) {
      // an empty text's max is -PAD_PENALTY + something; multiplying by min(count, 1) makes it 0
      const top = b.op('ReduceMax', [xm], { axes: [1], keepdims: 0 }, { name: 'token_max' });
      const any = b.op('Clip', [b.op('ReduceSum', [mask, tAxis], { keepdims: 1 }), b.scalar(0, 'zero'), one]);
      parts.push(b.op('Mul', [top, any], undefined, { name: 'max_pool' }));
    } else {
      const top = b.op('ReduceMax', [xm], { axes: [1], keepdims: 1 }, { name: 'token_max' });
      const isTop = b.op('Mul', [b.op('Cast', [b.op('Equal', [xm, top])], { to: 1 }), m3], undefined, {
        name: 'is_max',
      });
      const topSum = b.op('ReduceSum', [b.op('Mul', [xm, isTop]), tAxis], { keepdims: 0 });
      const ties = b.op('ReduceSum', [isTop, tAxis], { keepdims: 0 }, { name: 'max_ties' });
      parts.push(b.op('Div', [topSum, b.op('Clip', [ties, one])], undefined, { name: 'max_pool' }));
    }
  }
  if (parts.length === 0) {
    throw new GraftError('CONFIG', 'Unknown pooling', {
      found: String(spec.pool),
      choices: POOL_KINDS,
      fix: "use 'mean', 'max' or 'mean+max'",
    });
  }
  const featureDim = dims * parts.length;
  let f = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis: 1 }, { name: 'pooled' });
  if (spec.standardize) {
    const { shift, scale } = spec.standardize;
    if (shift.length !== featureDim || scale.length !== featureDim) {
      throw new GraftError('SHAPE_MISMATCH', 'Standardisation constants do not match the features', {
        expected: `${featureDim} shifts and scales`,
        found: `${shift.length} and ${scale.length}`,
      });
    }
    f = b.op('Sub', [f, b.initializer('feature_shift', shift, [featureDim])]);
    f = b.op('Mul', [f, b.initializer('feature_scale', scale, [featureDim])]);
  }
  f = b.op('Identity', [f], undefined, { outputs: [BAG_FEATURES], name: 'features' });
  b.output(f, 'float32', ['N', featureDim]);
  b.graph.valueInfo.set(f, { name: f, dtype: 'float32', shape: ['N', featureDim] });
  checkGraph(b.graph);
  const model = new Model(b.graph, { opsetImports: [{ domain: '', version: spec.opset ?? 17 }] });
  return { model, features: f, featureDim };
}

/**
 * Pads token-id lists into a batch: ids [N, T] (row 0 where padded; the mask hides it) and a mask
 * [N, T], with T the longest list (at least 1, so an all-empty batch still has a shape).
 */
export function padTokenIds(
  lists: readonly Int32Array[],
  dtype: 'int64' | 'float32',
  length?: number,
): { ids: BigInt64Array | Float32Array; mask: Float32Array; dims: [number, number] } {
  const t = length ?? Math.max(1, ...lists.map((l) => l.length));
  const n = lists.length;
  const mask = new Float32Array(n * t);
  const ids = dtype === 'int64' ? new BigInt64Array(n * t) : new Float32Array(n * t);
  lists.forEach((l, i) => {
    const len = Math.min(l.length, t);
    for (let j = 0; j < len; j++) {
      if (dtype === 'int64') (ids as BigInt64Array)[i * t + j] = BigInt(l[j]!);
      else (ids as Float32Array)[i * t + j] = l[j]!;
      mask[i * t + j] = 1;
    }
  });
  return { ids, mask, dims: [n, t] };
}
