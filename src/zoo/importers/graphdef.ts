import { GraftError } from '../../errors.js';
import type { TfDType } from './emitter.js';
import type { HostArray } from './types.js';

/** A TF NodeDef as the TF.js converter writes it into model.json (proto3 JSON). */
export interface TfNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
  device?: string;
}

export interface TfShapeProto {
  dim?: { size?: string | number }[];
  unknownRank?: boolean;
}

export interface TfTensorProto {
  dtype?: string | number;
  tensorShape?: TfShapeProto;
  tensorContent?: string;
  floatVal?: number[];
  intVal?: number[];
  int64Val?: (string | number)[];
  boolVal?: boolean[];
}

export interface TfAttr {
  s?: string | number[];
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string | number;
  shape?: TfShapeProto;
  tensor?: TfTensorProto;
  list?: {
    s?: (string | number[])[];
    i?: (string | number)[];
    f?: number[];
    b?: boolean[];
    type?: string[];
    shape?: TfShapeProto[];
  };
}

export interface GraphDefJson {
  node: TfNodeDef[];
  library?: unknown;
  versions?: unknown;
}

/** Typed access to a node's attributes (proto3 JSON: strings are base64, int64s are decimal strings). */
export class NodeView {
  constructor(readonly def: TfNodeDef) {}

  get name(): string {
    return this.def.name;
  }

  get op(): string {
    return this.def.op;
  }

  has(key: string): boolean {
    return this.def.attr?.[key] !== undefined;
  }

  str(key: string, fallback: string): string {
    const a = this.def.attr?.[key];
    return a?.s !== undefined ? decodeBase64Text(a.s) : fallback;
  }

  strs(key: string): string[] {
    return (this.def.attr?.[key]?.list?.s ?? []).map(decodeBase64Text);
  }

  int(key: string, fallback: number): number {
    const a = this.def.attr?.[key];
    return a?.i !== undefined ? Number(a.i) : fallback;
  }

  ints(key: string, fallback: number[]): number[] {
    const list = this.def.attr?.[key]?.list;
    return list?.i ? list.i.map(Number) : fallback;
  }

  float(key: string, fallback: number): number {
    const a = this.def.attr?.[key];
    return a?.f !== undefined ? Number(a.f) : fallback;
  }

  bool(key: string, fallback: boolean): boolean {
    const a = this.def.attr?.[key];
    return a?.b !== undefined ? Boolean(a.b) : fallback;
  }

  /** a DataType: its name ('DT_FLOAT') or, as some converters write it, its enum number */
  type(key: string): string | number | undefined {
    return this.def.attr?.[key]?.type;
  }

  shape(key: string): number[] | undefined {
    const s = this.def.attr?.[key]?.shape;
    return s ? shapeFromProto(s) : undefined;
  }
}

export function shapeFromProto(s: TfShapeProto): number[] | undefined {
  if (s.unknownRank) return undefined;
  return (s.dim ?? []).map((d) => (d.size === undefined ? 0 : Number(d.size)));
}

/** A bytes attribute: base64 text (proto3 JSON), or a list of byte values as some converters write it. */
export function decodeBase64Text(s: string | readonly number[]): string {
  return new TextDecoder().decode(typeof s === 'string' ? base64Bytes(s) : Uint8Array.from(s, (b) => b & 0xff));
}

export function base64Bytes(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch (e) {
    throw new GraftError('BAD_MODEL', 'A string or tensor of the graph is not valid base64', {
      expected: 'base64 text (proto3 JSON bytes)',
      fix: 'the model graph is malformed; re-convert it',
      cause: e,
    });
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** DataType enum numbers, as some converters write them instead of the names. */
const DTYPE_CODES: Record<number, string> = { 1: 'DT_FLOAT', 3: 'DT_INT32', 9: 'DT_INT64', 10: 'DT_BOOL' };

export function tfDType(type: string | number | undefined, node: string): TfDType {
  const t = typeof type === 'number' || /^\d+$/.test(type ?? '') ? (DTYPE_CODES[Number(type)] ?? String(type)) : type;
  switch (t) {
    case undefined:
    case 'DT_FLOAT':
      return 'float32';
    case 'DT_INT32':
      return 'int32';
    case 'DT_INT64':
      return 'int64';
    case 'DT_BOOL':
      return 'bool';
    default:
      throw new GraftError('UNSUPPORTED_OP', `Tensor type ${t} is not supported`, {
        node,
        expected: 'DT_FLOAT, DT_INT32, DT_INT64 or DT_BOOL',
        found: t,
        fix: 'Graft imports float image models; re-convert the model without string or complex tensors',
      });
  }
}

/** A constant written inline in the GraphDef (TF.js normally moves them to the weights). */
export function inlineTensor(t: TfTensorProto, node: string): HostArray | undefined {
  const dtype = tfDType(t.dtype, node);
  const shape = t.tensorShape ? (shapeFromProto(t.tensorShape) ?? []) : [];
  const n = shape.reduce((a, b) => a * b, 1);
  const fill = <T extends Float32Array | Int32Array | Uint8Array>(
    out: T,
    vals: ArrayLike<number> | undefined,
  ): T | undefined => {
    if (!vals || vals.length === 0) return undefined;
    for (let i = 0; i < n; i++) out[i] = vals[Math.min(i, vals.length - 1)]!;
    return out;
  };
  if (t.tensorContent) {
    const bytes = base64Bytes(t.tensorContent);
    const aligned = new Uint8Array(bytes).buffer;
    if (dtype === 'float32') return { dtype, shape, data: new Float32Array(aligned, 0, n) };
    if (dtype === 'int32') return { dtype, shape, data: new Int32Array(aligned, 0, n) };
    if (dtype === 'bool') return { dtype, shape, data: new Uint8Array(aligned, 0, n) };
    return undefined;
  }
  if (dtype === 'float32') {
    const data = fill(new Float32Array(n), t.floatVal);
    return data ? { dtype, shape, data } : undefined;
  }
  if (dtype === 'int32' || dtype === 'int64') {
    const data = fill(new Int32Array(n), t.intVal ?? t.int64Val?.map(Number));
    return data ? { dtype: 'int32', shape, data } : undefined;
  }
  if (dtype === 'bool') {
    const data = fill(new Uint8Array(n), t.boolVal?.map(Number));
    return data ? { dtype, shape, data } : undefined;
  }
  return undefined;
}
