import { GraftError } from '../errors.js';
import { subgraphFreeNames, type Dim, type Graph, type Model, type Node, type ValueType } from './graph.js';
import { MAX_ONNX_OPSET, ONNX_OPS } from './op-versions.js';
import { MAX_TENSOR_ELEMENTS } from './tensor.js';

export interface CheckOptions {
  /** names visible from an enclosing graph (for subgraphs) */
  outerScope?: Iterable<string>;
  /** graph name/file used in messages */
  file?: string;
}

/**
 * One thing wrong with a graph or model: what, where, and how to fix it. Names values, nodes and ops;
 * never tensor contents.
 */
export interface Problem {
  code: 'BAD_GRAPH' | 'BAD_MODEL' | 'UNSUPPORTED_OP';
  /** one line: what is wrong */
  message: string;
  /** the graph it is in (a subgraph's own name for If/Loop/Scan bodies) */
  graph: string;
  node?: string;
  op?: string;
  opset?: number;
  value?: string;
  inputIndex?: number;
  expected?: string;
  found?: string;
  fix: string;
}

/** At most this many problems are listed for one model: a damaged file can have one per node. */
export const MAX_PROBLEMS = 100;

/**
 * Structural check that every pass ends with: nodes in topological order, each value produced once,
 * every input defined, every graph output produced, initializer data matching its shape.
 * Returns the graph so passes chain; throws the first problem as a GraftError.
 */
export function checkGraph<G extends Graph>(graph: G, opts: CheckOptions = {}): G {
  const [first] = graphProblems(graph, { ...opts, limit: 1 });
  if (first) throw problemError(first, opts.file);
  return graph;
}

/** The structural problems of a graph and its subgraphs (checkGraph's checks), up to `limit`. */
export function graphProblems(graph: Graph, opts: CheckOptions & { limit?: number } = {}): Problem[] {
  const out: Problem[] = [];
  structure(graph, new Set(opts.outerScope ?? []), out, opts.limit ?? MAX_PROBLEMS);
  return out;
}

/**
 * Everything `graft inspect` checks before calling a model valid: the structure of every graph (as
 * checkGraph), the opsets it imports (the default domain's at most MAX_ONNX_OPSET, the newest the bundled
 * onnxruntime loads), that every op of the default domain exists at the model's opset (and is not
 * deprecated there), that every node's domain is imported, and that declared shapes are possible
 * (dims not negative, at most MAX_TENSOR_ELEMENTS elements).
 */
export function modelProblems(model: Model, limit = MAX_PROBLEMS): Problem[] {
  const out = graphProblems(model.graph, { limit });
  const add = (p: Problem) => out.length < limit && out.push(p);
  opsetProblems(model, add);
  const imported = new Set(model.opsetImports.map((o) => (o.domain === 'ai.onnx' ? '' : o.domain)));
  const functions = new Set((model.opaque?.functions ?? []).map((f) => `${f.domain}\u0000${f.name}`));
  const opset = model.opset;
  const reported = new Set<string>();
  forEachGraph(model.graph, (g) => {
    for (const n of g.nodes) {
      const domain = n.domain === 'ai.onnx' ? '' : n.domain;
      // a model without a default-domain import is reported once by opsetProblems
      if (domain === '' && !imported.has('')) continue;
      if (!imported.has(domain)) {
        const key = `domain\u0000${domain}`;
        if (reported.has(key)) continue;
        reported.add(key);
        add({
          code: 'BAD_MODEL',
          message: `node uses the domain '${domain || 'ai.onnx'}', which the model does not import`,
          graph: g.name,
          node: n.label,
          op: n.opType,
          expected: 'an opset_import entry for every domain its nodes use',
          fix: `add an opset import for '${domain || 'ai.onnx'}' (re-export the model)`,
        });
        continue;
      }
      if (domain !== '' || functions.has(`\u0000${n.opType}`)) continue;
      const problem = opProblem(n, opset, g.name);
      if (problem && !reported.has(`op\u0000${n.opType}`)) {
        reported.add(`op\u0000${n.opType}`);
        add(problem);
      }
    }
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo.values()]) {
      const bad = shapeProblem(v.type ?? { kind: 'tensor', shape: v.shape, dtype: v.dtype });
      if (bad && !reported.has(`value\u0000${g.name}\u0000${v.name}`)) {
        reported.add(`value\u0000${g.name}\u0000${v.name}`);
        add({
          code: 'BAD_MODEL',
          message: `value '${v.name}' declares an impossible shape`,
          graph: g.name,
          value: v.name,
          expected: `dimensions from 0 up, at most ${MAX_TENSOR_ELEMENTS} elements (2^31) in all`,
          found: bad,
          fix: 'correct the declared shape in the exporter (use a symbolic name for sizes that vary)',
        });
      }
    }
  });
  return out;
}

