import { GraftError } from '../errors.js';
import { subgraphFreeNames, type Graph } from './graph.js';

export interface CheckOptions {
  /** names visible from an enclosing graph (for subgraphs) */
  outerScope?: Iterable<string>;
  /** graph name/file used in messages */
  file?: string;
}

/**
 * Structural check that every pass ends with: nodes in topological order, each value produced once,
 * every input defined, every graph output produced, initializer data matching its shape.
 * Returns the graph so passes chain.
 */
export function checkGraph<G extends Graph>(graph: G, opts: CheckOptions = {}): G {
  const fail = (what: string, fields: Record<string, string | undefined>) => {
    throw new GraftError('BAD_GRAPH', `Graph '${graph.name}': ${what}`, { file: opts.file, ...fields });
  };
  const defined = new Set<string>(['']);
  for (const n of opts.outerScope ?? []) defined.add(n);
  const seenInputs = new Set<string>();
  for (const i of graph.inputs) {
    if (!i.name) fail('a graph input has no name', { fix: 'name every graph input' });
    if (seenInputs.has(i.name)) fail(`graph input '${i.name}' is declared twice`, { value: i.name });
    seenInputs.add(i.name);
    defined.add(i.name);
  }
  for (const [name, t] of graph.initializers) {
    if (name !== t.name) fail(`initializer stored under '${name}' is named '${t.name}'`, { value: name });
    if (t.dims.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`initializer '${name}' has an invalid shape`, { value: name, found: `[${t.dims.join(', ')}]` });
    }
    defined.add(name);
  }
  const produced = new Set<string>();
  const producedAnywhere = new Set(graph.nodes.flatMap((n) => n.outputs));
  const nodeNames = new Set<string>();
  for (const n of graph.nodes) {
    if (!n.opType) fail('a node has no op type', { node: n.label });
    if (n.name) {
      if (nodeNames.has(n.name))
        fail(`two nodes are named '${n.name}'`, { node: n.name, fix: 'give nodes unique names' });
      nodeNames.add(n.name);
    }
    n.inputs.forEach((v, i) => {
      if (!defined.has(v)) {
        fail(`node reads '${v}' before anything produces it`, {
          node: n.label,
          op: n.opType,
          value: v,
          found: producedAnywhere.has(v)
            ? 'it is produced later (not topologically sorted)'
            : 'no producer, graph input or initializer',
          fix: producedAnywhere.has(v) ? 'call graph.toposort()' : `connect input #${i} to an existing value`,
        });
      }
    });
    for (const v of subgraphFreeNames(n)) {
      if (!defined.has(v))
        fail(`a subgraph of the node reads '${v}', which is not defined in scope`, { node: n.label, value: v });
    }
    for (const a of Object.values(n.attrs)) {
      const subgraphs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
      for (const g of subgraphs) checkGraph(g, { outerScope: defined, file: opts.file });
    }
    for (const o of n.outputs) {
      if (!o) continue;
      if (produced.has(o) || (defined.has(o) && o !== '')) {
        fail(`value '${o}' is produced more than once`, {
          node: n.label,
          op: n.opType,
          value: o,
          fix: 'rename one of the outputs',
        });
      }
      produced.add(o);
      defined.add(o);
    }
  }
  for (const o of graph.outputs) {
    if (!defined.has(o.name)) {
      fail(`graph output '${o.name}' is never produced`, {
        value: o.name,
        fix: 'remove the output or connect it to a node output',
      });
    }
  }
  return graph;
}
