// The browser build of the runtime seam: package.json's "browser" field maps ./ort.ts to this file, so a
// browser bundle of Graft runs on onnxruntime-web (wasm, WebGPU) and never reaches onnxruntime-node. It
// exports what ./ort.ts exports, and makes onnxruntime-web take what the rest of Graft passes the Node one:
// - onnxruntime-web lacks `listSupportedBackends`; this file supplies one (wasm, and webgpu once the browser
//   gave an adapter).
// - onnxruntime-web ignores the `intraOpNumThreads` session option: its wasm build has one thread pool, sized
//   from `env.wasm.numThreads` when the first session starts. The first session's `intraOpNumThreads` sizes it
//   here (unless the page set `env.wasm.numThreads` itself), so `threads` means the same in both builds.
import * as web from 'onnxruntime-web';
import type { SupportedBackend } from './ort.js';

export type { SupportedBackend };

/** The part of WebGPU's `navigator.gpu` the probe uses (TypeScript's DOM library has no WebGPU types). */
interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

let probe: Promise<boolean> | undefined;
let webgpu = false;

/** Asks the browser once for a WebGPU adapter; `navigator.gpu` alone does not mean one exists. */
function probeWebGpu(refresh = false): Promise<boolean> {
  if (probe && !refresh) return probe;
  probe = (async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    let found = false;
    if (gpu && typeof gpu.requestAdapter === 'function') {
      try {
        found = (await gpu.requestAdapter()) != null;
      } catch {
        found = false;
      }
    }
    webgpu = found;
    return found;
  })();
  return probe;
}

/**
 * onnxruntime-node's `listSupportedBackends` for the browser: wasm always (also under onnxruntime's name
 * 'cpu', which onnxruntime-web registers for it, so the default device works), webgpu once the adapter probe
 * found an adapter. Synchronous like the Node one, so it reports what the probe knows so far; await
 * `detectBackends()` for the settled answer.
 */
function listSupportedBackends(): SupportedBackend[] {
  const names = ['cpu', 'wasm', ...(webgpu ? ['webgpu'] : [])];
  return names.map((name) => ({ name, bundled: true }));
}

/** The execution providers usable in this page or worker, after asking for a WebGPU adapter. */
export async function detectBackends(opts: { refresh?: boolean } = {}): Promise<readonly SupportedBackend[]> {
  await probeWebGpu(opts.refresh);
  return Object.freeze(listSupportedBackends().map((b) => Object.freeze(b)));
}

/**
 * onnxruntime-web's wasm threads run in module workers loaded from the script that holds onnxruntime-web,
 * which in a bundle is the bundle itself, named 'em-pthread...'. Such a worker only runs wasm kernels.
 */
const inThreadWorker = () => String((globalThis as { name?: unknown }).name ?? '').startsWith('em-pthread');

// Started when the module loads (where `navigator.gpu` exists), so a session created a moment later already
// sees the answer through the synchronous listing. Not in onnxruntime's own thread workers: they load this
// bundle too, and must not each ask the GPU process for an adapter.
if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu && !inThreadWorker()) void probeWebGpu();

let poolThreads: number | undefined;

/** The threads of onnxruntime-web's wasm pool once a session started it (undefined before). */
export function wasmThreads(): number | undefined {
  return poolThreads;
}

type CreateArgs = Parameters<typeof web.InferenceSession.create>;

/** onnxruntime-web's `InferenceSession.create`, the first call sizing the wasm thread pool from the options. */
async function createSession(...args: unknown[]): Promise<web.InferenceSession> {
  if (poolThreads === undefined) {
    // the options are the one plain object among the arguments (the model is a string, buffer or view)
    const options = args.find(
      (a): a is web.InferenceSession.SessionOptions =>
        typeof a === 'object' && a !== null && Object.getPrototypeOf(a) === Object.prototype,
    );
    const threads = options?.intraOpNumThreads;
    if (threads && threads > 0 && !web.env.wasm.numThreads) web.env.wasm.numThreads = threads;
  }
  const session = await web.InferenceSession.create(...(args as CreateArgs));
  // onnxruntime-web wrote the pool's size back (1 where the page is not cross-origin isolated)
  poolThreads ??= web.env.wasm.numThreads;
  return session;
}

const InferenceSession = Object.freeze({ create: createSession }) as unknown as typeof web.InferenceSession;

/** onnxruntime-web's API plus `listSupportedBackends`, under the name the rest of Graft imports. */
export const ort: typeof web & { listSupportedBackends(): SupportedBackend[] } = Object.freeze({
  ...web,
  InferenceSession,
  listSupportedBackends,
});
