import { GraftError } from '../errors.js';
import { checkGraph } from '../onnx/check.js';
import { Node, type Model, type ValueInfo } from '../onnx/graph.js';

/**
 * include_top=false: keeps only the part of the graph needed to compute `at`, which becomes the single
 * output. Returns a new model; the input model is not changed.
 */
export function cut(model: Model, at: string, opts: { outputName?: string } = {}): Model {
  const out = model.clone();
  const g = out.graph;
  const known = g.allValueNames();
  if (!known.has(at)) {
    throw new GraftError('NOT_FOUND', `Cannot cut at '${at}': no such value in the graph`, {
      value: at,
      choices: suggestValues(
        g.nodes.map((n) => n.outputs[0] ?? ''),
        at,
      ),
      fix: 'run `graft inspect MODEL` to list suggested cut points',
    });
  }
  const info: ValueInfo = g.info(at) ?? { name: at };
  g.outputs = [{ ...info, name: at }];
  g.cleanup();
  // Inputs that no kept node reads are dropped too: a cut backbone should ask only for what it uses.
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  g.inputs = g.inputs.filter((i) => used.has(i.name) || i.name === at);
  if (opts.outputName && opts.outputName !== at) {
    g.addNode(
      new Node({
        opType: 'Identity',
        inputs: [at],
        outputs: [opts.outputName],
        name: g.uniqueName('cut_output'),
      }),
    );
    g.outputs = [{ ...info, name: opts.outputName }];
  }
  checkGraph(g);
  return out;
}

/** Up to 10 names closest to `wanted` (substring matches first, then by edit distance), for "did you mean" lists. */
export function suggestValues(names: string[], wanted: string): string[] {
  const w = wanted.toLowerCase();
  const score = (n: string): number => {
    const l = n.toLowerCase();
    if (l.includes(w) || w.includes(l)) return -1;
    return editDistance(l, w);
  };
  const limit = Math.max(3, Math.floor(w.length / 2));
  return [...new Set(names.filter(Boolean))]
    .map((n) => [n, score(n)] as const)
    .filter(([, s]) => s <= limit)
    .sort((a, b) => a[1] - b[1])
    .slice(0, 10)
    .map(([n]) => n);
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
