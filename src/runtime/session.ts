import { GraftError } from '../errors.js';
import { type DType, type TypedArray } from '../onnx/dtype.js';
import { encodeModel } from '../onnx/codec.js';
import { Model } from '../onnx/graph.js';
import { legalizeForTarget } from '../autodiff/legalize.js';
import { detectBackends, ort } from './ort.js';

/** A tensor on the host: what callers feed and get back. */
export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: TypedArray;
}

export type Device = 'cpu' | 'webgpu' | 'cuda' | 'wasm' | 'webnn' | 'coreml' | 'dml';

export interface SessionOptions {
  /** execution provider by name; default 'cpu' */
  device?: Device;
  /** intra-op threads (0 or undefined: onnxruntime's default, one per core) */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** graph optimisation level; 'all' by default */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** log severity 0..4 (onnxruntime's); default 3 (errors only) */
  logLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * onnxruntime's memory pattern (default true): plans one block from the first run's allocations. Training
   * graphs should turn it off: the plan comes on top of what the first run allocated (MobileNetV2 full
   * fine-tuning at batch 32: peak RSS 5.6 GB with it, 3.2 GB without, same step time).
   */
  memoryPattern?: boolean;
  /** onnxruntime's CPU memory arena (default true) */
  memoryArena?: boolean;
  /**
   * rewrite the model for the provider's kernel bugs before running it (default true; WebGPU's grouped
   * convolutions of some widths, for one). Off only for probing the kernels themselves (graft doctor).
   */
  rewriteForProvider?: boolean;
}

/** Execution providers usable in this process (a frozen capability list). */
export function availableDevices(): readonly Device[] {
  const listed = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return Object.freeze(listed.filter((b) => b.bundled).map((b) => b.name as Device));
}

/** Every execution provider this onnxruntime build knows of, and whether its binaries are installed. */
export function listProviders(): readonly { name: string; bundled: boolean }[] {
  const listed = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return Object.freeze(listed.map((b) => ({ name: b.name, bundled: b.bundled })));
}

/** An onnxruntime inference session over a Graft model. Call `dispose()` when done. */
export class Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private constructor(private inner: ort.InferenceSession) {
    this.inputNames = inner.inputNames;
    this.outputNames = inner.outputNames;
  }

  static async create(model: Model | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const device = opts.device ?? 'cpu';
    // the browser seam learns of a WebGPU adapter asynchronously: settle that before checking the device
    const devices = (await detectBackends()).filter((b) => b.bundled).map((b) => b.name as Device);
    if (!devices.includes(device)) {
      throw new GraftError('CONFIG', `Execution provider '${device}' is not available here`, {
        expected: 'one of the providers this onnxruntime build bundles',
        found: device,
        choices: devices,
        fix:
          device === 'cuda'
            ? 'install onnxruntime-node with its CUDA binaries, or use --device cpu'
            : 'choose one of the valid choices',
      });
    }
    if (device === 'webgpu') prepareWebGpu();
    // inference graphs get the same rewrites training graphs are built with: WebGPU kernels compute some
    // grouped convolutions wrongly, silently (a model given as bytes is the caller's to prepare)
    const runnable =
      device === 'webgpu' && model instanceof Model && opts.rewriteForProvider !== false
        ? legalizedFor(model, device)
        : model;
    const bytes = runnable instanceof Uint8Array ? runnable : encodeModel(runnable);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: opts.logLevel ?? 3,
    };
    if (opts.intraOpThreads) options.intraOpNumThreads = opts.intraOpThreads;
    if (opts.interOpThreads) options.interOpNumThreads = opts.interOpThreads;
    if (opts.memoryPattern !== undefined) options.enableMemPattern = opts.memoryPattern;
    if (opts.memoryArena !== undefined) options.enableCpuMemArena = opts.memoryArena;
    try {
      return new Session(await ort.InferenceSession.create(bytes, options));
    } catch (e) {
      if (device === 'webgpu' && NO_ADAPTER.test((e as Error).message)) throw noWebGpuAdapter(e);
      throw new GraftError('RUNTIME', 'onnxruntime could not load the model', {
        found: (e as Error).message,
        fix: 'run `graft inspect` on the model; the op or opset may be unsupported by this onnxruntime',
        cause: e,
      });
    }
  }

  async run(feeds: Record<string, HostTensor>, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputs ? await this.inner.run(ortFeeds, [...outputs]) : await this.inner.run(ortFeeds);
    } catch (e) {
      throw new GraftError('RUNTIME', 'onnxruntime failed to run the model', {
        found: (e as Error).message,
        expected: `inputs ${this.inputNames.join(', ')}`,
        fix: 'check the shapes and types of the inputs fed',
        cause: e,
      });
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromOrt(t);
    return out;
  }

  async dispose(): Promise<void> {
    await this.inner.release();
  }
}

