import { Graph, type Attr } from './graph.js';
import { Tensor } from './tensor.js';

/** What graph-building code may pass as an attribute; plain JS values are typed by `toAttr`. */
export type AttrInput = number | bigint | string | number[] | string[] | Tensor | Graph | Attr;

/**
 * ONNX attributes that are floats even when the value written is a whole number (alpha: 1 means 1.0).
 * Everything else whole-numbered is an int.
 */
const FLOAT_ATTRS = new Set([
  'alpha',
  'beta',
  'gamma',
  'epsilon',
  'momentum',
  'ratio',
  'lambd',
  'bias',
  'min',
  'max',
  'value_float',
  'value_floats',
  'spatial_scale',
  'extrapolation_value',
  'cubic_coeff_a',
  'scale',
  'scales',
  'threshold',
]);

/** Floats only on the random-number ops (Dropout's `seed`, for one, is an int). */
const RANDOM_FLOAT_ATTRS = new Set(['mean', 'high', 'low', 'seed', 'scale']);
const isRandomOp = (opType?: string) => opType !== undefined && /^(Random|Bernoulli)/.test(opType);
const isFloatAttr = (name: string, opType?: string) =>
  FLOAT_ATTRS.has(name) || (isRandomOp(opType) && RANDOM_FLOAT_ATTRS.has(name));

/** Types a plain JS attribute value; `opType` resolves names whose type differs between ops (e.g. `seed`). */
export function toAttr(name: string, v: AttrInput, opType?: string): Attr {
  if (typeof v === 'object' && v !== null && 'type' in v && 'value' in v && !(v instanceof Tensor)) return v as Attr;
  if (v instanceof Tensor) return { type: 'tensor', value: v };
  if (v instanceof Graph) return { type: 'graph', value: v };
  if (typeof v === 'bigint') return { type: 'int', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') {
    return isFloatAttr(name, opType) || !Number.isInteger(v) ? { type: 'float', value: v } : { type: 'int', value: v };
  }
  if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
  const nums = v as number[];
  return isFloatAttr(name, opType) || nums.some((x) => !Number.isInteger(x))
    ? { type: 'floats', value: [...nums] }
    : { type: 'ints', value: [...nums] };
}

export function toAttrs(
  record: Record<string, AttrInput | undefined> | undefined,
  opType?: string,
): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  if (!record) return out;
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = toAttr(k, v, opType);
  return out;
}

export const floatAttr = (value: number): Attr => ({ type: 'float', value });
export const intAttr = (value: number): Attr => ({ type: 'int', value });
