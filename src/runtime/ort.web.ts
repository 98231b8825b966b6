// The browser build of the runtime seam: package.json's "browser" field maps ./ort.ts to this file, so a
// browser bundle of Graft runs on onnxruntime-web (wasm, WebGPU) and never reaches onnxruntime-node. It
// exports what ./ort.ts exports; onnxruntime-web lacks onnxruntime-node's `listSupportedBackends`, so this
// file supplies one.
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

// Started when the module loads (where `navigator.gpu` exists), so a session created a moment later already
// sees the answer through the synchronous listing.
if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) void probeWebGpu();

/** onnxruntime-web's API plus `listSupportedBackends`, under the name the rest of Graft imports. */
export const ort: typeof web & { listSupportedBackends(): SupportedBackend[] } = Object.freeze({
  ...web,
  listSupportedBackends,
});
