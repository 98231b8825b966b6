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
  // RandomNormal/RandomUniform(Like)
  'mean',
  'high',
  'low',
  'seed',
]);

export function toAttr(name: string, v: AttrInput): Attr {
  if (typeof v === 'object' && v !== null && 'type' in v && 'value' in v && !(v instanceof Tensor)) return v as Attr;
  if (v instanceof Tensor) return { type: 'tensor', value: v };
  if (v instanceof Graph) return { type: 'graph', value: v };
  if (typeof v === 'bigint') return { type: 'int', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') {
    return FLOAT_ATTRS.has(name) || !Number.isInteger(v) ? { type: 'float', value: v } : { type: 'int', value: v };
  }
  if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
  const nums = v as number[];
  return FLOAT_ATTRS.has(name) || nums.some((x) => !Number.isInteger(x))
    ? { type: 'floats', value: [...nums] }
    : { type: 'ints', value: [...nums] };
}

export function toAttrs(record: Record<string, AttrInput | undefined> | undefined): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  if (!record) return out;
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = toAttr(k, v);
  return out;
}

export const floatAttr = (value: number): Attr => ({ type: 'float', value });
export const intAttr = (value: number): Attr => ({ type: 'int', value });
