import protoPkg from 'onnx-proto';
import type { onnx as ProtoTypes } from 'onnx-proto';
import { GraftError } from '../errors.js';
import { dtypeCode, dtypeFromCode, dtypeSize, type DType } from './dtype.js';
import {
  Graph,
  Model,
  Node,
  type Attr,
  type Dim,
  type ModelFunction,
  type SparseInitializer,
  type TensorType,
  type ValueInfo,
  type ValueType,
} from './graph.js';
import { Tensor, checkTensorDims, externalLengthError, type ExternalDataLoader, type ExternalRef } from './tensor.js';

// onnx-proto ships protobufjs static code generated from onnx.proto (CommonJS).
const { onnx } = protoPkg;
type P = typeof onnx;
type LongLike = { low: number; high: number; unsigned: boolean; toString(): string };
type Int64 = number | LongLike;

export interface DecodeOptions {
  /** reads external data files named by tensors (paths relative to the model file) */
  externalData?: ExternalDataLoader;
  /** file name used in error messages */
  file?: string;
}

/** Decodes ModelProto bytes into the Graph IR. Initializer bytes are views into `bytes`, not copies. */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  let proto: ReturnType<P['ModelProto']['decode']>;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new GraftError('BAD_MODEL', 'Not a valid ONNX model (protobuf decoding failed)', {
      file: opts.file,
      expected: 'an ONNX ModelProto (.onnx file)',
      found: `${bytes.byteLength} bytes that do not decode: ${(e as Error).message}`,
      fix: 'check the file is an .onnx model and was copied completely',
      cause: e,
    });
  }
  if (!proto.graph) {
    throw new GraftError('BAD_MODEL', 'The ONNX model has no graph', { file: opts.file, fix: 're-export the model' });
  }
  const graph = decodeGraph(proto.graph, opts);
  const model = new Model(graph, {
    irVersion: int(proto.irVersion),
    opsetImports: proto.opsetImport.map((o) => ({ domain: o.domain ?? '', version: int(o.version ?? 1) })),
    producerName: proto.producerName ?? '',
    producerVersion: proto.producerVersion ?? '',
    domain: proto.domain ?? '',
    modelVersion: int(proto.modelVersion),
    docString: proto.docString ?? '',
    metadata: new Map(proto.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
  });
  const functions = proto.functions.map((f): ModelFunction => ({
    domain: f.domain ?? '',
    name: f.name ?? '',
    bytes: onnx.FunctionProto.encode(f).finish(),
  }));
  const trainingInfo = proto.trainingInfo.map((t) => onnx.TrainingInfoProto.encode(t).finish());
  if (functions.length || trainingInfo.length) model.opaque = { functions, trainingInfo };
  return model;
}

/** Encodes a Model to ModelProto bytes. Tensor data is written inline as raw_data unless `keepExternal`. */
export function encodeModel(model: Model, opts: { keepExternal?: boolean } = {}): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) =>
      onnx.OperatorSetIdProto.create({ domain: o.domain, version: o.version }),
    ),
    producerName: set(model.producerName),
    producerVersion: set(model.producerVersion),
    domain: set(model.domain),
    modelVersion: set(model.modelVersion),
    docString: set(model.docString),
    graph: encodeGraph(model.graph, opts),
    metadataProps: [...model.metadata].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    functions: (model.opaque?.functions ?? []).map((f) => onnx.FunctionProto.decode(f.bytes)),
    trainingInfo: (model.opaque?.trainingInfo ?? []).map((b) => onnx.TrainingInfoProto.decode(b)),
  });
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * Empty strings and zeros are left out rather than written as present-but-default fields, as the
 * reference (C++) serialiser does for exporters that never set them: files stay small and a decoded
 * PyTorch export re-encodes to the very same bytes.
 */
function set<T extends string | number>(v: T | undefined): T | undefined {
  return v === '' || v === 0 ? undefined : v;
}

function int(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const big = int64(v);
  return typeof big === 'number' ? big : Number(big);
}

/** int64 as a number when it is exactly representable, else as a bigint. */
function int64(v: Int64): number | bigint {
  if (typeof v === 'number') return v;
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  const signed = v.unsigned ? big : BigInt.asIntN(64, big);
  return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(signed)
    : signed;
}

/**
 * How deep subgraphs (If/Loop/Scan bodies) and types (sequences of sequences...) may nest. Real models nest
 * a few levels; a small hostile file can nest thousands, past what the recursive code after decoding
 * (checks, shape inference, encoding) can take.
 */
