import { modelProblems, type Problem } from '../onnx/check.js';
import type { Dim, Graph, Model, Node, ValueInfo, ValueType } from '../onnx/graph.js';
import type { ModelEntry } from './types.js';

export interface ValueSummary {
  name: string;
  dtype?: string;
  shape?: Dim[];
  /** values that are not tensors: their type, e.g. 'sequence<float32[?,4]>' */
  type?: string;
}

export interface BlockSummary {
  name: string;
  nodes: number;
  parameters: number;
  /** the single value leaving the block, when the block ends at a cut point */
  output?: string;
}

export interface CutPoint {
  /** the value to cut at: everything up to it is the feature extractor */
  value: string;
  /** the node producing it */
  node: string;
  op: string;
  block?: string;
  shape?: Dim[];
  why: string;
}

export interface ModelReport {
  graphName: string;
  producer: string;
  opset: number;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodes: number;
  parameters: number;
  parameterTensors: number;
  ops: Record<string, number>;
  blocks: BlockSummary[];
  /** suggested places to cut for feature extraction, latest first */
  cutPoints: CutPoint[];
  classifier?: {
    nodes: string[];
    parameters: number;
    featureValue: string;
    numClasses?: number;
    source: 'entry' | 'detected';
  };
  /**
   * What is wrong with the model (structure, opsets, ops, declared shapes; see modelProblems): empty for
   * a valid model. The other fields describe the model as far as they can.
   */
  problems: Problem[];
}

const FLOAT = new Set(['float32', 'float16', 'float64', 'bfloat16']);
/** ops that may sit between the pooled features and the output in a classifier head */
const HEAD_OPS = new Set([
  'Gemm',
  'MatMul',
  'Add',
  'Relu',
  'Softmax',
  'LogSoftmax',
  'Sigmoid',
  'Identity',
  'Dropout',
  'Flatten',
  'Reshape',
  'Squeeze',
]);
const SHAPE_ONLY = new Set(['Flatten', 'Reshape', 'Squeeze', 'Identity', 'Dropout']);
const META_OPS = new Set(['Shape', 'Size']);

/**
 * What a model is made of, for people choosing where to cut it: inputs and outputs, parameter count,
 * blocks (from node-name prefixes), values through which all data flows (the safe cut points), and the
 * classifier head (from the zoo entry when it names one, else found by walking back from the output).
 */
export function inspectModel(model: Model, entry?: ModelEntry): ModelReport {
  const g = model.graph;
  const problems = modelProblems(model);
  const params = parameterCounts(g);
  const blockOf = blockNamer(g.nodes);
  const cuts = singleLiveValues(g);
  const classifier = findClassifier(g, params.byNode, entry);

  const blocks: BlockSummary[] = [];
  for (const n of g.nodes) {
    const b = blockOf(n);
    let last = blocks[blocks.length - 1];
    if (!last || last.name !== b) blocks.push((last = { name: b, nodes: 0, parameters: 0 }));
    last.nodes++;
    last.parameters += params.byNode.get(n) ?? 0;
  }
  for (const c of cuts) {
    const b = blocks.find((x) => x.name === blockOf(c.node));
    if (b) b.output = c.value;
  }

  const cutPoints: CutPoint[] = [];
  const seen = new Set<string>();
  const add = (c: { value: string; node: Node }, why: string) => {
    if (seen.has(c.value)) return;
    seen.add(c.value);
    cutPoints.push({
      value: c.value,
      node: c.node.label,
      op: c.node.opType,
      block: blockOf(c.node),
      shape: g.info(c.value)?.shape,
      why,
    });
  };
  if (classifier) {
    const producer = g.producer(classifier.featureValue);
    if (producer) add({ value: classifier.featureValue, node: producer }, 'features before the classifier head');
  }
  const headNodes = new Set(classifier?.nodes ?? []);
  const blockEnds = cuts.filter(
    (c, i) => !headNodes.has(c.node.label) && blockOf(c.node) !== blockOf(cuts[i + 1]?.node ?? c.node),
  );
  for (const c of blockEnds.reverse().slice(0, 8)) add(c, `end of block ${blockOf(c.node)}`);

  return {
    graphName: g.name,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opset: model.opset,
    inputs: g.dataInputs.map(summary),
    outputs: g.outputs.map(summary),
    nodes: g.nodes.length,
    parameters: params.total,
    parameterTensors: params.tensors,
    ops: Object.fromEntries(
      [...g.nodes.reduce((m, n) => m.set(n.opType, (m.get(n.opType) ?? 0) + 1), new Map<string, number>())].sort(
        (a, b) => b[1] - a[1],
      ),
    ),
    blocks,
    cutPoints,
    classifier,
    problems,
  };
}

