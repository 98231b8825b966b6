import { GraftError } from '../errors.js';
import type { DType } from './dtype.js';
import { Tensor } from './tensor.js';

/** A dimension: a number, a symbolic name (e.g. 'N' for the batch), or undefined when unknown. */
export type Dim = number | string | undefined;

/** Element type and shape of a tensor, with ONNX's optional denotations. `shape` undefined means rank unknown. */
export interface TensorType {
  dtype?: DType;
  shape?: Dim[];
  /** TypeProto.denotation (e.g. 'IMAGE'), kept for the round trip */
  denotation?: string;
  /** TensorShapeProto.Dimension.denotation by dimension (e.g. 'DATA_BATCH'), kept for the round trip */
  dimDenotations?: (string | undefined)[];
}

/** Any ONNX value type: a dense tensor, or a sparse tensor, sequence, optional or map (ONNX's TypeProto cases). */
export type ValueType =
  | ({ kind: 'tensor' } & TensorType)
  | ({ kind: 'sparseTensor' } & TensorType)
  | { kind: 'sequence'; elem?: ValueType; denotation?: string }
  | { kind: 'optional'; elem?: ValueType; denotation?: string }
  | { kind: 'map'; key: DType; value?: ValueType; denotation?: string };

/** A value type that is not a dense tensor. */
export type NonTensorType = Exclude<ValueType, { kind: 'tensor' }>;

/**
 * Type and shape of a named value. Tensors (nearly every value) keep their type in the TensorType fields;
 * `type` is set instead for values of the other kinds (sequences, optionals, maps, sparse tensors), whose
 * `dtype` and `shape` stay undefined.
 */
export interface ValueInfo extends TensorType {
  name: string;
  docString?: string;
  type?: NonTensorType;
}

export type Attr = AttrValueOf & {
  /** AttributeProto.doc_string, kept for the round trip */
  docString?: string;
};

