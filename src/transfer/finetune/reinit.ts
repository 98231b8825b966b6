import type { Model } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { Rng, heNormal } from '../../util/rng.js';

export interface ReinitResult {
  model: Model;
  /** parameters given fresh values */
  reinitialized: string[];
  /** parameters left as they were (not a weight, bias or norm of a layer Graft knows how to initialise) */
  kept: string[];
}

/**
 * The same architecture with fresh weights, for training from scratch: convolution and MatMul weights
 * He-normal (fan-in), Gemm weights and biases uniform in +-1/sqrt(fan_in) (PyTorch's Linear), convolution
 * biases zero, BatchNormalization scale 1, shift 0, running mean 0, variance 1. Constants of other roles
 * (input scaling, masks) keep their values. Seeded: the same seed gives the same network.
 */
export function reinitialize(model: Model, params: readonly string[], seed: number): ReinitResult {
  const m = model.clone();
  const g = m.graph;
  const rng = new Rng(seed);
  const wanted = new Set(params);
  const done = new Set<string>();
  const set = (name: string, values: Float32Array) => {
    const t = g.initializers.get(name)!;
    g.initializers.set(name, Tensor.from(name, values, t.dims));
    done.add(name);
  };
  const fill = (name: string, v: number) => set(name, new Float32Array(g.initializers.get(name)!.size).fill(v));
  const pick = (name: string | undefined) =>
    name && wanted.has(name) && !done.has(name) && g.initializers.get(name)?.dtype === 'float32' ? name : undefined;
  for (const n of g.nodes) {
    const [i0, i1, i2, i3, i4] = n.inputs;
    switch (n.opType) {
      case 'Conv':
      case 'ConvTranspose': {
        const w = pick(i1);
        if (w) {
          const d = g.initializers.get(w)!.dims;
          const spatial = d.slice(2).reduce((a, b) => a * b, 1);
          const group = n.intAttr('group', 1);
          const fanIn = n.opType === 'Conv' ? d[1]! * spatial : (d[0]! / group) * spatial;
          set(w, heNormal(rng, fanIn, g.initializers.get(w)!.size));
        }
        const b = pick(i2);
        if (b) fill(b, 0);
        break;
      }
      case 'Gemm': {
        const w = pick(i1);
        const t = w ? g.initializers.get(w)! : undefined;
        const fanIn = t ? (n.intAttr('transB', 0) ? t.dims[1]! : t.dims[0]!) : 0;
        if (w && t) set(w, uniform(rng, t.size, 1 / Math.sqrt(fanIn)));
        const b = pick(i2);
        if (b && fanIn) set(b, uniform(rng, g.initializers.get(b)!.size, 1 / Math.sqrt(fanIn)));
        break;
      }
      case 'MatMul': {
        for (const v of [i0, i1]) {
          const w = pick(v);
          const t = w ? g.initializers.get(w)! : undefined;
          if (w && t && t.dims.length === 2) set(w, heNormal(rng, v === i1 ? t.dims[0]! : t.dims[1]!, t.size));
        }
        break;
      }
      case 'BatchNormalization': {
        for (const [v, value] of [
          [i1, 1],
          [i2, 0],
        ] as const) {
          const p = pick(v);
          if (p) fill(p, value);
        }
        // the statistics of the old weights mean nothing for the new ones
        for (const [v, value] of [
          [i3, 0],
          [i4, 1],
        ] as const) {
          if (v && g.initializers.get(v)?.dtype === 'float32') {
            g.initializers.set(
              v,
              Tensor.from(v, new Float32Array(g.initializers.get(v)!.size).fill(value), g.initializers.get(v)!.dims),
            );
          }
        }
        break;
      }
    }
  }
  g.touch();
  return { model: m, reinitialized: params.filter((p) => done.has(p)), kept: params.filter((p) => !done.has(p)) };
}

function uniform(rng: Rng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.uniform() * 2 - 1) * bound;
  return out;
}
