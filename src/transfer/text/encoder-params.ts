import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';

/** The trainable weights of a transformer encoder, grouped by layer. */
export interface EncoderParams {
  /** every weight, in graph order */
  all: string[];
  /** weights of numbered layers (USE's Layer_0, BERT's layer.0, PyTorch's layers.0), by layer number */
  layers: Map<number, string[]>;
  /** weights upstream of every layer (token and position embeddings) */
  before: string[];
  /** weights downstream of a layer but in none (a pooler, USE's tanh projection) */
  after: string[];
}

/** A layer number in a weight's name: `/Layer_3/`, `.layer.3.`, `.layers.3.`, `/layers_3/`. */
const LAYER = /(?:^|[/.])(?:Layer|layer|layers|block|blocks)[._](\d+)(?=[/._]|$)/;

/**
 * The weights of an encoder: float initializers of more than one element that a weight op reads (MatMul,
 * Gemm, Conv; Gather's table), plus biases and norm scales, i.e. initializers an elementwise op applies to
 * an activation computed from those weights. Constants computed with from positions alone (USE's
 * inverse timescales of its sinusoidal position code) and scalars (epsilons, scales) are not weights.
 */
export function encoderParameters(model: Model): EncoderParams {
  const g = model.graph;
  const isFloatInit = (v: string) => {
    const t = g.initializers.get(v);
    return !!t && (t.dtype === 'float32' || t.dtype === 'float64') && t.dims.reduce((a, b) => a * b, 1) > 1;
  };
  const weights = new Set<string>();
  for (const n of g.nodes) {
    if (['MatMul', 'Gemm', 'Conv'].includes(n.opType)) {
      for (const v of n.inputs.slice(0, 3)) if (isFloatInit(v)) weights.add(v);
    } else if (n.opType === 'Gather' && isFloatInit(n.inputs[0]!)) weights.add(n.inputs[0]!);
  }
  // values computed from the weights found so far (graph order is topological)
  const fromWeights = new Set<string>(weights);
  for (const n of g.nodes) {
    const fed = n.inputs.some((v) => fromWeights.has(v));
    if (!fed) continue;
    for (const v of n.inputs) if (isFloatInit(v) && ['Add', 'Mul', 'Sub', 'Div'].includes(n.opType)) weights.add(v);
    for (const o of n.outputs) fromWeights.add(o);
  }
  const order = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => order.has(v) || order.set(v, i)));
  const all = [...weights].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  const layers = new Map<number, string[]>();
  const loose: string[] = [];
  for (const w of all) {
    const m = LAYER.exec(w);
    if (!m) {
      loose.push(w);
      continue;
    }
    const k = Number(m[1]);
    layers.set(k, [...(layers.get(k) ?? []), w]);
  }
  // a loose weight read downstream of some layer's weights comes after the layers
  const downstream = new Set<string>();
  const layerWeights = new Set([...layers.values()].flat());
  for (const n of g.nodes) {
    if (n.inputs.some((v) => layerWeights.has(v) || downstream.has(v))) for (const o of n.outputs) downstream.add(o);
  }
  const readsDownstream = (w: string) =>
    g.nodes.some((n) => n.inputs.includes(w) && n.inputs.some((v) => downstream.has(v)));
  return {
    all,
    layers: new Map([...layers].sort((a, b) => a[0] - b[0])),
    before: loose.filter((w) => !readsDownstream(w)),
    after: loose.filter(readsDownstream),
  };
}

/** What `--unfreeze` says for a text encoder: every weight, or the last N layers (and what follows them). */
export type EncoderUnfreeze = { kind: 'all' } | { kind: 'last'; layers: number };

export function parseEncoderUnfreeze(text: string | undefined): EncoderUnfreeze {
  const t = (text ?? 'all').trim();
  if (t === 'all') return { kind: 'all' };
  const m = /^last:(\d+)$/.exec(t);
  if (m && Number(m[1]) >= 1) return { kind: 'last', layers: Number(m[1]) };
  throw new GraftError('BAD_INPUT', `Cannot read --unfreeze '${t}' for a text encoder`, {
    found: t,
    expected: "'all' (every layer and the embeddings) or 'last:N' (the last N transformer layers)",
    fix: 'use --unfreeze all or --unfreeze last:1',
  });
}

/** The encoder weights that train under an unfreeze choice. */
export function unfrozenWeights(p: EncoderParams, u: EncoderUnfreeze): string[] {
  if (u.kind === 'all') return [...p.all];
  const numbers = [...p.layers.keys()];
  if (numbers.length === 0) {
    throw new GraftError('BAD_MODEL', 'The encoder has no numbered layers to unfreeze', {
      expected: 'weights named by layer (Layer_0, layer.0, layers.0)',
      found: `${p.all.length} weights, none in a numbered layer`,
      fix: 'use --unfreeze all',
    });
  }
  const last = numbers.slice(-u.layers);
  return [...last.flatMap((k) => p.layers.get(k)!), ...p.after];
}
