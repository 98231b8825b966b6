// The gradient-check rows of one rule family, shared by its finite-difference test (rules/conv.test.ts) and
// the provider parity suite (provider-parity.test.ts).
import type { GradCheckCase } from '../../gradcheck.js';

// onnxruntime has no float64 Conv/ConvTranspose kernels. Convolution is linear in each input, so the
// float32 central difference with a large step carries no truncation error, only rounding: tol 1e-3.
const f32 = { dtype: 'float32', tol: 1e-3, step: 0.5 } as const;

function conv(x: number[], w: number[], attrs: GradCheckCase['attrs'] = {}, bias = true): GradCheckCase {
  return {
    op: 'Conv',
    ...f32,
    attrs,
    inputs: [{ shape: x }, { shape: w }, ...(bias ? [{ shape: [w[0]!] }] : [])],
  };
}

/**
 * Conv and ConvTranspose: dense, 1x1, strided, padded wider than the kernel, dilated, auto_pad, grouped,
 * depthwise (with a multiplier, 5x5, large maps), 1-D and 3-D, symbolic sizes.
 */
export const CONV_ROWS: readonly GradCheckCase[] = [
  // dense, stride 1, with and without padding and bias
  conv([2, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }),
  conv([2, 3, 6, 5], [4, 3, 3, 2], {}, false),
  // padding wider than the kernel span (the adjoint conv crops)
  conv([1, 2, 5, 5], [3, 2, 3, 3], { pads: [3, 0, 1, 4] }),
  // 1x1, stride 1 and 2
  conv([2, 5, 4, 4], [3, 5, 1, 1]),
  conv([2, 5, 7, 6], [3, 5, 1, 1], { strides: [2, 2] }),
  // strided dense: ConvTranspose with output_padding (odd and even sizes)
  conv([2, 3, 7, 7], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv([2, 3, 8, 9], [4, 3, 3, 3], { strides: [2, 3], pads: [1, 0, 1, 2] }),
  // asymmetric pads as TF exports stride-2 SAME convolutions
  conv([2, 3, 8, 8], [4, 3, 3, 3], { strides: [2, 2], pads: [0, 0, 1, 1] }),
  // dilation
  conv([2, 3, 9, 9], [4, 3, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  conv([2, 3, 9, 10], [4, 3, 3, 3], { dilations: [2, 1], strides: [2, 2], pads: [1, 1, 1, 1] }),
  // auto_pad
  conv([2, 3, 7, 7], [4, 3, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  conv([2, 3, 8, 8], [4, 3, 3, 3], { auto_pad: 'SAME_LOWER', strides: [2, 2] }),
  conv([2, 3, 6, 6], [4, 3, 4, 4], { auto_pad: 'SAME_LOWER' }),
  conv([2, 3, 6, 6], [4, 3, 4, 4], { auto_pad: 'SAME_UPPER' }),
  conv([2, 3, 7, 8], [4, 3, 3, 3], { auto_pad: 'VALID', strides: [2, 2] }),
  // groups: grouped, depthwise (stride 1 and 2, SAME-style asymmetric pads), depthwise with a multiplier
  conv([2, 4, 6, 6], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }),
  conv([2, 4, 7, 7], [6, 2, 3, 3], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv([2, 4, 6, 6], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1] }),
  conv([2, 4, 8, 8], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv([2, 4, 9, 9], [4, 1, 5, 5], { group: 4, strides: [2, 2], pads: [1, 1, 2, 2] }),
  conv([2, 4, 8, 7], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [0, 0, 1, 1] }),
  conv([2, 4, 9, 9], [4, 1, 3, 3], { group: 4, strides: [3, 2], dilations: [1, 2], pads: [1, 2, 1, 2] }),
  conv([2, 3, 6, 6], [6, 1, 3, 3], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }),
  // depthwise on maps of 32x32 and more: the unfold + MatMul weight gradient (smaller maps and 5x5 kernels
  // use the batch/channel swap)
  conv([1, 3, 34, 34], [3, 1, 3, 3], { group: 3, pads: [1, 1, 1, 1] }),
  conv([2, 2, 66, 65], [2, 1, 3, 3], { group: 2, strides: [2, 2], pads: [0, 0, 1, 1] }),
  conv([2, 2, 12, 12], [2, 1, 5, 5], { group: 2, strides: [2, 2], pads: [1, 1, 2, 2] }),
  // 1-D and 3-D
  conv([2, 3, 9], [4, 3, 3], { strides: [2], pads: [1, 1] }),
  conv([2, 2, 9], [2, 1, 3], { group: 2, strides: [2], pads: [1, 0] }),
  conv([1, 2, 4, 5, 4], [3, 2, 2, 3, 2], { pads: [1, 1, 0, 0, 1, 1] }),
  // batch size only known at run time (the graph input is [N, ...] in real models)
  {
    ...conv([2, 4, 8, 8], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }),
    name: 'Conv depthwise stride 2 with a symbolic batch',
    graph: (b, [x, w, bias]) => {
      b.graph.inputs.find((i) => i.name === x)!.shape = ['N', 4, 8, 8];
      return [b.op('Conv', [x!, w!, bias!], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] })];
    },
  },
  {
    ...conv([2, 3, 7, 9], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
    name: 'Conv stride 2 with symbolic batch and spatial sizes',
    graph: (b, [x, w, bias]) => {
      b.graph.inputs.find((i) => i.name === x)!.shape = ['N', 3, 'H', 'W'];
      return [b.op('Conv', [x!, w!, bias!], { strides: [2, 2], pads: [1, 1, 1, 1] })];
    },
  },
  // ConvTranspose
  { op: 'ConvTranspose', ...f32, inputs: [{ shape: [2, 3, 4, 4] }, { shape: [3, 2, 3, 3] }, { shape: [2] }] },
  {
    op: 'ConvTranspose',
    ...f32,
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3, 2, 3, 3] }],
  },
  {
    op: 'ConvTranspose',
    ...f32,
    attrs: { strides: [2, 2], group: 3, dilations: [1, 2], pads: [0, 1, 1, 0] },
    inputs: [{ shape: [2, 3, 4, 4] }, { shape: [3, 2, 3, 3] }, { shape: [6] }],
  },
  {
    op: 'ConvTranspose',
    ...f32,
    attrs: { strides: [2, 2], output_shape: [9, 8] },
    inputs: [{ shape: [1, 2, 4, 4] }, { shape: [2, 3, 3, 3] }],
  },
  {
    op: 'ConvTranspose',
    ...f32,
    attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' },
    inputs: [{ shape: [1, 2, 4, 3] }, { shape: [2, 3, 3, 3] }],
  },
  {
    op: 'ConvTranspose',
    ...f32,
    attrs: { strides: [2], group: 2 },
    inputs: [{ shape: [2, 4, 5] }, { shape: [4, 1, 3] }],
  },
];
