import type { Model } from '../onnx/graph.js';

/**
 * Writes `kernel_shape` on every Conv and ConvTranspose that lacks it, from its weight's static shape, and
 * returns how many nodes it changed. ONNX infers the attribute from the weights, so the model means the
 * same on every provider; onnxruntime-web's WebGPU Conv kernel does not infer it and fails ("dilations
 * should be 2D", issue 12), so models that run in a browser's WebGPU need it written. PyTorch's exporter
 * writes it; models built by hand, Graft's own test backbones and some converters leave it out.
 */
export function writeKernelShapes(model: Model): number {
  const g = model.graph;
  let changed = 0;
  for (const n of g.nodes) {
    if ((n.opType !== 'Conv' && n.opType !== 'ConvTranspose') || (n.domain !== '' && n.domain !== 'ai.onnx')) continue;
    if (n.attrs.kernel_shape) continue;
    const w = n.inputs[1];
    if (!w) continue;
    const dims = g.initializers.get(w)?.dims ?? g.info(w)?.shape;
    if (!dims || dims.length < 3 || !dims.every((d): d is number => typeof d === 'number')) continue;
    n.attrs.kernel_shape = { type: 'ints', value: dims.slice(2) };
    changed++;
  }
  if (changed) g.touch();
  return changed;
}