type AttrValueOf =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number | bigint }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: (number | bigint)[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  /**
   * attributes Graft does not interpret (sparse tensors, type protos, references to function attributes,
   * strings that are not UTF-8), carried as encoded AttributeProto bytes
   */
  | { type: 'opaque'; value: Uint8Array };

export type AttrValue = Attr['value'];

export class Node {
  name: string;
  opType: string;
  /** '' is the default ONNX domain ('ai.onnx') */
  domain: string;
  /** input value names; '' marks an omitted optional input */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  docString?: string;

  constructor(init: {
    name?: string;
    opType: string;
    domain?: string;
    inputs: string[];
    outputs: string[];
    attrs?: Record<string, Attr>;
    docString?: string;
  }) {
    this.name = init.name ?? '';
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.attrs = init.attrs ?? {};
    this.docString = init.docString;
  }

  /** The attribute's value, or `fallback` when absent. */
  attr<T extends AttrValue>(name: string, fallback: T): T;
  attr<T extends AttrValue>(name: string): T | undefined;
  attr<T extends AttrValue>(name: string, fallback?: T): T | undefined {
    const a = this.attrs[name];
    return a === undefined ? fallback : (a.value as T);
  }

  /** Integer attribute as a JS number (int64 values beyond 2^53 are clamped to +-MAX_SAFE_INTEGER). */
  intAttr(name: string, fallback: number): number {
    const a = this.attrs[name];
    if (!a) return fallback;
    if (a.type !== 'int') throw this.attrTypeError(name, 'int', a.type);
    return toSafeNumber(a.value);
  }

  intsAttr(name: string, fallback: number[]): number[];
  intsAttr(name: string): number[] | undefined;
  intsAttr(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attrs[name];
    if (!a) return fallback;
    if (a.type !== 'ints') throw this.attrTypeError(name, 'ints', a.type);
    return a.value.map(toSafeNumber);
  }

  floatAttr(name: string, fallback: number): number {
    const a = this.attrs[name];
    if (!a) return fallback;
    if (a.type !== 'float' && a.type !== 'int') throw this.attrTypeError(name, 'float', a.type);
    return Number(a.value);
  }

  stringAttr(name: string, fallback: string): string {
    const a = this.attrs[name];
    if (!a) return fallback;
    if (a.type !== 'string') throw this.attrTypeError(name, 'string', a.type);
    return a.value;
  }

  get label(): string {
    return this.name || `${this.opType}(${this.outputs.join(',')})`;
  }

  private attrTypeError(name: string, want: string, got: string): GraftError {
    return new GraftError('BAD_GRAPH', `Attribute '${name}' has the wrong type`, {
      node: this.label,
      op: this.opType,
      expected: want,
      found: got,
    });
  }
}

export function toSafeNumber(v: number | bigint): number {
  if (typeof v === 'number') return v;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/**
 * A computation graph. Values are referred to by name; the producer/consumer index is derived on demand
 * and cached until the graph is changed through its methods (code that edits `nodes` or a node's
 * inputs/outputs directly calls `touch()`).
 */
export class Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** type/shape annotations for intermediate values */
  valueInfo: Map<string, ValueInfo>;
  docString?: string;
  /** sparse initializers and other parts Graft does not interpret, carried as encoded bytes */
  opaque?: { sparseInitializers?: SparseInitializer[]; quantizationAnnotation?: Uint8Array[] };

  private index?: { producer: Map<string, Node>; consumers: Map<string, Node[]> };
  private nameCounter = 0;

  constructor(
    init: Partial<
      Pick<Graph, 'name' | 'nodes' | 'inputs' | 'outputs' | 'initializers' | 'valueInfo' | 'docString'>
    > = {},
  ) {
    this.name = init.name ?? 'graph';
    this.nodes = init.nodes ?? [];
    this.inputs = init.inputs ?? [];
    this.outputs = init.outputs ?? [];
    this.initializers = init.initializers ?? new Map();
    this.valueInfo = init.valueInfo ?? new Map();
    this.docString = init.docString;
  }

  /** Drops the cached producer/consumer index; call after editing nodes directly. */
  touch(): this {
    this.index = undefined;
    return this;
  }

  producer(value: string): Node | undefined {
    return this.getIndex().producer.get(value);
  }

  consumers(value: string): readonly Node[] {
    return this.getIndex().consumers.get(value) ?? [];
  }

  /** Names of the sparse initializers (carried encoded in `opaque`); they define values like initializers do. */
  get sparseInitializerNames(): string[] {
    return (this.opaque?.sparseInitializers ?? []).map((s) => s.name);
  }

  /** Graph inputs that are not initializers (the data the caller must feed). */
  get dataInputs(): ValueInfo[] {
    return this.inputs.filter((i) => !this.initializers.has(i.name));
  }

  isGraphInput(value: string): boolean {
    return this.inputs.some((i) => i.name === value);
  }

  isGraphOutput(value: string): boolean {
    return this.outputs.some((o) => o.name === value);
  }

  /** Best known type/shape of a value: graph input/output, initializer or value_info. */
  info(value: string): ValueInfo | undefined {
    const init = this.initializers.get(value);
    if (init) return { name: value, dtype: init.dtype, shape: [...init.dims] };
    return (
      this.valueInfo.get(value) ??
      this.inputs.find((i) => i.name === value) ??
      this.outputs.find((o) => o.name === value)
    );
  }

  /** Every value name used anywhere in the graph. */
  allValueNames(): Set<string> {
    const names = new Set<string>();
    for (const i of this.inputs) names.add(i.name);
    for (const k of this.initializers.keys()) names.add(k);
    for (const k of this.sparseInitializerNames) names.add(k);
    for (const n of this.nodes) {
      for (const v of n.inputs) if (v) names.add(v);
      for (const v of n.outputs) if (v) names.add(v);
    }
    return names;
  }

  /** A value or node name not used in the graph yet, derived from `base`. */
  uniqueName(base: string): string {
    const used = this.allValueNames();
    for (const n of this.nodes) if (n.name) used.add(n.name);
    if (!used.has(base)) return base;
    for (;;) {
      const candidate = `${base}__${++this.nameCounter}`;
      if (!used.has(candidate)) return candidate;
    }
  }

  addNode(node: Node): Node {
    this.nodes.push(node);
    this.index = undefined;
    return node;
  }

  removeNodes(remove: (n: Node) => boolean): this {
    this.nodes = this.nodes.filter((n) => !remove(n));
    this.index = undefined;
    return this;
  }

  /** Makes every consumer of `from` (and graph outputs named `from`) read `to` instead. */
  replaceAllUses(from: string, to: string): this {
    for (const n of this.nodes) n.inputs = n.inputs.map((v) => (v === from ? to : v));
    for (const o of this.outputs) if (o.name === from) o.name = to;
    this.index = undefined;
    return this;
  }

  /**
   * Sorts nodes so every node comes after the producers of its inputs (stable for already-sorted graphs).
   * A subgraph (If/Loop body) sorted on its own needs the names its enclosing graphs define: `outerScope`.
   */
  toposort(outerScope: Iterable<string> = this.outerScopeNames()): this {
    const available = new Set<string>(['']);
    for (const i of this.inputs) available.add(i.name);
    for (const k of this.initializers.keys()) available.add(k);
    for (const k of this.sparseInitializerNames) available.add(k);
    for (const n of outerScope) available.add(n);
    const pending = [...this.nodes];
    const sorted: Node[] = [];
    // Kahn's algorithm keyed on value names, preferring original order.
    const waiting = new Map<string, Node[]>();
    const missing = new Map<Node, number>();
    const ready: Node[] = [];
    for (const n of pending) {
      const need = new Set(n.inputs.filter((v) => !available.has(v)));
      for (const v of subgraphFreeNames(n)) if (!available.has(v)) need.add(v);
      missing.set(n, need.size);
      if (need.size === 0) ready.push(n);
      for (const v of need) {
        const list = waiting.get(v) ?? [];
        list.push(n);
        waiting.set(v, list);
      }
    }
    const order = new Map(pending.map((n, i) => [n, i]));
    while (ready.length) {
      ready.sort((a, b) => order.get(a)! - order.get(b)!);
      const n = ready.shift()!;
      sorted.push(n);
      for (const v of n.outputs) {
        if (!v || available.has(v)) continue;
        available.add(v);
        for (const w of waiting.get(v) ?? []) {
          const left = missing.get(w)! - 1;
          missing.set(w, left);
          if (left === 0) ready.push(w);
        }
      }
    }
    if (sorted.length !== pending.length) {
      const stuck = pending.filter((n) => !sorted.includes(n));
      const first = stuck[0]!;
      const absent = first.inputs.filter((v) => !available.has(v));
      throw new GraftError('BAD_GRAPH', `Graph '${this.name}' has a cycle or reads values nothing produces`, {
        node: first.label,
        op: first.opType,
        found: `${stuck.length} node(s) cannot be ordered; this one waits for: ${absent.join(', ') || '(a cycle)'}`,
        fix: 'connect the missing values to a graph input, an initializer or a node output',
      });
    }
    this.nodes = sorted;
    this.index = undefined;
    return this;
  }

  /**
   * Removes nodes whose outputs reach no graph output, initializers nothing reads, and value_info of
   * values that no longer exist. Graph inputs are kept (they are the caller's interface).
   */
  cleanup(): this {
    const live = new Set<string>(this.outputs.map((o) => o.name));
    const keep = new Set<Node>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!n.outputs.some((o) => live.has(o))) continue;
      keep.add(n);
      for (const v of n.inputs) if (v) live.add(v);
      for (const v of subgraphFreeNames(n)) live.add(v);
    }
    // Nodes are assumed sorted; a second sweep catches producers listed after consumers.
    let changed = true;
    while (changed) {
      changed = false;
      for (const n of this.nodes) {
        if (keep.has(n) || !n.outputs.some((o) => live.has(o))) continue;
        keep.add(n);
        changed = true;
        for (const v of n.inputs) if (v) live.add(v);
        for (const v of subgraphFreeNames(n)) live.add(v);
      }
    }
    this.nodes = this.nodes.filter((n) => keep.has(n));
    for (const k of [...this.initializers.keys()]) {
      if (!live.has(k) && !this.isGraphInput(k)) this.initializers.delete(k);
    }
    const present = this.allValueNames();
    for (const k of [...this.valueInfo.keys()]) if (!present.has(k)) this.valueInfo.delete(k);
    this.index = undefined;
    return this;
  }

  /** Names this graph may read from enclosing graphs: none for a top-level graph (subclasses may say more). */
  outerScopeNames(): string[] {
    return [];
  }

  /** A deep copy: nodes, value infos and tensors are new objects (external data not read yet stays lazy). */
  clone(): Graph {
    const g = new Graph({
      name: this.name,
      docString: this.docString,
      inputs: this.inputs.map(copyInfo),
      outputs: this.outputs.map(copyInfo),
      valueInfo: new Map([...this.valueInfo].map(([k, v]) => [k, copyInfo(v)])),
      initializers: new Map([...this.initializers].map(([k, t]) => [k, t.clone()])),
      nodes: this.nodes.map(
        (n) =>
          new Node({
            name: n.name,
            opType: n.opType,
            domain: n.domain,
            inputs: [...n.inputs],
            outputs: [...n.outputs],
            attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, a]) => [k, cloneAttr(a)])),
            docString: n.docString,
          }),
      ),
    });
    if (this.opaque) {
      g.opaque = {
        sparseInitializers: this.opaque.sparseInitializers?.map((s) => ({ ...s })),
        quantizationAnnotation: this.opaque.quantizationAnnotation && [...this.opaque.quantizationAnnotation],
      };
    }
    return g;
  }

  private getIndex(): { producer: Map<string, Node>; consumers: Map<string, Node[]> } {
    if (this.index) return this.index;
    const producer = new Map<string, Node>();
    const consumers = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const o of n.outputs) if (o) producer.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = consumers.get(i);
        if (list) {
          if (list[list.length - 1] !== n) list.push(n);
        } else consumers.set(i, [n]);
      }
    }
    this.index = { producer, consumers };
    return this.index;
  }
}