export const MAX_NESTING = 64;

/** Decoding state below DecodeOptions: how many subgraphs enclose the graph being decoded. */
type DecodeState = DecodeOptions & { depth?: number };

function tooDeep(what: string, opts: DecodeOptions, value?: string): GraftError {
  return new GraftError('BAD_MODEL', `The model nests ${what} more than ${MAX_NESTING} deep`, {
    file: opts.file,
    value,
    expected: `at most ${MAX_NESTING} levels`,
    fix: 'the file is damaged or hostile; re-export the model',
  });
}

function decodeGraph(g: ProtoTypes.IGraphProto, opts: DecodeState): Graph {
  if ((opts.depth ?? 0) > MAX_NESTING) throw tooDeep('subgraphs', opts);
  const info = (v: ProtoTypes.IValueInfoProto) => decodeValueInfo(v, opts);
  const graph = new Graph({
    name: g.name ?? '',
    docString: g.docString || undefined,
    inputs: (g.input ?? []).map(info),
    outputs: (g.output ?? []).map(info),
    valueInfo: new Map((g.valueInfo ?? []).map((v) => [v.name ?? '', info(v)])),
    initializers: new Map((g.initializer ?? []).map((t) => [t.name ?? '', decodeTensor(t, opts)])),
  });
  for (const n of g.node ?? []) {
    const attrs: Record<string, Attr> = {};
    for (const a of n.attribute ?? []) {
      // defineProperty: an attribute named '__proto__' must become a property, not the object's prototype
      Object.defineProperty(attrs, a.name ?? '', {
        value: decodeAttr(a, opts, n.name ?? n.opType ?? ''),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    graph.nodes.push(
      new Node({
        name: n.name ?? '',
        opType: n.opType ?? '',
        domain: n.domain ?? '',
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        attrs,
        docString: n.docString || undefined,
      }),
    );
  }
  const sparse = (g.sparseInitializer ?? []).map((s): SparseInitializer => ({
    name: checkSparse(s, opts),
    bytes: onnx.SparseTensorProto.encode(s).finish(),
  }));
  const quant = (g.quantizationAnnotation ?? []).map((q) => onnx.TensorAnnotation.encode(q).finish());
  if (sparse.length || quant.length) graph.opaque = { sparseInitializers: sparse, quantizationAnnotation: quant };
  return graph;
}

/**
 * A sparse tensor stays encoded, but onnxruntime makes it dense: its dense dims are checked as a tensor's
 * are (a few bytes may declare 1e5 x 1e5 x 1e5), and its values and indices decoded to check them too.
 * Returns its name.
 */
function checkSparse(s: ProtoTypes.ISparseTensorProto, opts: DecodeOptions): string {
  const name = s.values?.name ?? '';
  if (!s.values) {
    throw new GraftError('BAD_MODEL', 'A sparse tensor has no values', {
      file: opts.file,
      fix: 're-export the model; the file is damaged',
    });
  }
  const values = decodeTensor(s.values, opts);
  if (s.indices) decodeTensor(s.indices, opts);
  checkTensorDims(
    name,
    values.dtype,
    (s.dims ?? []).map((d) => int(d)),
    opts.file,
  );
  return name;
}

function encodeGraph(graph: Graph, opts: { keepExternal?: boolean }): ProtoTypes.IGraphProto {
  return onnx.GraphProto.create({
    name: set(graph.name),
    docString: set(graph.docString),
    input: graph.inputs.map(encodeValueInfo),
    output: graph.outputs.map(encodeValueInfo),
    valueInfo: [...graph.valueInfo.values()].map(encodeValueInfo),
    initializer: [...graph.initializers.values()].map((t) => encodeTensor(t, opts)),
    node: graph.nodes.map((n) =>
      onnx.NodeProto.create({
        name: set(n.name),
        opType: n.opType,
        domain: set(n.domain),
        input: n.inputs,
        output: n.outputs,
        docString: set(n.docString),
        attribute: Object.entries(n.attrs).map(([name, a]) => encodeAttr(name, a, opts)),
      }),
    ),
    sparseInitializer: (graph.opaque?.sparseInitializers ?? []).map((s) => onnx.SparseTensorProto.decode(s.bytes)),
    quantizationAnnotation: (graph.opaque?.quantizationAnnotation ?? []).map((b) => onnx.TensorAnnotation.decode(b)),
  });
}

function decodeValueInfo(v: ProtoTypes.IValueInfoProto, opts: DecodeOptions): ValueInfo {
  const info: ValueInfo = { name: v.name ?? '' };
  if (v.docString) info.docString = v.docString;
  const type = v.type ? decodeType(v.type, info.name, opts) : undefined;
  if (type?.kind === 'tensor') {
    const { kind: _, ...tensor } = type;
    Object.assign(info, tensor);
  } else if (type) info.type = type;
  return info;
}

/** TypeProto -> ValueType; undefined when no type case is set. Element types are named in errors by `value`. */
function decodeType(t: ProtoTypes.ITypeProto, value: string, opts: DecodeOptions, depth = 0): ValueType | undefined {
  if (depth > MAX_NESTING) throw tooDeep('types', opts, value);
  const denotation = t.denotation ? { denotation: t.denotation } : {};
  // `value` is protobufjs's virtual oneof field: which of the type cases is set
  switch ((t as { value?: string }).value) {
    case 'tensorType':
      return { kind: 'tensor', ...tensorType(t.tensorType!, value, opts), ...denotation };
    case 'sparseTensorType':
      return { kind: 'sparseTensor', ...tensorType(t.sparseTensorType!, value, opts), ...denotation };
    case 'sequenceType': {
      const elem = t.sequenceType!.elemType ? decodeType(t.sequenceType!.elemType, value, opts, depth + 1) : undefined;
      return { kind: 'sequence', ...(elem && { elem }), ...denotation };
    }
    case 'optionalType': {
      const elem = t.optionalType!.elemType ? decodeType(t.optionalType!.elemType, value, opts, depth + 1) : undefined;
      return { kind: 'optional', ...(elem && { elem }), ...denotation };
    }
    case 'mapType': {
      const m = t.mapType!;
      const valueType = m.valueType ? decodeType(m.valueType, value, opts, depth + 1) : undefined;
      return {
        kind: 'map',
        key: elemType(m.keyType ?? 0, value, opts),
        ...(valueType && { value: valueType }),
        ...denotation,
      };
    }
    default:
      return undefined;
  }
}

function tensorType(
  tt: ProtoTypes.TypeProto.ITensor | ProtoTypes.TypeProto.ISparseTensor,
  value: string,
  opts: DecodeOptions,
): TensorType {
  const out: TensorType = {};
  if (tt.elemType) out.dtype = elemType(tt.elemType, value, opts);
  if (tt.shape) {
    const dims = tt.shape.dim ?? [];
    out.shape = dims.map((d): Dim => {
      // `value` is protobufjs's virtual oneof field: which of dimValue/dimParam is set
      const which = (d as { value?: string }).value;
      if (which === 'dimValue') return int(d.dimValue);
      if (which === 'dimParam') return d.dimParam ?? undefined;
      return undefined;
    });
    if (dims.some((d) => d.denotation)) out.dimDenotations = dims.map((d) => d.denotation || undefined);
  }
  return out;
}

/** An element type code of a value's type, as a DType; an unsupported code names the value. */
function elemType(code: number, value: string, opts: DecodeOptions): DType {
  try {
    return dtypeFromCode(code);
  } catch (e) {
    if (!(e instanceof GraftError)) throw e;
    throw new GraftError('BAD_MODEL', `Value '${value}' has an element type Graft does not support`, {
      ...e.fields,
      file: opts.file,
      value,
    });
  }
}

function encodeValueInfo(v: ValueInfo): ProtoTypes.IValueInfoProto {
  const vi = onnx.ValueInfoProto.create({ name: v.name, docString: set(v.docString) });
  if (v.type) vi.type = encodeType(v.type);
  else if (v.dtype !== undefined || v.shape !== undefined || v.denotation || v.dimDenotations) {
    const { dtype, shape, denotation, dimDenotations } = v;
    vi.type = encodeType({ kind: 'tensor', dtype, shape, denotation, dimDenotations });
  }
  return vi;
}

function encodeType(t: ValueType): ProtoTypes.ITypeProto {
  const proto = onnx.TypeProto.create({ denotation: set(t.denotation) });
  switch (t.kind) {
    case 'tensor':
      proto.tensorType = onnx.TypeProto.Tensor.create(encodeTensorType(t));
      break;
    case 'sparseTensor':
      proto.sparseTensorType = onnx.TypeProto.SparseTensor.create(encodeTensorType(t));
      break;
    case 'sequence':
      proto.sequenceType = onnx.TypeProto.Sequence.create({ elemType: t.elem && encodeType(t.elem) });
      break;
    case 'optional':
      proto.optionalType = onnx.TypeProto.Optional.create({ elemType: t.elem && encodeType(t.elem) });
      break;
    case 'map':
      proto.mapType = onnx.TypeProto.Map.create({
        keyType: dtypeCode(t.key),
        valueType: t.value && encodeType(t.value),
      });
      break;
  }
  return proto;
}

function encodeTensorType(t: TensorType): ProtoTypes.TypeProto.ITensor {
  return {
    elemType: t.dtype ? dtypeCode(t.dtype) : 0,
    shape: t.shape
      ? onnx.TensorShapeProto.create({
          dim: t.shape.map((d, i) => {
            const dim = onnx.TensorShapeProto.Dimension.create({ denotation: set(t.dimDenotations?.[i]) });
            if (typeof d === 'number') dim.dimValue = d;
            else if (typeof d === 'string') dim.dimParam = d;
            return dim;
          }),
        })
      : undefined,
  };
}

export function decodeTensor(t: ProtoTypes.ITensorProto, opts: DecodeOptions = {}): Tensor {
  const name = t.name ?? '';
  const dtype = elemType(t.dataType ?? 0, name, opts);
  // Declared dims are checked before anything is sized from them (a file may declare 1e5 x 1e5 x 1e5).
  const dims = (t.dims ?? []).map((d) => int(d));
  const size = checkTensorDims(name, dtype, dims, opts.file);
  const docString = t.docString || undefined;
  const bad = (what: string, expected: string, found: string) =>
    new GraftError('BAD_MODEL', `Tensor '${name}' ${what}`, {
      file: opts.file,
      value: name,
      expected,
      found,
      fix: 're-export the model; the file is truncated or damaged',
    });
  let tensor: Tensor;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) {
      throw new GraftError('BAD_MODEL', `Tensor '${name}' says its data is external but names no file`, {
        file: opts.file,
        value: name,
        fix: 're-export the model with its external data files',
      });
    }
    const extra = Object.fromEntries([...kv].filter(([k]) => !['location', 'offset', 'length'].includes(k)));
    const ext: ExternalRef = {
      location,
      offset: byteCount(kv.get('offset') ?? '0', 'offset', name, opts),
      length: kv.has('length') ? byteCount(kv.get('length')!, 'length', name, opts) : undefined,
      extra: Object.keys(extra).length ? extra : undefined,
    };
    if (dtype === 'string') throw bad('holds strings in an external file', 'string data inside the model', location);
    const want = size * dtypeSize(dtype);
    if (ext.length !== undefined && ext.length !== want) throw externalLengthError(name, ext, want, opts.file);
    tensor = new Tensor(name, dtype, dims, { external: ext, loader: opts.externalData });
  } else if (dtype === 'string') {
    const strings = t.stringData ?? [];
    if (strings.length !== size) {
      throw bad(
        'holds the wrong number of strings',
        `${size} strings (string [${dims.join(', ')}])`,
        `${strings.length}`,
      );
    }
    tensor = new Tensor(name, dtype, dims, { strings: [...strings] });
  } else if (t.rawData && t.rawData.byteLength > 0) {
    const want = size * dtypeSize(dtype);
    if (t.rawData.byteLength !== want) {
      throw bad(
        'holds the wrong number of bytes',
        `${want} bytes (${dtype} [${dims.join(', ')}])`,
        `${t.rawData.byteLength} bytes`,
      );
    }
    tensor = new Tensor(name, dtype, dims, { bytes: t.rawData });
  } else {
    tensor = new Tensor(name, dtype, dims, { bytes: typedFieldsToBytes(t, dtype, size, opts) });
  }
  tensor.docString = docString;
  return tensor;
}

/** An external-data offset or length: a decimal count of bytes, at most 2^53. */
function byteCount(text: string, key: string, name: string, opts: DecodeOptions): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new GraftError('BAD_MODEL', `Tensor '${name}' has an invalid external data ${key}`, {
      file: opts.file,
      value: name,
      expected: `a ${key} in bytes (a whole number written in decimal)`,
      found: text.length > 24 ? `${text.length} characters` : 'not a whole number of bytes',
      fix: 're-export the model with its external data',
    });
  }
  return n;
}

