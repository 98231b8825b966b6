// The one place onnxruntime is imported. Browser builds get ./ort.web.ts instead: package.json's "browser"
// field maps this file to it, which esbuild, Vite, webpack and Rollup (node-resolve with `browser: true`)
// follow, while Node, tsx and tsc keep this file. Both export the same two names.
import { listSupportedBackends } from 'onnxruntime-node';

export * as ort from 'onnxruntime-node';

/** An execution provider this onnxruntime build can use, as onnxruntime-node lists them. */
export interface SupportedBackend {
  name: string;
  /** shipped inside the package (cuda needs a separate download) */
  bundled: boolean;
}

/**
 * The execution providers of this process. onnxruntime-node knows them at once; the browser seam has to ask
 * the browser for a WebGPU adapter first, so callers await this in both builds.
 */
export async function detectBackends(): Promise<readonly SupportedBackend[]> {
  return Object.freeze(listSupportedBackends().map((b) => Object.freeze({ name: b.name, bundled: b.bundled })));
}
