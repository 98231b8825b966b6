// Which execution provider the browser recipe trains on. The web runtime seam lists wasm always and webgpu
// once the browser gave it an adapter (an asynchronous question, so it is awaited here, before any session
// checks the synchronous listing); in Node the same recipe runs on onnxruntime-node's CPU.
import { GraftError } from '../errors.js';
import { detectBackends } from '../runtime/ort.js';
import type { Device } from '../runtime/session.js';

export type DeviceRequest = 'auto' | Device;

export interface DeviceChoice {
  device: Device;
  /** every provider usable here, as the runtime seam lists them */
  available: Device[];
}

/**
 * 'auto': in a browser (onnxruntime-web: wasm is listed), webgpu when an adapter exists, else wasm; under
 * onnxruntime-node, the CPU (its webgpu entry says the provider is bundled, not that an adapter exists).
 * A named device must be available, or a GraftError lists the ones that are.
 */
export async function chooseDevice(want: DeviceRequest = 'auto'): Promise<DeviceChoice> {
  const available = (await detectBackends()).filter((b) => b.bundled).map((b) => b.name as Device);
  const web = available.includes('wasm');
  if (want === 'auto') {
    const device: Device = web ? (available.includes('webgpu') ? 'webgpu' : 'wasm') : 'cpu';
    return { device, available };
  }
  if (!available.includes(want)) {
    throw new GraftError('CONFIG', `Execution provider '${want}' is not available here`, {
      expected: web
        ? 'wasm, or webgpu where the browser gives a WebGPU adapter'
        : 'a provider onnxruntime-node bundles',
      found: want,
      choices: available,
      fix:
        want === 'webgpu' && web
          ? "this browser gave no WebGPU adapter (chrome://gpu says why); use device 'wasm' or 'auto'"
          : "choose one of the valid choices, or 'auto'",
    });
  }
  return { device: want, available };
}