/**
 * Converts the typed repeated fields (float_data, int32_data, ...) to little-endian raw bytes. The count is
 * checked before the output is allocated: the fields hold what the file holds, the dims only declare.
 */
function typedFieldsToBytes(t: ProtoTypes.ITensorProto, dtype: DType, size: number, opts: DecodeOptions): Uint8Array {
  const src: ArrayLike<unknown> = typedField(t, dtype);
  if (src.length !== size) {
    throw new GraftError(
      'BAD_MODEL',
      `Tensor '${t.name ?? ''}' holds ${src.length} values but its shape needs ${size}`,
      {
        file: opts.file,
        value: t.name ?? '',
        expected: `${size} values (${dtype} [${(t.dims ?? []).map((d) => int(d)).join(', ')}])`,
        found: `${src.length} values`,
        fix: 're-export the model; the file is truncated or damaged',
      },
    );
  }
  const out = new Uint8Array(size * dtypeSize(dtype));
  const view = new DataView(out.buffer);
  const fill = <T>(values: ArrayLike<T>, put: (i: number, v: T) => void) => {
    for (let i = 0; i < values.length; i++) put(i, values[i]!);
  };
  switch (dtype) {
    case 'float32':
      fill(t.floatData ?? [], (i, v) => view.setFloat32(i * 4, v, true));
      break;
    case 'float64':
      fill(t.doubleData ?? [], (i, v) => view.setFloat64(i * 8, v, true));
      break;
    case 'int32':
      fill(t.int32Data ?? [], (i, v) => view.setInt32(i * 4, v, true));
      break;
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      fill(t.int32Data ?? [], (i, v) => view.setUint16(i * 2, v & 0xffff, true));
      break;
    case 'int8':
    case 'uint8':
    case 'bool':
      fill(t.int32Data ?? [], (i, v) => view.setUint8(i, v & 0xff));
      break;
    case 'int64':
      fill(t.int64Data ?? [], (i, v) => view.setBigInt64(i * 8, BigInt(int64(v as Int64)), true));
      break;
    case 'uint32':
      fill(t.uint64Data ?? [], (i, v) => view.setUint32(i * 4, Number(int64(v as Int64)), true));
      break;
    case 'uint64':
      fill(t.uint64Data ?? [], (i, v) => view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(int64(v as Int64))), true));
      break;
    default:
      break;
  }
  return out;
}

