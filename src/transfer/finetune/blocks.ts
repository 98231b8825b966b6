import type { Graph, Model, Node } from '../../onnx/graph.js';
import { parameterNames } from '../../surgery/params.js';
import { singleLiveValues } from '../../zoo/inspect.js';

/**
 * A contiguous piece of a network that is frozen or trained as a whole: the stem, one repeated unit
 * (an MBConv block `stack_5/block_3`, a residual block `layer2.0`, `features.7`), a top layer, the head.
 * Every block begins at a value through which all data flows, so the network can be split there.
 */
export interface Block {
  /** readable name: node-name prefix without the part every node shares ('stack_5/block_3') */
  name: string;
  index: number;
  /** 'unit': a repeated, numbered unit with at least two weight layers; 'stem'/'top': what lies before/after */
  kind: 'stem' | 'unit' | 'top' | 'head';
  /** node labels, in graph order */
  nodes: string[];
  /** learnable parameters first read by this block (BN running statistics excluded) */
  params: string[];
  /** number of scalar weights in `params` */
  paramCount: number;
  /** labels of the BatchNormalization nodes inside the block */
  batchNorms: string[];
  /** the value entering the block: a graph data input or a value through which all data flows */
  input: string;
  /** the value leaving the block (the input of the next one) */
  output: string;
}

export interface DetectBlocksOptions {
  /** names of the head's parameters; the nodes reading them (and what follows) form the 'head' block */
  headParams?: readonly string[];
}

const WEIGHT_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * Splits a model into blocks. Units come from numbered node-name segments ('stack_5/block_3',
 * 'layer2.0', 'block_11_expand' -> 'block_11'): the deepest numbered prefix whose nodes hold at least two
 * weight layers, so a residual block is one unit while its numbered convolutions ('conv1', 'conv.0.0') are
 * not. Nodes before the first unit form the stem; after the last, the top layers group by the first word
 * of their names ('top_conv', 'top_bn' -> 'top'). Blocks only ever start where a single value carries all
 * the data forward; a name change elsewhere (inside a residual branch) does not start a block. Blocks
 * without parameters join the block before them (pooling stays with the top, so a head starts at the
 * pooled features). Constants read
 * before the first weight layer (input scaling, mean and std folded into the graph) count as
 * preprocessing: they belong to no block and are never trained.
 */
export function detectBlocks(model: Model, opts: DetectBlocksOptions = {}): Block[] {
  const g = model.graph.clone().toposort();
  // Constants read before the first weight layer (input scaling, mean/std) are preprocessing, not weights.
  const firstWeight = g.nodes.findIndex((n) => WEIGHT_OPS.has(n.opType));
  const preprocessing = new Set(g.nodes.slice(0, Math.max(0, firstWeight)).flatMap((n) => n.inputs));
  const params = parameterNames(g).filter((p) => !preprocessing.has(p));
  const paramSet = new Set(params);
  const headParams = new Set(opts.headParams ?? []);
  const nodes = g.nodes;
  const segs = nodes.map((n) => pathSegments(n));
  const common = commonPrefixLength(segs);
  const unitKey = chooseUnitKeys(g, segs, paramSet);

  // boundary before node i: the single value alive just before it (graph input for the first node)
  const cutAfter = new Map<Node, string>();
  for (const c of singleLiveValues(g)) cutAfter.set(c.node, c.value);
  const firstInput = g.dataInputs[0]?.name ?? '';

  const firstUnit = unitKey.findIndex((k) => k !== undefined);
  let lastUnit = -1;
  unitKey.forEach((k, i) => {
    if (k !== undefined) lastUnit = i;
  });
  const headStart = nodes.findIndex((n) => n.inputs.some((v) => headParams.has(v)));

  const keyOf = (i: number): { key: string; kind: Block['kind'] } => {
    if (headStart >= 0 && i >= headStart) return { key: 'head', kind: 'head' };
    const u = unitKey[i];
    if (u !== undefined) return { key: u, kind: 'unit' };
    if (firstUnit < 0 || i < firstUnit) return { key: 'stem', kind: 'stem' };
    if (i > lastUnit) return { key: topWord(segs[i]!, common), kind: 'top' };
    // a stray node between units (a shared Add, a reshape) joins the unit around it
    return { key: unitKey[i - 1] ?? 'stem', kind: 'unit' };
  };

  interface Draft {
    key: string;
    kind: Block['kind'];
    from: number;
    to: number;
    input: string;
  }
  const drafts: Draft[] = [];
  let boundary = firstInput;
  nodes.forEach((n, i) => {
    const { key, kind } = keyOf(i);
    const cur = drafts[drafts.length - 1];
    if (!cur || (cur.key !== key && boundary !== '')) {
      drafts.push({ key, kind, from: i, to: i, input: boundary });
    } else cur.to = i;
    boundary = cutAfter.get(n) ?? '';
  });

  const hasParams = (d: Draft) => {
    for (let i = d.from; i <= d.to; i++) if (nodes[i]!.inputs.some((v) => paramSet.has(v))) return true;
    return false;
  };
  // blocks without parameters (pooling, reshapes) join the block before them, so a head starts at the
  // pooled features; before the first block with parameters (input scaling) they join the next one
  const merged: Draft[] = [];
  let carry: Draft | undefined;
  for (const d0 of drafts) {
    const d = carry ? { ...d0, from: carry.from, input: carry.input } : { ...d0 };
    carry = undefined;
    const last = merged[merged.length - 1];
    if (hasParams(d)) merged.push(d);
    else if (last) last.to = d.to;
    else carry = d;
  }
  if (carry) merged.push(carry);

  const claimed = new Set<string>();
  const blocks: Block[] = merged.map((d, index) => {
    const labels: string[] = [];
    const bns: string[] = [];
    const own: string[] = [];
    for (let i = d.from; i <= d.to; i++) {
      const n = nodes[i]!;
      labels.push(n.label);
      if (n.opType === 'BatchNormalization') bns.push(n.label);
      for (const v of n.inputs) {
        if (paramSet.has(v) && !claimed.has(v)) {
          claimed.add(v);
          own.push(v);
        }
      }
    }
    return {
      name: d.kind === 'unit' ? stripCommon(d.key, segs, common) : d.key,
      index,
      kind: d.kind,
      nodes: labels,
      params: own,
      paramCount: own.reduce((a, p) => a + (g.initializers.get(p)?.size ?? 0), 0),
      batchNorms: bns,
      input: d.input,
      output: '',
    };
  });
  blocks.forEach((b, i) => {
    b.output = blocks[i + 1]?.input ?? g.outputs[0]?.name ?? '';
  });
  dedupeNames(blocks);
  return blocks;
}

