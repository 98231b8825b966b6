import protoPkg from 'onnx-proto';
import type { onnx as ProtoTypes } from 'onnx-proto';

const { onnx } = protoPkg;

/**
 * Differences between two ModelProto files that change what the model means, as readable paths. It reads
 * both with protobufjs alone (none of Graft's codec), so it shows what a decode -> encode round trip lost.
 * Ignored, as ONNX gives them the same meaning: a field written with its default value ('' or 0) versus
 * left out (dim_value excepted: 0 is a size there), the order of attributes and of external-data entries,
 * and how a tensor stores its values (raw_data or the typed fields: float_data, int64_data, ...), which
 * are compared value by value.
 */
export function protoDiff(a: Uint8Array, b: Uint8Array): string[] {
  const out: string[] = [];
  diff(normalizedModel(a), normalizedModel(b), 'model', out);
  return out;
}

function normalizedModel(bytes: Uint8Array): unknown {
  const m = onnx.ModelProto.decode(bytes);
  return normalize(m);
}

/** protobufjs message objects -> plain JSON-able values, with tensors replaced by their values. */
function normalize(v: unknown): unknown {
  if (v instanceof onnx.TensorProto) return normalizedTensor(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(normalize);
  if (isLong(v)) return longText(v);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (isDefault(k, x)) continue;
      out[k] = normalize(x);
    }
    if (v instanceof onnx.NodeProto && Array.isArray(out.attribute)) {
      out.attribute = (out.attribute as { name?: string }[]).sort((p, q) => cmp(p.name ?? '', q.name ?? ''));
    }
    return out;
  }
  return v;
}

function isDefault(key: string, x: unknown): boolean {
  if (x === null || x === undefined || x === '') return true;
  if (Array.isArray(x) && x.length === 0) return true;
  if (key === 'dimValue') return false;
  if (x === 0) return true;
  return isLong(x) && longText(x) === '0';
}

function normalizedTensor(t: ProtoTypes.TensorProto): unknown {
  const ext = [...(t.externalData ?? [])]
    .map((e) => [e.key ?? '', e.value ?? ''] as const)
    .filter(([k, v]) => !(k === 'offset' && v === '0'))
    .sort(([p], [q]) => cmp(p, q));
  const out: Record<string, unknown> = {
    name: t.name || undefined,
    dataType: t.dataType,
    dims: (t.dims ?? []).map((d) => (isLong(d) ? longText(d) : String(d))),
    docString: t.docString || undefined,
    dataLocation: t.dataLocation || undefined,
    externalData: ext.length ? ext : undefined,
    segment: t.segment ? normalize(t.segment) : undefined,
  };
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) out.values = tensorValues(t);
  return out;
}

/** A tensor's values as text (bit-exact for floats: NaN payloads aside, -0 stays -0). */
function tensorValues(t: ProtoTypes.TensorProto): string[] {
  const T = onnx.TensorProto.DataType;
  const num = (x: number | bigint) => (Object.is(x, -0) ? '-0' : String(x));
  if (t.dataType === T.STRING) return t.stringData.map((s) => Buffer.from(s).toString('hex'));
  const raw = t.rawData;
  if (raw && raw.byteLength > 0) {
    const buf = new Uint8Array(raw).buffer; // aligned copy
    const view: ArrayLike<number | bigint> = (() => {
      switch (t.dataType) {
        case T.FLOAT:
          return new Float32Array(buf);
        case T.DOUBLE:
          return new Float64Array(buf);
        case T.INT8:
          return new Int8Array(buf);
        case T.INT16:
          return new Int16Array(buf);
        case T.INT32:
          return new Int32Array(buf);
        case T.INT64:
          return new BigInt64Array(buf);
        case T.UINT16:
        case T.FLOAT16:
        case T.BFLOAT16:
          return new Uint16Array(buf);
        case T.UINT32:
          return new Uint32Array(buf);
        case T.UINT64:
          return new BigUint64Array(buf);
        default:
          return new Uint8Array(buf);
      }
    })();
    return Array.from(view, num);
  }
  switch (t.dataType) {
    case T.FLOAT:
      return t.floatData.map((x) => num(Math.fround(x)));
    case T.DOUBLE:
      return t.doubleData.map(num);
    case T.INT64:
      return t.int64Data.map((x) => (isLong(x) ? longText(x) : String(x)));
    case T.UINT32:
    case T.UINT64:
      return t.uint64Data.map((x) => (isLong(x) ? BigInt.asUintN(64, BigInt(longText(x))).toString() : String(x)));
    case T.INT8:
      return t.int32Data.map((x) => String((x << 24) >> 24));
    case T.INT16:
      return t.int32Data.map((x) => String((x << 16) >> 16));
    case T.UINT16:
    case T.FLOAT16:
    case T.BFLOAT16:
      return t.int32Data.map((x) => String(x & 0xffff));
    case T.UINT8:
    case T.BOOL:
      return t.int32Data.map((x) => String(x & 0xff));
    default:
      return t.int32Data.map(String);
  }
}

type LongLike = { low: number; high: number; unsigned: boolean };
function isLong(v: unknown): v is LongLike {
  return !!v && typeof v === 'object' && 'low' in v && 'high' in v && 'unsigned' in v;
}
function longText(v: LongLike): string {
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return (v.unsigned ? big : BigInt.asIntN(64, big)).toString();
}

function cmp(p: string, q: string): number {
  return p < q ? -1 : p > q ? 1 : 0;
}

function diff(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length > 20) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} entries != ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (x === undefined && y !== undefined) out.push(`${path}.${k}: added`);
      else if (x !== undefined && y === undefined) out.push(`${path}.${k}: lost`);
      else diff(x, y, `${path}.${k}`, out);
    }
    return;
  }
  if (a !== b) out.push(`${path}: ${short(a)} != ${short(b)}`);
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