/*
 * WebGPU in Node. onnxruntime-node's bundled WebGPU provider (Dawn) reaches the GPU through Vulkan on Linux:
 * it loads the Vulkan loader (libvulkan.so.1), which finds the drivers (ICDs) installed on the machine, or
 * the ones VK_ICD_FILENAMES names. Measured with onnxruntime-node 1.30 on Debian 12:
 * - Dawn looks for an adapter once per process, at the first WebGPU session, and keeps a failure: a later
 *   session fails the same way even after the environment is fixed. So the environment must be right
 *   before the first WebGPU session; setting VK_ICD_FILENAMES inside the process before it works (the
 *   loader reads it when Dawn creates its Vulkan instance), after a failed session nothing does.
 * - Without a GPU, Chromium's SwiftShader (Debian's chromium: /usr/lib/chromium/vk_swiftshader_icd.json) is a
 *   working software adapter; Mesa's lavapipe is not (it lacks features Dawn requires). Chromium ships its
 *   own Vulkan loader beside that file, and a machine without a GPU usually has no system loader (Debian's
 *   libvulkan1). The dynamic linker reads LD_LIBRARY_PATH only at process start, but a loader already in
 *   the process is found by its soname: Graft loads the one beside the ICD file first, kept resident.
 * SwiftShader is never chosen silently: it is ~100x slower than a GPU, and a user who asked for a GPU
 * must learn that none was found. GRAFT_WEBGPU_ADAPTER=swiftshader asks for it (tests, CI, `graft doctor`).
 */

/** Chromium's Vulkan driver for SwiftShader, as Debian's chromium package installs it. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const NO_ADAPTER = /Failed to get a WebGPU adapter|No supported adapters/;
const RTLD_NOW = 2;
/** glibc: a library that stays mapped after dlclose (Node closes a library that is not an addon) */
const RTLD_NODELETE = 0x1000;

interface WebGpuSetup {
  adapter: 'system' | 'swiftshader';
  /** whether WebGPU goes through Vulkan here (Linux) */
  vulkan?: boolean;
  /** the Vulkan loader made available: 'system' (found by the dynamic linker), a path, or none */
  loader?: string;
  icd?: string;
}

let webGpuSetup: WebGpuSetup | undefined;

/** What the first WebGPU session of this process was prepared with (undefined before it). */
export function webGpuEnvironment(): Readonly<WebGpuSetup> | undefined {
  return webGpuSetup;
}

