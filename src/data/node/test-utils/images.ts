// Helpers for tests: write small images of every awkward kind into a temporary folder with sharp.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';

export function tempDir(prefix = 'graft-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function put(path: string, bytes: Uint8Array | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** A deterministic, asymmetric RGB test pattern (interleaved HWC, 0..255). */
export function pattern(width: number, height: number, seed = 0): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[i] = (x * 255) / Math.max(1, width - 1);
      out[i + 1] = (y * 255) / Math.max(1, height - 1);
      out[i + 2] = (x * 31 + y * 17 + seed * 53) % 256;
    }
  }
  return out;
}

/** A smooth pattern (no high frequencies), for comparing resamplers. */
export function smooth(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[i] = 128 + 100 * Math.sin(x / 9);
      out[i + 1] = 128 + 100 * Math.cos(y / 7);
      out[i + 2] = 128 + 60 * Math.sin((x + y) / 13);
    }
  }
  return out;
}

export function raw(data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4 = 3): Sharp {
  return sharp(data, { raw: { width, height, channels } });
}

export async function writeImage(
  path: string,
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff',
  data: Uint8Array = pattern(12, 8),
  width = 12,
  height = 8,
): Promise<string> {
  mkdirSync(dirname(path), { recursive: true });
  await raw(data, width, height).toFormat(format).toFile(path);
  return path;
}
