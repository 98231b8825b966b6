import { GraftError } from '../errors.js';
import type { DType, TypedArray } from '../onnx/dtype.js';
import { toAttrs, type AttrInput } from '../onnx/attrs.js';
import type { OpOptions } from '../onnx/builder.js';
import { Node, type Attr, type Dim, type Graph } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { unbroadcastGrad, type OpEmitter } from './ops.js';
import type { TypeEnv } from './shapes.js';
import { formulationsFor, type Formulations } from './target.js';

/**
 * Appends default-domain nodes and constants to a graph while keeping static types up to date.
 * Identical nodes (same op, inputs and attributes) are emitted once: rules stay simple (each input's
 * gradient written on its own) without paying twice for shared sub-expressions such as Shape(x).
 */
export class Emitter implements OpEmitter {
  /** names of the nodes appended, in order */
  readonly emitted: Node[] = [];
  /** prefix for node names, set by the builder to the forward node being differentiated */
  prefix = 'grad';
  private readonly used: Set<string>;
  private readonly memo = new Map<string, string[]>();
  private readonly consts = new Map<string, string>();
  private counter = 0;

  /** what the emitted formulations are chosen for (see target.ts) */
  readonly formulations: Formulations;

  constructor(
    readonly graph: Graph,
    readonly env: TypeEnv,
    /** the execution provider the graph is built for; default 'cpu' */
    readonly target?: string,
  ) {
    this.formulations = formulationsFor(target);
    this.used = graph.allValueNames();
    for (const n of graph.nodes) if (n.name) this.used.add(n.name);
  }

  get opset(): number {
    return this.env.opset;
  }

  freshName(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Marks names as taken (values the caller adds to the graph by other means). */
  reserve(name: string): void {
    this.used.add(name);
  }

  emit(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts?: OpOptions,
  ): string {
    return this.emitN(opType, inputs, attrs, opts)[0]!;
  }

  emitN(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts: OpOptions = {},
  ): string[] {
    if (opts.domain && opts.domain !== 'ai.onnx') {
      throw new GraftError('BAD_GRAPH', `Gradient code tried to emit ${opType} in domain '${opts.domain}'`, {
        op: opType,
        expected: 'default-domain ops only, so the training graph runs on every onnxruntime build',
        found: opts.domain,
      });
    }
    const a = toAttrs(attrs, opType);
    const named = Array.isArray(opts.outputs);
    const count = named ? (opts.outputs as string[]).length : ((opts.outputs as number | undefined) ?? 1);
    const ak = attrsKey(a);
    const key = named || ak === undefined ? undefined : `${opType}|${inputs.join(',')}|${count}|${ak}`;
    const hit = key === undefined ? undefined : this.memo.get(key);
    if (hit) return hit;
    const base = `${this.prefix}/${opts.name ?? opType}`;
    const outputs = named
      ? (opts.outputs as string[]).map((o) => {
          this.used.add(o);
          return o;
        })
      : Array.from({ length: count }, (_, i) => this.freshName(i === 0 ? base : `${base}:${i}`));
    const node = new Node({ name: this.freshName(base), opType, inputs: [...inputs], outputs, attrs: a });
    this.graph.nodes.push(node);
    this.graph.touch();
    this.emitted.push(node);
    this.env.infer(node);
    if (key !== undefined) this.memo.set(key, outputs);
    return outputs;
  }

  /** Adds a constant initializer (deduplicated by dtype, dims and contents). */
  tensor(data: TypedArray, dims: readonly number[], dtype: DType, base = 'const'): string {
    const key = `${dtype}|${dims.join('x')}|${Array.from(data as ArrayLike<number | bigint>, String).join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.freshName(`${this.prefix}/${base}`);
    const t = Tensor.from(name, data, dims, dtype);
    this.graph.initializers.set(name, t);
    this.graph.touch();
    this.env.addTensor(name, t);
    this.consts.set(key, name);
    return name;
  }

  ints(values: readonly number[]): string {
    return this.tensor(
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
      'int64',
      'ints',
    );
  }

  scalar(value: number, like?: string): string {
    const dtype = (like && this.env.dtype(like)) || 'float32';
    return this.tensor(floatArray(dtype, [value]), [], dtype, 'scalar');
  }

  /** A 1-D float constant of the dtype of `like`. */
  floats(values: readonly number[], like: string, dims: readonly number[] = [values.length]): string {
    const dtype = this.env.dtype(like) ?? 'float32';
    return this.tensor(floatArray(dtype, values), dims, dtype, 'floats');
  }

  shape(value: string): Dim[] | undefined {
    return this.env.shape(value);
  }

  dtype(value: string): DType | undefined {
    return this.env.dtype(value);
  }

  constant(value: string): number[] | undefined {
    return this.env.numbers(value);
  }

  shapeOf(value: string): string {
    const s = this.env.shape(value);
    if (s && s.every((d): d is number => typeof d === 'number')) return this.ints(s);
    return this.emit('Shape', [value]);
  }

  unbroadcast(grad: string, target: string): string {
    return unbroadcastGrad(this, grad, target);
  }
}

export function floatArray(dtype: DType, values: readonly number[]): TypedArray {
  if (dtype === 'float64') return Float64Array.from(values);
  if (dtype === 'float32') return Float32Array.from(values);
  throw new GraftError('NO_GRADIENT', `Gradients in ${dtype} are not supported`, {
    expected: 'float32 or float64 values on the gradient path',
    found: dtype,
    fix: 'convert the model to float32 before training',
  });
}

/** A key for merging identical nodes; undefined for attributes not worth comparing (subgraphs). */
function attrsKey(a: Record<string, Attr>): string | undefined {
  const parts: string[] = [];
  for (const k of Object.keys(a).sort()) {
    const v = a[k]!;
    if (v.type === 'tensor') {
      const t = v.value;
      parts.push(`${k}=t:${t.dtype}:${t.dims.join('x')}:${Array.from(t.bytes).join('.')}`);
    } else if (v.type === 'graph' || v.type === 'graphs' || v.type === 'tensors' || v.type === 'opaque') {
      return undefined;
    } else parts.push(`${k}=${v.type}:${JSON.stringify(v.value, (_, x) => (typeof x === 'bigint' ? String(x) : x))}`);
  }
  return parts.join(';');
}
