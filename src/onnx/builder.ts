import { type DType, type TypedArray } from './dtype.js';
import { Graph, Model, Node, type Dim, type OpsetImport } from './graph.js';
import { toAttrs, type AttrInput } from './attrs.js';
import { Tensor } from './tensor.js';
import { checkGraph } from './check.js';

export interface OpOptions {
  /** number of outputs (default 1) or their exact names */
  outputs?: number | string[];
  name?: string;
  domain?: string;
}

/**
 * Writes graphs in code. Every method returns value names, so ops chain:
 * `const h = b.op('Relu', [b.op('Gemm', [x, w, bias], { transB: 1 })])`.
 * Works on a fresh graph or on an existing one (surgery and the autodiff builder append to graphs this way).
 */
export class GraphBuilder {
  readonly graph: Graph;

  constructor(graphOrName: Graph | string = 'graph') {
    this.graph = typeof graphOrName === 'string' ? new Graph({ name: graphOrName }) : graphOrName;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.inputs.push({ name, dtype, shape: [...shape] });
    this.graph.touch();
    return name;
  }

  output(name: string, dtype?: DType, shape?: Dim[]): string {
    const known = this.graph.info(name);
    this.graph.outputs.push({ name, dtype: dtype ?? known?.dtype, shape: shape ?? known?.shape });
    return name;
  }

  /** Adds an initializer under exactly `name` (replacing one of the same name). */
  initializer(name: string, data: TypedArray | number[], dims: readonly number[], dtype?: DType): string {
    this.graph.initializers.set(name, Tensor.from(name, data, dims, dtype));
    this.graph.touch();
    return name;
  }

  /** Adds a constant initializer under a fresh name derived from `base`. */
  constant(data: TypedArray | number[], dims: readonly number[], base = 'const', dtype?: DType): string {
    return this.initializer(this.graph.uniqueName(base), data, dims, dtype);
  }

  /** An int64 1-D constant (shapes, axes, pads...). */
  ints(values: readonly number[], base = 'ints'): string {
    return this.constant(
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
      base,
    );
  }

  /** A float32 scalar constant (rank 0). */
  scalar(value: number, base = 'scalar', dtype: DType = 'float32'): string {
    const data = dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
    return this.constant(data, [], base, dtype);
  }

  /** Appends a node and returns its first output name. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts: OpOptions = {},
  ): string {
    return this.opN(opType, inputs, attrs, opts)[0]!;
  }

  /** Appends a node and returns all its output names. */
  opN(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrInput | undefined>,
    opts: OpOptions = {},
  ): string[] {
    const base = opts.name ?? opType.toLowerCase();
    const outputs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) =>
          this.graph.uniqueName(i === 0 ? `${base}_out` : `${base}_out${i}`),
        );
    // reserve output names before naming the node so uniqueName sees them
    const node = new Node({
      opType,
      domain: opts.domain ?? '',
      inputs: [...inputs],
      outputs,
      attrs: toAttrs(attrs, opType),
    });
    this.graph.addNode(node);
    node.name = this.graph.uniqueName(opts.name ?? opType);
    return outputs;
  }

  /** Returns the model, after a structural check. */
  build(opts: { opset?: number; opsetImports?: OpsetImport[]; check?: boolean } = {}): Model {
    if (opts.check !== false) checkGraph(this.graph);
    return new Model(this.graph, { opsetImports: opts.opsetImports ?? [{ domain: '', version: opts.opset ?? 17 }] });
  }
}