function prepareWebGpu(): void {
  if (webGpuSetup) return;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (!proc?.versions?.node) {
    webGpuSetup = { adapter: 'system' };
    return;
  }
  const env = proc.env;
  const wanted = env.GRAFT_WEBGPU_ADAPTER;
  if (wanted !== undefined && wanted !== '' && wanted !== 'system' && wanted !== 'swiftshader') {
    throw new GraftError('CONFIG', 'GRAFT_WEBGPU_ADAPTER names an unknown adapter', {
      expected: "'system' (the machine's GPU drivers, the default) or 'swiftshader' (software, for testing)",
      found: wanted,
      choices: ['system', 'swiftshader'],
      fix: 'set GRAFT_WEBGPU_ADAPTER to one of the valid choices, or unset it',
    });
  }
  const setup: WebGpuSetup = { adapter: wanted === 'swiftshader' ? 'swiftshader' : 'system' };
  if (setup.adapter === 'swiftshader') env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  setup.icd = env.VK_ICD_FILENAMES || undefined;
  if (proc.platform === 'linux') {
    setup.vulkan = true;
    const beside = (setup.icd ?? '')
      .split(':')
      .filter((f) => f.includes('/'))
      .map((f) => `${f.slice(0, f.lastIndexOf('/'))}/libvulkan.so.1`);
    for (const candidate of ['libvulkan.so.1', ...beside]) {
      try {
        proc.dlopen({ exports: {} }, candidate, RTLD_NOW | RTLD_NODELETE);
      } catch (e) {
        // Loaded, but not a Node addon: exactly what is wanted here. Any other failure: not there.
        if (!/did not self-register/.test((e as Error).message)) continue;
      }
      setup.loader = candidate === 'libvulkan.so.1' ? 'system' : candidate;
      break;
    }
  }
  webGpuSetup = setup;
}

function noWebGpuAdapter(cause: unknown): GraftError {
  const setup = webGpuSetup ?? { adapter: 'system' };
  let found: string;
  if (setup.adapter === 'swiftshader') {
    found = setup.loader
      ? `SwiftShader (${SWIFTSHADER_ICD}) gave no adapter`
      : `no SwiftShader: ${SWIFTSHADER_ICD} and the Vulkan loader beside it are missing`;
  } else if (setup.vulkan && !setup.loader) {
    found = 'no Vulkan loader (libvulkan.so.1) on this machine';
  } else {
    found = `no usable GPU driver${setup.icd ? ` in VK_ICD_FILENAMES=${setup.icd}` : ''}`;
  }
  return new GraftError('RUNTIME', 'No WebGPU adapter: onnxruntime found no GPU to run on', {
    expected: 'a GPU with a Vulkan driver (Linux), Metal (macOS) or Direct3D 12 (Windows)',
    found,
    fix:
      setup.adapter === 'swiftshader'
        ? "install Debian's chromium (apt-get install chromium), which provides SwiftShader, or use --device cpu"
        : "install the GPU's Vulkan driver and the Vulkan loader (Debian: apt-get install libvulkan1), or use " +
          '--device cpu; without a GPU, GRAFT_WEBGPU_ADAPTER=swiftshader runs WebGPU in software over ' +
          "Chromium's SwiftShader (slow; for testing). WebGPU cannot be retried in this process once it failed",
    cause,
  });
}

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  float16: 'float16',
  int16: 'int16',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
};

function toOrt(t: HostTensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new GraftError('BAD_INPUT', `Cannot feed a ${t.dtype} tensor to onnxruntime`);
  return new ort.Tensor(type, t.data as ort.Tensor.DataType, [...t.dims]);
}

function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = (t.type === 'bool' ? 'bool' : t.type) as DType;
  return { dtype, dims: [...t.dims], data: t.data as TypedArray };
}

/** Convenience: a float32 host tensor. */
export function f32(data: Float32Array | number[], dims: readonly number[]): HostTensor {
  return { dtype: 'float32', dims, data: data instanceof Float32Array ? data : Float32Array.from(data) };
}

export function f64(data: Float64Array | number[], dims: readonly number[]): HostTensor {
  return { dtype: 'float64', dims, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

export function i64(data: readonly number[] | BigInt64Array, dims: readonly number[]): HostTensor {
  return {
    dtype: 'int64',
    dims,
    data: data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v)),
  };
}

/** A copy of the model with the rewrites the provider's kernels need (the original is left as it is). */
function legalizedFor(model: Model, device: Device): Model {
  const copy = model.clone();
  legalizeForTarget(copy, device);
  return copy;
}