/** Throws the model's first problem (see modelProblems) as a GraftError; returns the model. */
export function checkModel(model: Model, opts: { file?: string } = {}): Model {
  const [first] = modelProblems(model, 1);
  if (first) throw problemError(first, opts.file);
  return model;
}

/** A problem as the GraftError that names it. */
export function problemError(p: Problem, file?: string): GraftError {
  return new GraftError(p.code, `Graph '${p.graph}': ${p.message}`, {
    file,
    node: p.node,
    op: p.op,
    opset: p.opset,
    value: p.value,
    inputIndex: p.inputIndex,
    expected: p.expected,
    found: p.found,
    fix: p.fix,
  });
}

function structure(graph: Graph, outer: Set<string>, out: Problem[], limit: number): void {
  const full = () => out.length >= limit;
  const add = (p: Omit<Problem, 'graph' | 'code'> & { code?: Problem['code'] }) => {
    if (!full()) out.push({ code: 'BAD_GRAPH', graph: graph.name, ...p });
  };
  const defined = new Set<string>(['', ...outer]);
  const seenInputs = new Set<string>();
  for (const i of graph.inputs) {
    if (!i.name) add({ message: 'a graph input has no name', fix: 'name every graph input' });
    else if (seenInputs.has(i.name)) {
      add({ message: `graph input '${i.name}' is declared twice`, value: i.name, fix: 'remove the second one' });
    }
    seenInputs.add(i.name);
    defined.add(i.name);
  }
  for (const [name, t] of graph.initializers) {
    if (name !== t.name) {
      add({
        message: `initializer stored under '${name}' is named '${t.name}'`,
        value: name,
        fix: 'store initializers under their own names',
      });
    }
    if (t.dims.some((d) => !Number.isInteger(d) || d < 0)) {
      add({
        message: `initializer '${name}' has an invalid shape`,
        value: name,
        found: `[${t.dims.join(', ')}]`,
        fix: 're-export the model',
      });
    }
    defined.add(name);
  }
  for (const name of graph.sparseInitializerNames) defined.add(name);
  if (full()) return;

  const producedAnywhere = new Set(graph.nodes.flatMap((n) => n.outputs));
  let cycles: CycleFinder | undefined;
  let misorderReported = false;
  const cycleNodes = new Set<Node>();
  /** a read of `v`, produced later in this graph: a cycle, or only an unsorted list of nodes */
  const readsLater = (n: Node, v: string, what: string) => {
    cycles ??= new CycleFinder(graph, outer);
    const cycle = cycles.cycleThrough(n);
    if (cycle) {
      if (cycle.some((c) => cycleNodes.has(c))) return;
      cycle.forEach((c) => cycleNodes.add(c));
      add({
        message: `nodes form a cycle: ${[...cycle, cycle[0]!].map((c) => c.label).join(' -> ')}`,
        node: n.label,
        op: n.opType,
        value: v,
        found: `${what} '${v}', which depends on the node's own output`,
        fix: 'a value cannot depend on itself: the file is damaged or was edited by hand; re-export the model',
      });
    } else if (!misorderReported) {
      misorderReported = true;
      add({
        message: `node reads '${v}' before anything produces it`,
        node: n.label,
        op: n.opType,
        value: v,
        found: 'it is produced later (not topologically sorted)',
        fix: 'sort the nodes topologically (graph.toposort() in code; ONNX files must list producers first)',
      });
    }
  };
  const nodeNames = new Set<string>();
  for (const n of graph.nodes) {
    if (full()) return;
    if (!n.opType) add({ message: 'a node has no op type', node: n.label, fix: 'give every node an op type' });
    if (n.name) {
      if (nodeNames.has(n.name))
        add({ message: `two nodes are named '${n.name}'`, node: n.name, fix: 'give nodes unique names' });
      nodeNames.add(n.name);
    }
    n.inputs.forEach((v, i) => {
      if (defined.has(v)) return;
      if (producedAnywhere.has(v)) readsLater(n, v, `input #${i} reads`);
      else {
        add({
          message: `node reads '${v}', which nothing produces`,
          node: n.label,
          op: n.opType,
          value: v,
          inputIndex: i,
          found: 'no node output, graph input or initializer of that name',
          fix: `connect input #${i} to an existing value`,
        });
      }
    });
    for (const v of new Set(subgraphFreeNames(n))) {
      if (defined.has(v)) continue;
      if (producedAnywhere.has(v)) readsLater(n, v, 'a subgraph reads');
      else {
        add({
          message: `a subgraph of the node reads '${v}', which is not defined in scope`,
          node: n.label,
          op: n.opType,
          value: v,
          fix: `connect '${v}' to a value of the enclosing graph, or define it in the subgraph`,
        });
      }
    }
    for (const a of Object.values(n.attrs)) {
      const subgraphs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
      for (const g of subgraphs) structure(g, defined, out, limit);
    }
    const own = new Set<string>();
    for (const o of n.outputs) {
      if (!o) continue;
      if (defined.has(o) || own.has(o)) {
        add({
          message: `value '${o}' is produced more than once`,
          node: n.label,
          op: n.opType,
          value: o,
          found: seenInputs.has(o)
            ? 'it is also a graph input'
            : graph.initializers.has(o)
              ? 'it is also an initializer'
              : 'another node output (or this node) already has that name',
          fix: 'rename one of the outputs',
        });
      }
      own.add(o);
      defined.add(o);
    }
  }
  const listed = new Set<string>();
  for (const o of graph.outputs) {
    if (!defined.has(o.name)) {
      add({
        message: `graph output '${o.name}' is never produced`,
        value: o.name,
        fix: 'remove the output or connect it to a node output',
      });
    } else if (listed.has(o.name)) {
      add({ message: `graph output '${o.name}' is listed twice`, value: o.name, fix: 'remove the second one' });
    }
    listed.add(o.name);
  }
}