/** The repeated field that holds a dtype's values when raw_data is not used (ONNX's TensorProto rules). */
function typedField(t: ProtoTypes.ITensorProto, dtype: DType): ArrayLike<unknown> {
  switch (dtype) {
    case 'float32':
      return t.floatData ?? [];
    case 'float64':
      return t.doubleData ?? [];
    case 'int64':
      return t.int64Data ?? [];
    case 'uint32':
    case 'uint64':
      return t.uint64Data ?? [];
    case 'string':
      return t.stringData ?? [];
    default:
      return t.int32Data ?? [];
  }
}

export function encodeTensor(t: Tensor, opts: { keepExternal?: boolean } = {}): ProtoTypes.ITensorProto {
  const proto = onnx.TensorProto.create({
    name: set(t.name),
    dataType: dtypeCode(t.dtype),
    dims: [...t.dims],
    docString: set(t.docString),
  });
  if (t.external && opts.keepExternal && !t.isLoaded) {
    proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    const kv: Record<string, string> = { location: t.external.location, offset: String(t.external.offset) };
    if (t.external.length !== undefined) kv.length = String(t.external.length);
    Object.assign(kv, t.external.extra ?? {});
    proto.externalData = Object.entries(kv).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  } else if (t.dtype === 'string') {
    proto.stringData = t.stringData;
  } else {
    proto.rawData = t.bytes;
  }
  return proto;
}

