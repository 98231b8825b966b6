import type { DType } from '../onnx/dtype.js';
import { Node, type Graph } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { isBatchNormTraining } from './rules/norm.js';

// Rewrites of the forward graph inside a training graph: same function, better (or safer) under onnxruntime.

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/** Both rewrites below, in order. Values named in `keep` (the logits) keep their producers. */
export function prepareForward(g: Graph, opset: number, keep: ReadonlySet<string>): void {
  foldBatchNorms(g, opset, keep);
  shieldConvSums(g);
}

/**
 * Writes Add(Conv(...), z) as Sum(Conv(...), z). With static shapes, onnxruntime's 'all' level fuses such an
 * Add into the Conv (FusedConv with a "sum" input) and lets the Conv write into z's buffer; when the
 * backward pass still reads z through a Reshape (a residual block's input feeding the next Conv's weight
 * gradient), the gradients come out wrong (MobileNetV2 at batch 2, 64x64: 2e-2 relative error against
 * PyTorch, 5e-6 with this rewrite). Sum is the same function and is not fused.
 */
export function shieldConvSums(g: Graph): number {
  let n = 0;
  for (const node of g.nodes) {
    if (node.opType !== 'Add' || !isDefault(node)) continue;
    if (!node.inputs.some((v) => g.producer(v)?.opType === 'Conv')) continue;
    node.opType = 'Sum';
    n++;
  }
  if (n) g.touch();
  return n;
}

function scalarTensor(name: string, value: number, dtype: DType): Tensor {
  return Tensor.from(name, dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value), [], dtype);
}

/**
 * Folds each inference-mode BatchNormalization into the Conv that feeds it (and nothing else), the way
 * onnxruntime folds them in inference models, but with the folding written as graph nodes so it still
 * holds when the weights and BN parameters are graph inputs that change every step:
 *   k = scale / sqrt(var + eps),  w' = w * k[:, None...],  b' = B + (b - mean) * k,  y = Conv(x, w', b').
 * The training graph then has no BN pass forward or backward, and the Conv's own output (which the BN
 * backward needs for d scale) is never materialised. The BN's gradients come out of the fold's small ops.
 * Returns the number of BatchNormalization nodes folded. Values named in `keep` are left alone.
 */
export function foldBatchNorms(g: Graph, opset: number, keep: ReadonlySet<string> = new Set()): number {
  let folded = 0;
  for (const bn of [...g.nodes]) {
    if (bn.opType !== 'BatchNormalization' || !isDefault(bn) || isBatchNormTraining(bn, opset)) continue;
    const x = bn.inputs[0]!;
    const conv = g.producer(x);
    if (!conv || conv.opType !== 'Conv' || !isDefault(conv)) continue;
    if (g.consumers(x).length !== 1 || g.isGraphOutput(x) || keep.has(x)) continue;
    const w = conv.inputs[1]!;
    const wInfo = g.info(w);
    const rank = wInfo?.shape?.length;
    const dtype = wInfo?.dtype;
    if (rank === undefined || (dtype !== 'float32' && dtype !== 'float64')) continue;
    if (bn.inputs.slice(1).some((v) => !v || (g.info(v)?.dtype ?? dtype) !== dtype)) continue;
    const [scale, bias, mean, variance] = bn.inputs.slice(1) as [string, string, string, string];
    const base = `fold/${bn.name || bn.outputs[0]}`;
    const value = (suffix: string) => g.uniqueName(`${base}/${suffix}`);
    const constant = (suffix: string, t: (name: string) => Tensor) => {
      const name = value(suffix);
      g.initializers.set(name, t(name));
      return name;
    };
    const add = (opType: string, inputs: string[], suffix: string) => {
      const out = value(suffix);
      g.addNode(new Node({ name: g.uniqueName(`${base}/${opType}`), opType, inputs, outputs: [out] }));
      return out;
    };
    const eps = constant('eps', (n) => scalarTensor(n, bn.floatAttr('epsilon', 1e-5), dtype));
    const half = constant('minus_half', (n) => scalarTensor(n, -0.5, dtype));
    const invStd = add('Pow', [add('Add', [variance, eps], 'var_eps'), half], 'inv_std');
    const k = add('Mul', [scale, invStd], 'k');
    const shape = constant('k_shape', (n) =>
      Tensor.from(n, BigInt64Array.from([-1n, ...new Array<bigint>(rank - 1).fill(1n)]), [rank], 'int64'),
    );
    const wFolded = add('Mul', [w, add('Reshape', [k, shape], 'k_col')], 'weight');
    const shift = conv.inputs[2] ? add('Sub', [conv.inputs[2], mean], 'shift') : add('Neg', [mean], 'shift');
    const bFolded = add('Add', [bias, add('Mul', [shift, k], 'shift_k')], 'bias');
    conv.inputs = [conv.inputs[0]!, wFolded, bFolded];
    conv.outputs = [bn.outputs[0]!];
    g.nodes.splice(g.nodes.indexOf(bn), 1);
    g.valueInfo.delete(x);
    g.touch();
    folded++;
  }
  return folded;
}