/**
 * Tells a cycle from a mere ordering problem: nodes Kahn's algorithm cannot order (their inputs wait on
 * one another) form or follow a cycle. Values nothing produces count as available: those are reported
 * as dangling, not as cycles.
 */
class CycleFinder {
  private stuck = new Set<Node>();
  private producer = new Map<string, Node>();

  constructor(
    private graph: Graph,
    outer: Set<string>,
  ) {
    for (const n of graph.nodes) for (const o of n.outputs) if (o && !this.producer.has(o)) this.producer.set(o, n);
    const available = new Set<string>(['', ...outer, ...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
    for (const s of graph.sparseInitializerNames) available.add(s);
    const need = (n: Node) =>
      new Set([...n.inputs, ...subgraphFreeNames(n)].filter((v) => this.producer.has(v) && !available.has(v)));
    const waiting = new Map<string, Node[]>();
    const missing = new Map<Node, number>();
    const ready: Node[] = [];
    for (const n of graph.nodes) {
      const wants = need(n);
      missing.set(n, wants.size);
      if (wants.size === 0) ready.push(n);
      for (const v of wants) {
        const list = waiting.get(v);
        if (list) list.push(n);
        else waiting.set(v, [n]);
      }
    }
    const done = new Set<Node>();
    while (ready.length) {
      const n = ready.pop()!;
      done.add(n);
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
    for (const n of graph.nodes) if (!done.has(n)) this.stuck.add(n);
  }

  /** The nodes of a cycle `n` is part of or waits on (in reading order), or undefined when `n` can be ordered. */
  cycleThrough(n: Node): Node[] | undefined {
    if (!this.stuck.has(n)) return undefined;
    // Walk back through producers that cannot be ordered either: in a finite graph the walk repeats a node.
    const path: Node[] = [];
    const at = new Map<Node, number>();
    let cur: Node | undefined = n;
    while (cur && !at.has(cur)) {
      at.set(cur, path.length);
      path.push(cur);
      const from: Node = cur;
      const next = [...from.inputs, ...subgraphFreeNames(from)]
        .map((v) => this.producer.get(v))
        .find((p): p is Node => !!p && this.stuck.has(p));
      cur = next;
    }
    if (!cur) return undefined;
    // path[at(cur)..] walks against the data flow; reversed it reads producer -> consumer, from `n` when on it
    const cycle = path.slice(at.get(cur)!).reverse();
    const i = cycle.indexOf(n);
    return i > 0 ? [...cycle.slice(i), ...cycle.slice(0, i)] : cycle;
  }
}

/** Every graph of the model: the main graph and, depth first, the bodies of If/Loop/Scan nodes. */
function forEachGraph(g: Graph, visit: (g: Graph) => void): void {
  visit(g);
  for (const n of g.nodes) {
    for (const a of Object.values(n.attrs)) {
      if (a.type === 'graph') forEachGraph(a.value, visit);
      else if (a.type === 'graphs') a.value.forEach((s) => forEachGraph(s, visit));
    }
  }
}

function opsetProblems(model: Model, add: (p: Problem) => void): void {
  const graph = model.graph.name;
  const seen = new Set<string>();
  for (const o of model.opsetImports) {
    const domain = o.domain === 'ai.onnx' ? '' : o.domain;
    if (seen.has(domain)) {
      add({
        code: 'BAD_MODEL',
        message: `the model imports the domain '${domain || 'ai.onnx'}' twice`,
        graph,
        found: model.opsetImports
          .filter((x) => (x.domain === 'ai.onnx' ? '' : x.domain) === domain)
          .map((x) => `opset ${x.version}`)
          .join(', '),
        fix: 'keep one opset import per domain (re-export the model)',
      });
    }
    seen.add(domain);
    if (domain !== '') continue;
    if (!Number.isInteger(o.version) || o.version < 1 || o.version > MAX_ONNX_OPSET) {
      add({
        code: 'BAD_MODEL',
        message: `the model's ONNX opset ${o.version} is not one Graft can run`,
        graph,
        opset: o.version,
        expected: `a default-domain opset from 1 to ${MAX_ONNX_OPSET} (the newest the bundled onnxruntime loads)`,
        found: `opset ${o.version}`,
        fix: `re-export the model with an opset from 7 to ${MAX_ONNX_OPSET} (e.g. torch.onnx.export(..., opset_version=17))`,
      });
    }
  }
  if (!seen.has('') && model.graph.nodes.some((n) => n.domain === '' || n.domain === 'ai.onnx')) {
    // reported once here; the per-node domain check skips the default domain's nodes for it
    add({
      code: 'BAD_MODEL',
      message: 'the model uses ONNX ops but imports no ONNX opset',
      graph,
      expected: "an opset_import entry for the default domain ('')",
      fix: 're-export the model; its exporter left out the opset',
    });
  }
}

/** Why a default-domain node's op does not exist at `opset`, or undefined when it does. */
function opProblem(n: Node, opset: number, graph: string): Problem | undefined {
  const known = Object.prototype.hasOwnProperty.call(ONNX_OPS, n.opType) ? ONNX_OPS[n.opType] : undefined;
  const where = { graph, node: n.label, op: n.opType, opset };
  if (!known) {
    return {
      code: 'UNSUPPORTED_OP',
      message: `op '${n.opType}' is not an ONNX operator`,
      ...where,
      expected: `an operator of the default ONNX domain (opset ${opset})`,
      found: `'${n.opType}' in the default domain`,
      fix: 'check the op name; a custom op needs its own domain (and a runtime that implements it)',
    };
  }
  const [introduced, deprecated] = known;
  if (opset < introduced) {
    return {
      code: 'UNSUPPORTED_OP',
      message: `op '${n.opType}' does not exist at the model's opset ${opset}`,
      ...where,
      expected: `opset ${introduced} or newer for ${n.opType}`,
      found: `opset ${opset}`,
      fix: `re-export the model with opset ${introduced} or newer, or without ${n.opType}`,
    };
  }
  if (deprecated !== undefined && opset >= deprecated) {
    return {
      code: 'UNSUPPORTED_OP',
      message: `op '${n.opType}' was removed from ONNX at opset ${deprecated}; the model declares opset ${opset}`,
      ...where,
      expected: `${n.opType} only below opset ${deprecated}`,
      found: `opset ${opset}`,
      fix: `re-export the model (${n.opType === 'Upsample' ? 'Resize' : n.opType === 'Scatter' ? 'ScatterElements' : 'its replacement'} replaces it)`,
    };
  }
  return undefined;
}

/** What is impossible about a declared type's shapes (negative dims, too many elements), or undefined. */
function shapeProblem(t: ValueType): string | undefined {
  switch (t.kind) {
    case 'tensor':
    case 'sparseTensor':
      return t.shape ? dimsProblem(t.shape) : undefined;
    case 'sequence':
    case 'optional':
      return t.elem && shapeProblem(t.elem);
    case 'map':
      return t.value && shapeProblem(t.value);
  }
}

function dimsProblem(shape: Dim[]): string | undefined {
  const text = `[${shape.map((d) => d ?? '?').join(', ')}]`;
  if (shape.some((d) => typeof d === 'number' && (!Number.isSafeInteger(d) || d < 0))) {
    return `${text}: a dimension is negative or not a whole number`;
  }
  const fixed = shape.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
  if (fixed > MAX_TENSOR_ELEMENTS) return `${text}: ${fixed.toExponential(2)} elements`;
  return undefined;
}
