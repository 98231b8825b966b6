/*
 * Training graphs are standard ONNX and run on every execution provider, but a provider's kernels can
 * compute some ops wrongly or not at all. The builder is told its target provider and, for 'webgpu', writes
 * those ops another way (here the choices the rules read; legalize.ts rewrites the rest); every other target
 * gets the CPU graph, node for node (target.test.ts).
 *
 * onnxruntime 1.30's WebGPU kernels, measured against its CPU kernels (onnxruntime-node over SwiftShader,
 * probes in provider-parity.test.ts and `graft doctor`; the browser's from issue 12). What Graft does:
 *
 *   kernel                                                     found                     formulation
 *   Conv, group > 1, 5-7, 9-11, 13-15, ... (>= 5, not a        wrong values (relative    output groups padded with zero
 *     multiple of 4) output channels per group, whenever       error ~1); the browser    kernels to a multiple of 4,
 *     that width is not a multiple of the vector width the     too (issue 12)            sliced off after (the unfold
 *     kernel picks from the total (4 if 4 | M, else 2 if                                 weight gradient pads its taps
 *     2 | M); 3x3 unfold = 9 per group                                                   to 12 for 3x3)
 *   ConvTranspose, group > 1, 1 output channel per group,      wrong values              a zero input channel per group
 *     an even number (2, 4, 8) of input channels per group                               (odd widths are right)
 *   Slice with step -1                                         wrong shape (browser)     Gather with reversed indices
 *   Conv without kernel_shape                                  fails (browser)           kernel_shape always written
 *   MaxPool with its Indices output                            "not supported yet"       gradient by unfold + ArgMax
 *   BatchNormalization in training mode                        "not supported yet"       written out in primitives
 *   LayerNormalization with a broadcast scale or bias          fails                     scale/bias expanded
 *   3-D Conv with groups (a 3-D weight gradient's unfold)      fails                     none: GraftError at build time
 *
 * Applied on the CPU the same formulations cost 6-10% per step (issue 12), so they stay provider-specific.
 */

/** Formulation choices the gradient rules read (GradContext.formulations). */
export interface Formulations {
  /** the provider the graph is built for; 'cpu' stands for every provider without known kernel bugs */
  readonly target: 'cpu' | 'webgpu';
  /** the unfold (im2col) Conv writes its taps padded to a group width the provider computes correctly */
  readonly padUnfoldTaps: boolean;
  /**
   * depthwise weight gradients always by unfold + MatMul: the batch/channel swap has a kernel whose size is
   * only known at run time (no kernel_shape) and groups as wide as the batch
   */
  readonly unfoldDepthwise: boolean;
  /** MaxPool's gradient without the node's Indices output: windows by unfold, the maximum by ArgMax */
  readonly maxPoolByUnfold: boolean;
}

const CPU: Formulations = Object.freeze({
  target: 'cpu',
  padUnfoldTaps: false,
  unfoldDepthwise: false,
  maxPoolByUnfold: false,
});
const WEBGPU: Formulations = Object.freeze({
  target: 'webgpu',
  padUnfoldTaps: true,
  unfoldDepthwise: true,
  maxPoolByUnfold: true,
});

/** The formulations for a provider name ('webgpu'; anything else, or nothing, gets the CPU's). */
export function formulationsFor(target?: string): Formulations {
  return target === 'webgpu' ? WEBGPU : CPU;
}

/**
 * Output channels per group of a grouped Conv that onnxruntime's WebGPU kernel computes correctly: the
 * width itself when it is at most 4 or a multiple of 4, else the next multiple of 4 (zero kernels fill up).
 */
export function safeGroupWidth(width: number): number {
  return width <= 4 || width % 4 === 0 ? width : Math.ceil(width / 4) * 4;
}
