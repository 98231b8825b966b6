import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { shapeOf } from '../formats/json.js';
import { Emitter, type TfValue } from './emitter.js';
import { GRAPH_OPS, supportedGraphOps } from './graph_ops.js';
import { NodeView, inlineTensor, tfDType, type GraphDefJson, type TfNodeDef } from './graphdef.js';
import { NCHW } from './layout.js';
import {
  DENSE_TOKEN_INPUTS,
  type ReadFile,
  type SparseTokenInputs,
  type TfjsImportOptions,
  type TfjsModelJson,
} from './types.js';
import { loadWeights } from './weights.js';

const DEFAULT_OPSET = 17;

/**
 * Converts a TF.js graph model (model.json with a GraphDef `modelTopology` plus weight shards) into an
 * ONNX model that runs channels-first. TF node names become ONNX value and node names, so cut points such
 * as EfficientNet's `StatefulPartitionedCall/model/top_pool/Mean` keep their names; constants become
 * initializers under their TF names (kernels transposed to OIHW).
 */
export async function importTfjsGraphModel(
  modelJson: TfjsModelJson,
  readFile: ReadFile,
  opts: TfjsImportOptions = {},
): Promise<Model> {
  const graphDef = modelJson.modelTopology as GraphDefJson | undefined;
  if (!graphDef || !Array.isArray(graphDef.node)) {
    throw new GraftError('BAD_MODEL', 'Not a TF.js graph model: modelTopology has no node list', {
      file: 'model.json',
      expected: 'modelTopology: { node: [...] } (format "graph-model")',
      found: graphDef ? `a modelTopology that is ${shapeOf(graphDef)}` : 'no modelTopology',
      fix: 'for Keras/layers models use importTfjsLayersModel (or importTfjsModel, which detects the format)',
    });
  }
  checkSupported(graphDef.node);
  const weights = await loadWeights(modelJson.weightsManifest, readFile);
  const opset = checkOpset(opts.opset);
  const layout = opts.inputLayout ?? 'NCHW';
  const em = new Emitter(opts.graphName ?? 'tfjs_graph_model', opset);
  em.labelBatch = !opts.sparseTokenInputs;

  const byName = new Map(graphDef.node.map((n) => [n.name, n]));
  const outputs = opts.outputs?.length
    ? opts.outputs.map((ref) => {
        const [node, index] = parseRef(ref);
        if (!byName.has(node)) {
          throw new GraftError('NOT_FOUND', `No node named '${node}' in the graph`, {
            value: ref,
            fix: 'pass TF node names as they appear in model.json (e.g. StatefulPartitionedCall/model/top_pool/Mean)',
          });
        }
        return { node, index };
      })
    : outputNames(modelJson, graphDef.node);
  const order = topoOrder(
    outputs.map((o) => o.node),
    byName,
  );
  const values = new Map<string, TfValue>();
  const valueOf = (ref: string, consumer: string): TfValue => {
    const [node, index] = parseRef(ref);
    const v = values.get(`${node}:${index}`);
    if (!v) {
      throw new GraftError('BAD_MODEL', `Node reads '${ref}', which no node produces`, {
        node: consumer,
        value: ref,
        fix: 'the model graph is malformed; re-convert it',
      });
    }
    return v;
  };

  checkSparseInputs(opts.sparseTokenInputs, byName);
  let denseTokens: { indices: TfValue; values: TfValue } | undefined;
  for (const def of order) {
    const node = new NodeView(def);
    let produced: TfValue[];
    if (def.op === 'Const') produced = [constant(def, weights)];
    else if (def.op === 'Placeholder') {
      const sparse = opts.sparseTokenInputs;
      produced =
        sparse && (def.name === sparse.indices || def.name === sparse.values)
          ? [(denseTokens ??= denseTokenBatch(em, sparse, byName))[def.name === sparse.indices ? 'indices' : 'values']]
          : [placeholder(node, em, opts, layout)];
    } else if (def.op === 'NoOp') produced = [];
    else {
      const inputs = (def.input ?? []).filter((r) => !r.startsWith('^')).map((r) => valueOf(r, def.name));
      const convert = GRAPH_OPS[def.op]!;
      const out = convert({ node, name: def.name, em, inputs });
      produced = Array.isArray(out) ? out : [out];
    }
    produced.forEach((v, i) => values.set(`${def.name}:${i}`, v));
  }

  const graphOutputs = outputs.map(({ node, index }) => {
    const v = valueOf(`${node}:${index}`, node);
    const rank4 = v.shape?.length === 4;
    return { v, name: index === 0 ? node : `${node}:${index}`, perm: rank4 && layout === 'NCHW' ? NCHW : undefined };
  });
  const metadata = new Map<string, string>([
    ['graft.import.format', 'tfjs-graph-model'],
    ['graft.import.sourceLayout', 'NHWC'],
    ['graft.import.inputLayout', layout],
  ]);
  if (modelJson.convertedBy) metadata.set('graft.import.convertedBy', String(modelJson.convertedBy));
  if (modelJson.generatedBy) metadata.set('graft.import.generatedBy', String(modelJson.generatedBy));
  const rank4 = graphOutputs.filter((o) => o.v.shape?.length === 4).map((o) => o.name);
  if (rank4.length)
    metadata.set('graft.import.outputLayout', JSON.stringify(Object.fromEntries(rank4.map((n) => [n, layout]))));
  return em.finish(graphOutputs, opset, metadata);
}