function summary(v: ValueInfo): ValueSummary {
  return v.type ? { name: v.name, type: typeText(v.type) } : { name: v.name, dtype: v.dtype, shape: v.shape };
}

function typeText(t: ValueType): string {
  const dims = (s?: Dim[]) => (s ? `[${s.map((d) => d ?? '?').join(',')}]` : '');
  switch (t.kind) {
    case 'tensor':
      return `${t.dtype ?? '?'}${dims(t.shape)}`;
    case 'sparseTensor':
      return `sparse<${t.dtype ?? '?'}${dims(t.shape)}>`;
    case 'sequence':
    case 'optional':
      return `${t.kind}<${t.elem ? typeText(t.elem) : '?'}>`;
    case 'map':
      return `map<${t.key},${t.value ? typeText(t.value) : '?'}>`;
  }
}

function parameterCounts(g: Graph): { total: number; tensors: number; byNode: Map<Node, number> } {
  const byNode = new Map<Node, number>();
  let total = 0;
  let tensors = 0;
  const counted = new Set<string>();
  for (const [name, t] of g.initializers) {
    if (!FLOAT.has(t.dtype) || t.size < 2) continue;
    total += t.size;
    tensors++;
    counted.add(name);
  }
  for (const n of g.nodes) {
    let own = 0;
    for (const i of new Set(n.inputs)) if (counted.has(i)) own += g.initializers.get(i)!.size;
    if (n.opType === 'Constant') {
      const a = n.attrs.value;
      if (a?.type === 'tensor' && FLOAT.has(a.value.dtype) && a.value.size >= 2) {
        own += a.value.size;
        total += a.value.size;
        tensors++;
      }
    }
    if (own) byNode.set(n, own);
  }
  return { total, tensors, byNode };
}

/**
 * Groups nodes by the shortest prefix of their names that splits the graph into at least 4 contiguous
 * blocks (at most 64): '/features/features.3/conv/Conv' -> 'features/features.3'; 'block_11_expand' ->
 * 'block_11'.
 */
function blockNamer(nodes: Node[]): (n: Node) => string {
  const parts = nodes.map((n) => n.name.split(/[/]+/).filter(Boolean));
  let best: { depth: number; groups: number } | undefined;
  for (let depth = 1; depth <= 6; depth++) {
    const keys = parts.map((p) =>
      p.length > depth ? p.slice(0, depth).join('/') : p.slice(0, -1).join('/') || '(top)',
    );
    const runs: string[] = [];
    for (const k of keys) if (runs[runs.length - 1] !== k) runs.push(k);
    const distinct = new Set(runs).size;
    // contiguous: a block's nodes form (nearly) one run
    if (distinct < 2 || distinct > 64 || runs.length > distinct * 1.5) continue;
    // The coarsest level that still shows the network's stages ('features.3', 'layer2', 'stack_4').
    if (distinct >= 4) {
      best = { depth, groups: distinct };
      break;
    }
    if (!best || distinct > best.groups) best = { depth, groups: distinct };
  }
  if (best) {
    const d = best.depth;
    return (n) => {
      const p = n.name.split(/[/]+/).filter(Boolean);
      const key = p.length > d ? p.slice(0, d) : p.slice(0, -1);
      // Keep only the segments that tell blocks apart ('StatefulPartitionedCall/model/stack_6' -> 'stack_6').
      return key.slice(-2).join('/') || '(top)';
    };
  }
  return (n) => /^([A-Za-z]+_?\d+)/.exec(n.name)?.[1] ?? (n.name.replace(/_[^_]*$/, '') || n.opType);
}