/** A sparse initializer: its name (the name of its values tensor) and its encoded SparseTensorProto. */
export interface SparseInitializer {
  name: string;
  bytes: Uint8Array;
}

function copyInfo(v: ValueInfo): ValueInfo {
  const c: ValueInfo = { ...v, shape: v.shape ? [...v.shape] : undefined };
  if (v.dimDenotations) c.dimDenotations = [...v.dimDenotations];
  if (v.type) c.type = structuredClone(v.type);
  return c;
}

function cloneAttr(a: Attr): Attr {
  const c = cloneAttrValue(a);
  if (a.docString !== undefined) c.docString = a.docString;
  return c;
}

function cloneAttrValue(a: Attr): Attr {
  switch (a.type) {
    case 'graph':
      return { type: 'graph', value: a.value.clone() };
    case 'graphs':
      return { type: 'graphs', value: a.value.map((g) => g.clone()) };
    case 'floats':
      return { type: 'floats', value: [...a.value] };
    case 'ints':
      return { type: 'ints', value: [...a.value] };
    case 'strings':
      return { type: 'strings', value: [...a.value] };
    case 'tensor':
      return { type: 'tensor', value: a.value.clone() };
    case 'tensors':
      return { type: 'tensors', value: a.value.map((t) => t.clone()) };
    default:
      return { ...a } as Attr;
  }
}