export function checkOpset(opset: number | undefined): number {
  const v = opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(v) || v < 15 || v > 21) {
    throw new GraftError('CONFIG', `Cannot write opset ${v}`, {
      expected: 'an opset from 15 to 21',
      found: String(v),
      fix: `leave opset unset (${DEFAULT_OPSET}) or choose one in range`,
    });
  }
  return v;
}

/** Fails once, listing every op the importer lacks, before any work is done. */
function checkSupported(nodes: TfNodeDef[]): void {
  const missing = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.op === 'Const' || n.op === 'Placeholder' || n.op === 'NoOp' || GRAPH_OPS[n.op]) continue;
    const list = missing.get(n.op) ?? [];
    list.push(n.name);
    missing.set(n.op, list);
  }
  if (!missing.size) return;
  const [op, names] = [...missing][0]!;
  throw new GraftError('UNSUPPORTED_OP', `The TF.js graph model uses ops Graft cannot import`, {
    op,
    node: names[0],
    found: [...missing]
      .map(([o, ns]) => `${o} (${ns.length} node${ns.length > 1 ? 's' : ''}, e.g. '${ns[0]}')`)
      .join('; '),
    choices: supportedGraphOps(),
    fix: 'export the model with supported ops, or convert it to ONNX with tf2onnx and load the .onnx file',
  });
}

function parseRef(ref: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? [m[1]!, Number(m[2])] : [ref, 0];
}

/** Graph outputs: the signature's if present, otherwise every node nothing else reads. */
function outputNames(modelJson: TfjsModelJson, nodes: TfNodeDef[]): { node: string; index: number }[] {
  const sig = modelJson.signature as { outputs?: Record<string, { name?: string }> } | undefined;
  const fromSig = sig?.outputs ? Object.entries(sig.outputs).map(([k, o]) => o.name ?? k) : [];
  if (fromSig.length) {
    return fromSig.map((ref) => {
      const [node, index] = parseRef(ref);
      return { node, index };
    });
  }
  const read = new Set<string>();
  for (const n of nodes) for (const r of n.input ?? []) read.add(parseRef(r.replace(/^\^/, ''))[0]);
  const sinks = nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp');
  if (!sinks.length) {
    throw new GraftError('BAD_MODEL', 'The graph has no output', {
      fix: 'the model graph is malformed; re-convert it',
    });
  }
  return sinks.map((n) => ({ node: n.name, index: 0 }));
}

/** Nodes needed for the outputs, producers first (iterative: graphs can be deep). */
function topoOrder(outputs: string[], byName: Map<string, TfNodeDef>): TfNodeDef[] {
  const order: TfNodeDef[] = [];
  const state = new Map<string, 1 | 2>();
  for (const root of outputs) {
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length) {
      const [name, done] = stack.pop()!;
      const def = byName.get(name);
      if (!def) {
        throw new GraftError('BAD_MODEL', `The graph refers to node '${name}', which it does not contain`, {
          value: name,
          fix: 'the model graph is malformed; re-convert it',
        });
      }
      if (done) {
        state.set(name, 2);
        order.push(def);
        continue;
      }
      const s = state.get(name);
      if (s === 2) continue;
      if (s === 1) {
        throw new GraftError('UNSUPPORTED_OP', 'The graph has a cycle (control flow)', {
          node: name,
          op: def.op,
          fix: 'Graft imports feed-forward graphs; export the model without while-loops',
        });
      }
      state.set(name, 1);
      stack.push([name, true]);
      for (const r of [...(def.input ?? [])].reverse()) {
        if (r.startsWith('^')) continue;
        const dep = parseRef(r)[0];
        if (state.get(dep) !== 2) stack.push([dep, false]);
      }
    }
  }
  return order;
}

function constant(def: TfNodeDef, weights: Map<string, import('./types.js').HostArray>): TfValue {
  const konst =
    weights.get(def.name) ?? (def.attr?.value?.tensor ? inlineTensor(def.attr.value.tensor, def.name) : undefined);
  if (!konst) {
    throw new GraftError('BAD_MODEL', `Const node '${def.name}' has no value`, {
      node: def.name,
      op: 'Const',
      expected: `a weight named '${def.name}' in weightsManifest, or an inline tensor`,
      found: 'neither',
      fix: 'check that all weight shards listed in model.json are present and belong to this model',
    });
  }
  // TF.js stores int64 constants as int32; the value keeps its TF type, so it meets int64 tensors as one
  const declared = def.attr?.dtype?.type;
  const int64 = konst.dtype === 'int32' && declared !== undefined && tfDType(declared, def.name) === 'int64';
  const dtype = int64 ? 'int64' : konst.dtype;
  return { name: def.name, dtype, shape: [...konst.shape], konst };
}

