import { GraftError } from '../errors.js';
import { Model, type Dim, type Graph, type Node, type ValueInfo } from './graph.js';
import { Conflict, formatShape, isNum, unify } from './shape-rules/dims.js';
import { tensorFacts } from './shape-rules/helpers.js';
import { SHAPE_RULES, type ShapeContext, type ValueFacts } from './shape-rules/index.js';

export interface InferShapesOptions {
  /** default-domain opset the graph is read under (a Model passes its own); default 17 */
  opset?: number;
  /**
   * Forget value_info from earlier passes, and let inferred output shapes replace the declared ones,
   * instead of checking inferred shapes against them. For graphs edited since the info was written.
   */
  reset?: boolean;
}

/**
 * Static shape and element-type inference. Fills `graph.valueInfo` for intermediate values and
 * completes the dtype/shape of graph outputs. Symbolic dims (the batch 'N') flow through
 * broadcasting, reshapes and convolutions; what cannot be known stays undefined. Ops without a rule
 * (and other domains) leave their outputs unknown. Provable contradictions (incompatible broadcast,
 * Gemm inner dims, inputs whose element types must match but differ, an inferred shape disagreeing
 * with declared value_info...) throw GraftError('SHAPE_MISMATCH') naming the node. Returns its
 * argument so passes chain.
 */
export function inferShapes<T extends Graph | Model>(target: T, opts: InferShapesOptions = {}): T {
  if (target instanceof Model) {
    inferGraph(target.graph, new Map(), { ...opts, opset: opts.opset ?? target.opset });
  } else inferGraph(target as Graph, new Map(), opts);
  return target;
}

const DEFAULT_OPSET = 17;

function inferGraph(graph: Graph, outer: ReadonlyMap<string, ValueFacts>, opts: InferShapesOptions): ValueFacts[] {
  const opset = opts.opset ?? DEFAULT_OPSET;
  const facts = new Map(outer);
  for (const i of graph.inputs) facts.set(i.name, { dtype: i.dtype, shape: i.shape && [...i.shape] });
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  for (const [name, t] of graph.initializers) {
    // an initializer that is also a graph input is only a default: its values may be overridden
    const f = tensorFacts(t);
    facts.set(name, inputNames.has(name) ? { dtype: f.dtype, shape: f.shape } : f);
  }
  if (opts.reset) graph.valueInfo.clear();
  const outputs = new Map(graph.outputs.map((o) => [o.name, o]));

  const record = (node: Node, o: number, inferred: ValueFacts) => {
    const name = node.outputs[o];
    if (!name) return;
    const asOutput = outputs.get(name);
    const declared = asOutput ?? graph.valueInfo.get(name);
    const merged =
      opts.reset && asOutput ? preferInferred(inferred, declared) : merge(node, name, inferred, declared, opset);
    facts.set(name, merged);
    if (asOutput) {
      if (merged.dtype) asOutput.dtype = merged.dtype;
      if (merged.shape) asOutput.shape = [...merged.shape];
    } else if (merged.dtype !== undefined || merged.shape !== undefined) {
      const info: ValueInfo = { name, dtype: merged.dtype, shape: merged.shape && [...merged.shape] };
      if (declared?.docString) info.docString = declared.docString;
      graph.valueInfo.set(name, info);
    }
  };

  const run = (node: Node) => {
    const results: ValueFacts[] = [];
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? SHAPE_RULES.get(node.opType) : undefined;
    if (rule) rule(context(node, facts, results, opset, opts));
    node.outputs.forEach((_, o) => record(node, o, results[o] ?? {}));
  };

  // Nodes are normally sorted; a node whose inputs are not inferred yet waits for a later sweep.
  const producedHere = new Set(graph.nodes.flatMap((n) => n.outputs));
  const done = new Set<string>();
  let pending = graph.nodes;
  while (pending.length) {
    const waiting: Node[] = [];
    for (const n of pending) {
      if (n.inputs.some((v) => v && producedHere.has(v) && !done.has(v))) waiting.push(n);
      else {
        run(n);
        for (const o of n.outputs) done.add(o);
      }
    }
    if (waiting.length === pending.length) {
      waiting.forEach(run); // a cycle: infer what can be, in order
      break;
    }
    pending = waiting;
  }
  return graph.outputs.map((o) => facts.get(o.name) ?? { dtype: o.dtype, shape: o.shape });
}

function context(
  node: Node,
  facts: Map<string, ValueFacts>,
  results: ValueFacts[],
  opset: number,
  opts: InferShapesOptions,
): ShapeContext {
  const get = (i: number) => {
    const v = node.inputs[i];
    return v ? facts.get(v) : undefined;
  };
  return {
    node,
    opset,
    has: (i) => !!node.inputs[i],
    dtype: (i) => get(i)?.dtype,
    shape: (i) => get(i)?.shape,
    value: (i) => get(i)?.value,
    numbers: (i) => {
      const v = get(i)?.value;
      return v && v.every(isNum) ? (v as number[]) : undefined;
    },
    set: (i, f) => {
      results[i] = { dtype: f.dtype, shape: f.shape && [...f.shape], value: f.value && [...f.value] };
    },
    fail: (what, f = {}) => {
      throw new GraftError('SHAPE_MISMATCH', `${node.opType}: ${what}`, {
        node: node.label,
        op: node.opType,
        opset,
        inputIndex: f.inputIndex,
        expected: f.expected,
        found: f.found ?? describeInputs(node, facts),
        fix: f.fix ?? 'check the shapes of the values feeding this node and its attributes',
      });
    },
    subgraph: (g) => inferGraph(g, facts, { ...opts, reset: false }),
  };
}

function describeInputs(node: Node, facts: Map<string, ValueFacts>): string {
  return node.inputs
    .map((v, i) => (v ? `#${i} ${v}: ${facts.get(v)?.dtype ?? '?'} ${formatShape(facts.get(v)?.shape)}` : `#${i} -`))
    .join('; ');
}

/** Inferred facts refined by what value_info or the graph outputs declare; a contradiction throws. */
function merge(node: Node, name: string, inferred: ValueFacts, declared: ValueInfo | undefined, opset: number) {
  if (!declared) return inferred;
  const fail = (what: string, expected: string, found: string): never => {
    throw new GraftError('SHAPE_MISMATCH', `${node.opType}: ${what} of '${name}' contradicts its declared value_info`, {
      node: node.label,
      op: node.opType,
      opset,
      value: name,
      expected: `inferred ${expected}`,
      found: `declared ${found}`,
      fix: 'if the graph was edited after the info was written, call inferShapes(graph, { reset: true })',
    });
  };
  let dtype = inferred.dtype;
  if (declared.dtype) {
    if (dtype && dtype !== declared.dtype) fail('the element type', dtype, declared.dtype);
    dtype = declared.dtype;
  }
  let shape = inferred.shape;
  if (declared.shape) {
    if (!shape) shape = [...declared.shape];
    else {
      if (shape.length !== declared.shape.length) fail('the rank', formatShape(shape), formatShape(declared.shape));
      shape = shape.map((d, i): Dim => {
        const r = unify(d, declared.shape![i]);
        if (r instanceof Conflict) fail(`dim ${i}`, formatShape(inferred.shape), formatShape(declared.shape));
        return r as Dim;
      });
    }
  }
  return { dtype, shape, value: inferred.value };
}

function preferInferred(inferred: ValueFacts, declared: ValueInfo | undefined): ValueFacts {
  return {
    dtype: inferred.dtype ?? declared?.dtype,
    shape: inferred.shape ?? declared?.shape,
    value: inferred.value,
  };
}