/** Name segments of a node: its '/'-separated path without the final op part ('Conv2D', 'Relu'). */
function pathSegments(n: Node): string[] {
  const name = n.name || n.outputs[0] || '';
  const parts = name.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(0, -1) : parts;
}

/**
 * The numbered part of a name segment: 'block_11_expand_BN' -> 'block_11', 'stack_1' -> 'stack_1',
 * 'layer2.0' -> 'layer2.0'; undefined when the segment has no number of its own ('expand_conv2d').
 */
export function numberedPrefix(segment: string): string | undefined {
  const inner = /^(.*?[A-Za-z][A-Za-z0-9]*[._]?\d+)_[A-Za-z]/.exec(segment);
  if (inner) return inner[1];
  return /[A-Za-z].*\d$/.test(segment) ? segment : undefined;
}

/**
 * For each node, the deepest numbered name prefix that covers at least two weight layers (the repeated
 * unit it belongs to), or undefined.
 */
function chooseUnitKeys(g: Graph, segs: string[][], params: Set<string>): (string | undefined)[] {
  const candidates = segs.map((s) => {
    const keys: string[] = [];
    for (let d = 0; d < s.length; d++) {
      const p = numberedPrefix(s[d]!);
      if (p !== undefined) keys.push([...s.slice(0, d), p].join('/'));
    }
    return keys;
  });
  const weights = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    if (!WEIGHT_OPS.has(n.opType) || !n.inputs.some((v) => params.has(v))) return;
    for (const k of candidates[i]!) weights.set(k, (weights.get(k) ?? 0) + 1);
  });
  return candidates.map((keys) => {
    for (let j = keys.length - 1; j >= 0; j--) if ((weights.get(keys[j]!) ?? 0) >= 2) return keys[j];
    return undefined;
  });
}

function commonPrefixLength(segs: string[][]): number {
  const withNames = segs.filter((s) => s.length > 1);
  if (withNames.length === 0) return 0;
  let k = 0;
  for (;;) {
    const s = withNames[0]![k];
    if (s === undefined || !withNames.every((x) => x[k] === s && x.length > k + 1)) return k;
    k++;
  }
}

/**
 * Name of a block after the last unit: the first numbered segment after the shared prefix ('features.18',
 * 'dense_1'), else the first word of the first segment ('top_bn' -> 'top', 'fc', 'logits').
 */
function topWord(s: string[], common: number): string {
  const rest = s.slice(Math.min(common, s.length - 1));
  for (const seg of rest) {
    const p = numberedPrefix(seg);
    if (p !== undefined) return p;
  }
  const seg = rest[0] ?? 'top';
  return seg.split(/[_.]/)[0] || seg;
}

function stripCommon(key: string, segs: string[][], common: number): string {
  const prefix = (segs.find((s) => s.length > common)?.slice(0, common) ?? []).join('/');
  return prefix && key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : key;
}

function dedupeNames(blocks: Block[]): void {
  const seen = new Map<string, number>();
  for (const b of blocks) {
    const k = seen.get(b.name) ?? 0;
    seen.set(b.name, k + 1);
    if (k > 0) b.name = `${b.name}#${k + 1}`;
  }
}