function placeholder(node: NodeView, em: Emitter, opts: TfjsImportOptions, layout: 'NCHW' | 'NHWC'): TfValue {
  const dtype = tfDType(node.type('dtype'), node.name);
  const shape = node.shape('shape');
  if (!shape) {
    throw new GraftError('UNSUPPORTED_OP', `Input '${node.name}' has no static rank`, {
      node: node.name,
      op: 'Placeholder',
      expected: 'a placeholder shape such as [-1, 224, 224, 3]',
      found: 'unknown rank',
      fix: 're-export the model with an input signature',
    });
  }
  const tfShape = [...shape];
  if (tfShape.length === 4 && opts.inputSize) {
    for (const i of [1, 2]) {
      const want = opts.inputSize[i - 1]!;
      if (tfShape[i]! >= 0 && tfShape[i] !== want) {
        throw new GraftError('SHAPE_MISMATCH', `Input '${node.name}' has a fixed size that differs from inputSize`, {
          node: node.name,
          expected: `[${opts.inputSize.join(', ')}]`,
          found: `[${tfShape[1]}, ${tfShape[2]}]`,
          fix: 'leave inputSize unset for models whose input size is fixed',
        });
      }
      tfShape[i] = want;
    }
  }
  const symbolic = tfShape.length === 4 ? (layout === 'NCHW' ? ['N', 'C', 'H', 'W'] : ['N', 'H', 'W', 'C']) : ['N'];
  return em.input(node.name, dtype, tfShape, layout, symbolic);
}

/** Both sparse parts must name int placeholders of the expected ranks, or the rewrite would be meaningless. */
function checkSparseInputs(sparse: SparseTokenInputs | undefined, byName: Map<string, TfNodeDef>): void {
  if (!sparse) return;
  for (const [part, name, rank] of [
    ['indices', sparse.indices, 2],
    ['values', sparse.values, 1],
  ] as const) {
    const def = byName.get(name);
    const node = def && new NodeView(def);
    const dtype = node && tfDType(node.type('dtype'), name);
    const shape = node?.shape('shape');
    if (!def || def.op !== 'Placeholder' || (dtype !== 'int32' && dtype !== 'int64') || shape?.length !== rank) {
      throw new GraftError('BAD_MODEL', `The sparse token ${part} are not an integer input of rank ${rank}`, {
        node: name,
        expected: `a Placeholder '${name}' of int32/int64 [${rank === 2 ? 'count, 2' : 'count'}]`,
        found: def ? `${def.op} ${dtype ?? ''} [${shape?.join(', ') ?? '?'}]` : 'no such node',
        fix: 'name the placeholders of the sparse token batch in sparseTokenInputs',
      });
    }
  }
}

/**
 * The sparse token batch computed from dense inputs: the coordinates of the kept positions (attention
 * mask 1, and not the skipped id) in row-major order, as a SparseTensor lists them, and the ids there.
 */
function denseTokenBatch(
  em: Emitter,
  sparse: SparseTokenInputs,
  byName: Map<string, TfNodeDef>,
): { indices: TfValue; values: TfValue } {
  const ids = em.input(DENSE_TOKEN_INPUTS.ids, 'int64', [-1, -1], 'NHWC', ['N', 'T']);
  const mask = em.input(DENSE_TOKEN_INPUTS.mask, 'int64', [-1, -1], 'NHWC', ['N', 'T']);
  const n = 'dense_tokens';
  let keep = em.emit1('Cast', [mask.onnx!], { to: 9 }, `${n}/mask`);
  if (sparse.skipId !== undefined) {
    const skip = em.int64s([sparse.skipId], `${n}/skip_id`);
    const isSkip = em.emit1('Equal', [ids.onnx!, skip], undefined, `${n}/is_skipped`);
    keep = em.emit1('And', [keep, em.emit1('Not', [isSkip], undefined, `${n}/not_skipped`)], undefined, `${n}/keep`);
  }
  const nz = em.emit1('NonZero', [keep], undefined, `${n}/NonZero`);
  const coords = em.emit1('Transpose', [nz], { perm: [1, 0] }, `${n}/indices`);
  const values = em.emit1('GatherND', [ids.onnx!, coords], undefined, `${n}/values`);
  // the graph reads them in its placeholders' type
  const typed = (name: string, v: string, shape: number[]): TfValue => {
    const dtype = tfDType(new NodeView(byName.get(name)!).type('dtype'), name);
    const onnx = dtype === 'int64' ? v : em.emit1('Cast', [v], { to: 6 }, `${v}/int32`);
    return em.produced({ name, dtype, shape, onnx });
  };
  return { indices: typed(sparse.indices, coords, [-1, 2]), values: typed(sparse.values, values, [-1]) };
}
