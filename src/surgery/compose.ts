import { GraftError } from '../errors.js';
import { checkGraph } from '../onnx/check.js';
import { Node, type Model } from '../onnx/graph.js';

/**
 * Feeds the value `at` of `backbone` into the single data input of `head` and returns one model whose
 * outputs are the head's. Head names that collide with backbone names are prefixed, so any head graph
 * (prototype, kNN, a trained MLP) can be grafted on. Opset is the larger of the two.
 */
export function composeHead(backbone: Model, at: string, head: Model, opts: { prefix?: string } = {}): Model {
  const out = backbone.clone();
  const g = out.graph;
  const h = head.graph;
  const headInputs = h.dataInputs;
  if (headInputs.length !== 1) {
    throw new GraftError('BAD_GRAPH', 'A head to graft must have exactly one data input', {
      expected: '1 input (the features)',
      found: `${headInputs.length}: ${headInputs.map((i) => i.name).join(', ')}`,
    });
  }
  if (!g.allValueNames().has(at)) {
    throw new GraftError('NOT_FOUND', `Backbone has no value '${at}' to graft the head on`, { value: at });
  }
  const taken = g.allValueNames();
  for (const n of g.nodes) taken.add(n.name);
  const prefix = opts.prefix ?? 'head';
  const rename = new Map<string, string>([
    [headInputs[0]!.name, at],
    ['', ''],
  ]);
  const mapName = (v: string) => {
    let r = rename.get(v);
    if (r === undefined) {
      r = taken.has(v) ? g.uniqueName(`${prefix}/${v}`) : v;
      taken.add(r);
      rename.set(v, r);
    }
    return r;
  };
  for (const [name, t] of h.initializers) {
    const c = t.clone(mapName(name));
    g.initializers.set(c.name, c);
  }
  for (const n of h.nodes) {
    g.nodes.push(
      new Node({
        name: taken.has(n.name) ? g.uniqueName(`${prefix}/${n.name}`) : n.name,
        opType: n.opType,
        domain: n.domain,
        inputs: n.inputs.map(mapName),
        outputs: n.outputs.map(mapName),
        attrs: n.attrs,
      }),
    );
    taken.add(g.nodes[g.nodes.length - 1]!.name);
  }
  for (const [k, v] of h.valueInfo) g.valueInfo.set(mapName(k), { ...v, name: mapName(k) });
  g.outputs = h.outputs.map((o) => ({ ...o, name: mapName(o.name) }));
  g.touch().cleanup();
  for (const imp of head.opsetImports) {
    const mine = out.opsetImports.find((o) => o.domain === imp.domain);
    if (!mine) out.opsetImports.push({ ...imp });
    else mine.version = Math.max(mine.version, imp.version);
  }
  checkGraph(g);
  return out;
}
