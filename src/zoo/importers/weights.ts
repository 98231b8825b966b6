import { GraftError, isGraftError } from '../../errors.js';
import { shapeOf } from '../formats/json.js';
import { modelRelativePath } from '../../util/model-paths.js';
import { sizeOf, type HostArray, type ReadFile, type WeightSpec, type WeightsGroup } from './types.js';

/**
 * Reads every weight named in a TF.js weights manifest. Each group's shards are concatenated in order and
 * its weights laid out back to back, as TF.js writes them; quantized weights (uint8/uint16 with scale and
 * min, or float16) are expanded to float32 the way TF.js does at load time, so the imported model computes
 * exactly what TF.js computes.
 */
export async function loadWeights(
  manifest: readonly WeightsGroup[] | undefined,
  readFile: ReadFile,
  file = 'model.json',
): Promise<Map<string, HostArray>> {
  const out = new Map<string, HostArray>();
  for (const [g, group] of (manifest ?? []).entries()) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new GraftError('BAD_MODEL', `weightsManifest[${g}] is not a {paths, weights} group`, {
        file,
        expected: '{ "paths": [...], "weights": [...] }',
        found: shapeOf(group),
        fix: 'check the model.json was written by the TF.js converter or tf.io',
      });
    }
    const shards: Uint8Array[] = [];
    for (const [i, path] of group.paths.entries()) {
      // whatever readFile does with it, a shard path never leaves the model's folder
      modelRelativePath(path, { field: `weightsManifest[${g}].paths[${i}]`, file });
      shards.push(await readShard(readFile, path));
    }
    const bytes = concat(shards);
    let offset = 0;
    for (const spec of group.weights) {
      const length = storedByteLength(spec, file);
      if (offset + length > bytes.byteLength) {
        throw new GraftError('BAD_MODEL', `Weight '${spec.name}' runs past the end of its shards`, {
          file: group.paths.join(', '),
          value: spec.name,
          expected: `at least ${offset + length} bytes in weight group ${g}`,
          found: `${bytes.byteLength} bytes`,
          fix: 'the shard files are truncated or belong to another model; fetch the model again',
        });
      }
      out.set(spec.name, decodeWeight(spec, bytes.subarray(offset, offset + length)));
      offset += length;
    }
  }
  return out;
}

async function readShard(readFile: ReadFile, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    if (isGraftError(e)) throw e;
    throw new GraftError('IO', `Cannot read weight shard '${path}'`, {
      file: path,
      found: (e as Error).message,
      fix: 'keep the .bin shard files next to model.json (paths in weightsManifest are relative to it)',
      cause: e,
    });
  }
}

function storedByteLength(spec: WeightSpec, file: string): number {
  const n = sizeOf(spec.shape);
  const q = spec.quantization;
  if (q) {
    if (q.dtype === 'uint8') return n;
    if (q.dtype === 'uint16' || q.dtype === 'float16') return 2 * n;
    throw unsupportedWeight(spec, `quantization dtype '${q.dtype}'`, file);
  }
  if (spec.dtype === 'float32' || spec.dtype === 'int32') return 4 * n;
  if (spec.dtype === 'bool') return n;
  throw unsupportedWeight(spec, `dtype '${spec.dtype}'`, file);
}

function unsupportedWeight(spec: WeightSpec, what: string, file: string): GraftError {
  return new GraftError('BAD_MODEL', `Weight '${spec.name}' has ${what}, which Graft cannot import`, {
    file,
    value: spec.name,
    expected: 'float32, int32 or bool weights, optionally quantized as uint8, uint16 or float16',
    found: what,
    fix: 're-convert the model with tensorflowjs_converter without string/complex weights',
  });
}

/** Decodes one weight's bytes (TF.js writes little-endian, like every platform onnxruntime runs on). */
export function decodeWeight(spec: WeightSpec, bytes: Uint8Array): HostArray {
  const shape = [...spec.shape];
  const n = sizeOf(shape);
  const copy = new Uint8Array(bytes); // aligned
  const q = spec.quantization;
  if (!q) {
    if (spec.dtype === 'float32') return { dtype: 'float32', shape, data: new Float32Array(copy.buffer, 0, n) };
    if (spec.dtype === 'int32') return { dtype: 'int32', shape, data: new Int32Array(copy.buffer, 0, n) };
    return { dtype: 'bool', shape, data: copy };
  }
  if (q.dtype === 'float16') {
    if (spec.dtype !== 'float32') throw unsupportedWeight(spec, `float16 quantization of a ${spec.dtype} weight`, '');
    return { dtype: 'float32', shape, data: float16ToFloat32(new Uint16Array(copy.buffer, 0, n)) };
  }
  if (q.scale === undefined || q.min === undefined) {
    throw new GraftError('BAD_MODEL', `Quantized weight '${spec.name}' has no scale/min`, {
      value: spec.name,
      expected: `quantization {dtype: '${q.dtype}', scale, min}`,
      found: `quantization without ${[q.scale === undefined ? 'scale' : '', q.min === undefined ? 'min' : ''].filter(Boolean).join(' or ')}`,
      fix: 're-convert the model; the weights manifest is incomplete',
    });
  }
  const stored = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer, 0, n);
  if (spec.dtype === 'int32') {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.round(stored[i]! * q.scale + q.min);
    return { dtype: 'int32', shape, data };
  }
  if (spec.dtype !== 'float32') throw unsupportedWeight(spec, `${q.dtype} quantization of a ${spec.dtype} weight`, '');
  const data = new Float32Array(n);
  // computed in float64 and rounded once, as TF.js does
  for (let i = 0; i < n; i++) data[i] = stored[i]! * q.scale + q.min;
  return { dtype: 'float32', shape, data };
}

/** IEEE 754 half to single precision, exact for every input (subnormals, infinities and NaN included). */
export function float16ToFloat32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