/** Values a node's subgraph attributes (If/Loop/Scan bodies) read from the enclosing scope. */
export function subgraphFreeNames(n: Node): string[] {
  const out: string[] = [];
  for (const a of Object.values(n.attrs)) {
    const graphs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
    for (const g of graphs) {
      const defined = new Set<string>(['']);
      for (const i of g.inputs) defined.add(i.name);
      for (const k of g.initializers.keys()) defined.add(k);
      for (const k of g.sparseInitializerNames) defined.add(k);
      for (const sn of g.nodes) for (const o of sn.outputs) defined.add(o);
      for (const sn of g.nodes) {
        for (const i of sn.inputs) if (!defined.has(i)) out.push(i);
        for (const i of subgraphFreeNames(sn)) if (!defined.has(i)) out.push(i);
      }
      for (const o of g.outputs) if (!defined.has(o.name)) out.push(o.name);
    }
  }
  return out;
}

/** A model-local function: the op it defines (nodes call it by domain and name) and its encoded FunctionProto. */
export interface ModelFunction {
  domain: string;
  name: string;
  bytes: Uint8Array;
}

/** An opset import: domain ('' = default) and version. */
export interface OpsetImport {
  domain: string;
  version: number;
}

/** A whole ONNX model: the graph plus model-level fields. */
export class Model {
  graph: Graph;
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  /** metadata_props, in file order */
  metadata: Map<string, string>;
  /** model-local functions and training info, carried as encoded bytes */
  opaque?: { functions?: ModelFunction[]; trainingInfo?: Uint8Array[] };

  constructor(graph: Graph, init: Partial<Omit<Model, 'graph' | 'opset'>> = {}) {
    this.graph = graph;
    this.irVersion = init.irVersion ?? 8;
    this.opsetImports = init.opsetImports ?? [{ domain: '', version: 17 }];
    this.producerName = init.producerName ?? 'graft';
    this.producerVersion = init.producerVersion ?? '';
    this.domain = init.domain ?? '';
    this.modelVersion = init.modelVersion ?? 0;
    this.docString = init.docString ?? '';
    this.metadata = init.metadata ?? new Map();
    if (init.opaque) this.opaque = init.opaque;
  }

  /** The default-domain opset version. */
  get opset(): number {
    return this.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1;
  }

  clone(): Model {
    return new Model(this.graph.clone(), {
      irVersion: this.irVersion,
      opsetImports: this.opsetImports.map((o) => ({ ...o })),
      producerName: this.producerName,
      producerVersion: this.producerVersion,
      domain: this.domain,
      modelVersion: this.modelVersion,
      docString: this.docString,
      metadata: new Map(this.metadata),
      opaque: this.opaque ? { ...this.opaque } : undefined,
    });
  }
}