function decodeAttr(a: ProtoTypes.IAttributeProto, opts: DecodeOptions, nodeName: string): Attr {
  const attr = decodeAttrValue(a, opts, nodeName);
  if (a.docString && attr.type !== 'opaque') attr.docString = a.docString;
  return attr;
}

/** Strict UTF-8 that keeps a leading byte-order mark: text that re-encodes to the very same bytes, or undefined. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function decodeAttrValue(a: ProtoTypes.IAttributeProto, opts: DecodeState, nodeName: string): Attr {
  const inner: DecodeState = { ...opts, depth: (opts.depth ?? 0) + 1 };
  const T = onnx.AttributeProto.AttributeType;
  // Kept as encoded bytes: references to an enclosing function's attributes (Graft does not resolve them)
  // and strings that are not UTF-8 (a JS string would not give the same bytes back).
  const opaque = (): Attr => ({ type: 'opaque', value: onnx.AttributeProto.encode(a).finish() });
  if (a.refAttrName) return opaque();
  if (a.type === T.SPARSE_TENSOR && a.sparseTensor) checkSparse(a.sparseTensor, opts);
  if (a.type === T.SPARSE_TENSORS) for (const sp of a.sparseTensors ?? []) checkSparse(sp, opts);
  switch (a.type) {
    case T.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case T.INT:
      return { type: 'int', value: int64(a.i ?? 0) };
    case T.STRING: {
      const value = text(a.s ?? new Uint8Array());
      return value === undefined ? opaque() : { type: 'string', value };
    }
    case T.TENSOR:
      if (!a.t) throw emptyAttr(a, 'tensor', opts, nodeName);
      return { type: 'tensor', value: decodeTensor(a.t, opts) };
    case T.GRAPH:
      if (!a.g) throw emptyAttr(a, 'graph', opts, nodeName);
      return { type: 'graph', value: decodeGraph(a.g, inner) };
    case T.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => int64(v)) };
    case T.STRINGS: {
      const value = (a.strings ?? []).map(text);
      return value.some((v) => v === undefined) ? opaque() : { type: 'strings', value: value as string[] };
    }
    case T.TENSORS:
      return { type: 'tensors', value: (a.tensors ?? []).map((t) => decodeTensor(t, opts)) };
    case T.GRAPHS:
      return { type: 'graphs', value: (a.graphs ?? []).map((g) => decodeGraph(g, inner)) };
    default:
      if (a.type === T.UNDEFINED || a.type === undefined || a.type === null) {
        throw new GraftError('BAD_MODEL', `Attribute '${a.name}' has no type`, {
          file: opts.file,
          node: nodeName,
          fix: 're-export the model with a current exporter',
        });
      }
      return opaque();
  }
}

function emptyAttr(a: ProtoTypes.IAttributeProto, kind: string, opts: DecodeOptions, node: string): GraftError {
  return new GraftError('BAD_MODEL', `Attribute '${a.name ?? ''}' is a ${kind} attribute but holds no ${kind}`, {
    file: opts.file,
    node,
    fix: 're-export the model; the file is damaged',
  });
}

function encodeAttr(name: string, a: Attr, opts: { keepExternal?: boolean }): ProtoTypes.IAttributeProto {
  const proto = encodeAttrValue(name, a, opts);
  if (a.docString && a.type !== 'opaque') proto.docString = a.docString;
  return proto;
}

function encodeAttrValue(name: string, a: Attr, opts: { keepExternal?: boolean }): ProtoTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const enc = new TextEncoder();
  switch (a.type) {
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case 'int':
      return onnx.AttributeProto.create({ name, type: T.INT, i: longOf(a.value) });
    case 'string':
      return onnx.AttributeProto.create({ name, type: T.STRING, s: enc.encode(a.value) });
    case 'tensor':
      return onnx.AttributeProto.create({ name, type: T.TENSOR, t: encodeTensor(a.value, opts) });
    case 'graph':
      return onnx.AttributeProto.create({ name, type: T.GRAPH, g: encodeGraph(a.value, opts) });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.value });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.value.map(longOf) });
    case 'strings':
      return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: a.value.map((s) => enc.encode(s)) });
    case 'tensors':
      return onnx.AttributeProto.create({ name, type: T.TENSORS, tensors: a.value.map((t) => encodeTensor(t, opts)) });
    case 'graphs':
      return onnx.AttributeProto.create({ name, type: T.GRAPHS, graphs: a.value.map((g) => encodeGraph(g, opts)) });
    case 'opaque': {
      const p = onnx.AttributeProto.decode(a.value);
      p.name = name;
      return p;
    }
  }
}

/** protobufjs accepts numbers for int64 fields; values beyond 2^53 go through a Long-shaped object. */
function longOf(v: number | bigint): number | LongLike {
  if (typeof v === 'number') return v;
  const u = BigInt.asUintN(64, v);
  const low = Number(u & 0xffffffffn) | 0;
  const high = Number(u >> 32n) | 0;
  return { low, high, unsigned: false, toString: () => v.toString() };
}