/**
 * Values through which all data flows: after their producer runs, no other data value is still waiting
 * to be consumed. Shape computations (Shape, and what is computed from shapes and constants) do not count.
 */
export function singleLiveValues(g: Graph): { value: string; node: Node }[] {
  const constant = new Set<string>(g.initializers.keys());
  const remaining = new Map<string, number>();
  const live = new Set<string>();
  const uses = (v: string) => g.consumers(v).length + (g.isGraphOutput(v) ? 1 : 0);
  for (const i of g.dataInputs) {
    remaining.set(i.name, uses(i.name));
    live.add(i.name);
  }
  const out: { value: string; node: Node }[] = [];
  for (const n of g.nodes) {
    const data = n.inputs.filter((v) => v && !constant.has(v));
    for (const v of new Set(data)) {
      const left = (remaining.get(v) ?? 1) - 1;
      remaining.set(v, left);
      if (left <= 0) live.delete(v);
    }
    const isMeta = META_OPS.has(n.opType) || n.opType === 'Constant' || data.length === 0;
    for (const o of n.outputs) {
      if (!o) continue;
      if (isMeta) {
        constant.add(o);
        continue;
      }
      const k = uses(o);
      if (k > 0) {
        remaining.set(o, k);
        live.add(o);
      }
    }
    const data0 = n.outputs.find((o) => o && live.has(o));
    if (!isMeta && live.size === 1 && data0 && !g.isGraphOutput(data0)) out.push({ value: data0, node: n });
  }
  return out;
}

function findClassifier(
  g: Graph,
  paramsByNode: Map<Node, number>,
  entry: ModelEntry | undefined,
): ModelReport['classifier'] {
  if (entry?.classifierNodes?.length) {
    const nodes = g.nodes.filter((n) => entry.classifierNodes!.some((c) => n.name === c || n.name.startsWith(`${c}/`)));
    if (nodes.length) {
      const first = nodes[0]!;
      const featureValue =
        entry.featureValue && g.producer(entry.featureValue) ? entry.featureValue : (dataInput(g, first) ?? '');
      return {
        nodes: nodes.map((n) => n.label),
        parameters: nodes.reduce((a, n) => a + (paramsByNode.get(n) ?? 0), 0),
        featureValue,
        numClasses: entry.numClasses,
        source: 'entry',
      };
    }
  }
  const out = g.outputs[0];
  if (!out) return undefined;
  const chain: Node[] = [];
  // stops at a node already in the chain: a damaged graph may loop back on itself
  for (let n = g.producer(out.name); n && HEAD_OPS.has(n.opType) && !chain.includes(n);) {
    chain.unshift(n);
    const next = dataInput(g, n);
    n = next ? g.producer(next) : undefined;
  }
  while (chain.length && SHAPE_ONLY.has(chain[0]!.opType)) chain.shift();
  const dense = chain.filter(
    (n) =>
      (n.opType === 'Gemm' || n.opType === 'MatMul') && n.inputs.some((i) => g.initializers.get(i)?.dims.length === 2),
  );
  if (!dense.length) return undefined;
  const lastW = dense[dense.length - 1]!.inputs.map((i) => g.initializers.get(i)).find((t) => t?.dims.length === 2)!;
  const last = dense[dense.length - 1]!;
  const transB = last.opType === 'Gemm' && last.intAttr('transB', 0) === 1;
  return {
    nodes: chain.map((n) => n.label),
    parameters: chain.reduce((a, n) => a + (paramsByNode.get(n) ?? 0), 0),
    featureValue: dataInput(g, chain[0]!) ?? '',
    numClasses: transB ? lastW.dims[0] : lastW.dims[1],
    source: 'detected',
  };
}

/** The input of a node that carries data (not an initializer). */
function dataInput(g: Graph, n: Node): string | undefined {
  return n.inputs.find((v) => v && !g.initializers.has(v));
}
