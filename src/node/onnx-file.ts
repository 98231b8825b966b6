import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { GraftError } from '../errors.js';
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { Graph, Model } from '../onnx/graph.js';
import { dtypeSize } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { confinedPath } from './confine.js';

/**
 * Reads an .onnx file. Initializers stored in external data files (paths relative to the model file)
 * are read only when first used, each data file at most once.
 */
export function loadOnnxFile(path: string): Model {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ioError(`Cannot read the ONNX model file`, path, e, 'check the path and the file permissions');
  }
  return decodeModel(bytes, { file: path, externalData: externalDataReader(path) });
}

/**
 * Resolves external data locations against the model file's folder, caching each file once read. A
 * location must stay inside that folder once symlinks are resolved (see confinedPath): the ONNX spec
 * forbids anything else, and a crafted model must not read arbitrary files (CVE-2024-27318 was the same
 * bug in onnx itself).
 */
export function externalDataReader(modelPath: string): (location: string) => Uint8Array {
  const dir = dirname(resolve(modelPath));
  const cache = new Map<string, Uint8Array>();
  return (location) => {
    const full = confinedPath(dir, location, { field: 'an external data location', file: modelPath });
    let data = cache.get(full);
    if (!data) {
      try {
        data = readFileSync(full);
      } catch (e) {
        throw ioError(
          `Cannot read external data '${location}' of the model`,
          modelPath,
          e,
          'copy the external data file(s) next to the .onnx file',
        );
      }
      cache.set(full, data);
    }
    return data;
  };
}

/** Every tensor of the model (initializers, node attributes, subgraphs) that keeps its bytes in an external file. */
export function externalTensors(g: Graph): Tensor[] {
  const out: Tensor[] = [];
  const visit = (graph: Graph) => {
    for (const t of graph.initializers.values()) if (t.external) out.push(t);
    for (const n of graph.nodes) {
      for (const a of Object.values(n.attrs)) {
        if (a.type === 'tensor' && a.value.external) out.push(a.value);
        else if (a.type === 'tensors') out.push(...a.value.filter((t) => t.external));
        else if (a.type === 'graph') visit(a.value);
        else if (a.type === 'graphs') a.value.forEach(visit);
      }
    }
  };
  visit(g);
  return out;
}

/** Bytes of the main graph's initializers, and whether they fit in one .onnx file (protobuf's 2 GiB). */
export function fitsInline(model: Model): boolean {
  let inline = 0;
  for (const t of model.graph.initializers.values()) inline += t.size * dtypeSize(t.dtype);
  return inline <= INLINE_LIMIT;
}

export interface SaveOnnxOptions {
  /**
   * Initializers of at least this many bytes go to one external data file beside the model
   * (default: none; everything inline). Needed for models over protobuf's 2 GiB limit.
   */
  externalDataThreshold?: number;
  /** name of the external data file, relative to the model file (default: `<model file name>.data`) */
  externalDataFile?: string;
}

/** Protobuf messages cannot exceed 2 GiB; leave room for the graph itself. */
const INLINE_LIMIT = 2 ** 31 - 64 * 2 ** 20;
/** Offsets in the data file are aligned so readers can map tensors without copying. */
const ALIGN = 64;

/**
 * Writes a model to `path` atomically (a crash never leaves a half-written model; missing folders are
 * created). The model object is not changed.
 */
export function saveOnnxFile(path: string, model: Model, opts: SaveOnnxOptions = {}): void {
  const threshold = opts.externalDataThreshold;
  loadAttributeTensors(model.graph);
  let toWrite = model;
  if (threshold !== undefined) {
    if (!(threshold >= 0)) {
      throw new GraftError('BAD_INPUT', 'externalDataThreshold must be a byte count', {
        expected: 'a number >= 0',
        found: String(threshold),
      });
    }
    const location = opts.externalDataFile ?? `${basename(path)}.data`;
    const dataPath = resolve(dirname(resolve(path)), location);
    const { model: external, chunks } = externalize(model, threshold, location);
    // Data first: a model file must never name data that is not there yet.
    if (chunks.length) writeFileAtomic(dataPath, chunks);
    toWrite = external;
  } else {
    if (!fitsInline(model)) {
      let inline = 0;
      for (const t of model.graph.initializers.values()) inline += t.size * dtypeSize(t.dtype);
      throw new GraftError('BAD_INPUT', 'The model is too large to store in one .onnx file', {
        file: path,
        expected: 'at most 2 GiB of protobuf',
        found: `about ${Math.round(inline / 2 ** 20)} MiB of initializers`,
        fix: 'pass externalDataThreshold (e.g. 1024) to store weights in a separate data file',
      });
    }
  }
  // Only tensors externalized above stay external: an old data file may not sit beside the new path.
  writeFileAtomic(path, [encodeModel(toWrite, { keepExternal: threshold !== undefined })]);
}

/**
 * Reads external data of tensors inside node attributes (Constant values, subgraph initializers) so they
 * are written inline rather than as references to a data file that may not sit beside the new path.
 */
function loadAttributeTensors(g: Graph, nested = false): void {
  if (nested) for (const t of g.initializers.values()) if (t.external && t.dtype !== 'string') void t.bytes;
  for (const n of g.nodes) {
    for (const a of Object.values(n.attrs)) {
      if (a.type === 'tensor' && a.value.external && a.value.dtype !== 'string') void a.value.bytes;
      if (a.type === 'tensors') for (const t of a.value) if (t.external && t.dtype !== 'string') void t.bytes;
      if (a.type === 'graph') loadAttributeTensors(a.value, true);
      if (a.type === 'graphs') for (const sg of a.value) loadAttributeTensors(sg, true);
    }
  }
}

/** A shallow copy of the model whose large main-graph initializers point into one new data file. */
function externalize(model: Model, threshold: number, location: string): { model: Model; chunks: Uint8Array[] } {
  const g = model.graph;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializers = new Map<string, Tensor>();
  for (const [name, t] of g.initializers) {
    if (t.dtype === 'string' || t.size === 0 || t.bytes.byteLength < threshold) {
      // Tensors that stay inline must not keep pointing at an old data file.
      initializers.set(name, t.external && t.dtype !== 'string' ? detached(t) : t);
      continue;
    }
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    const bytes = t.bytes;
    chunks.push(bytes);
    const ext = new Tensor(name, t.dtype, t.dims, {
      external: { location, offset, length: bytes.byteLength },
    });
    ext.docString = t.docString;
    initializers.set(name, ext);
    offset += bytes.byteLength;
  }
  const graph = new Graph({
    name: g.name,
    nodes: g.nodes,
    inputs: g.inputs,
    outputs: g.outputs,
    valueInfo: g.valueInfo,
    docString: g.docString,
    initializers,
  });
  if (g.opaque) graph.opaque = g.opaque;
  const copy = new Model(graph, {
    irVersion: model.irVersion,
    opsetImports: model.opsetImports,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    metadata: model.metadata,
    opaque: model.opaque,
  });
  return { model: copy, chunks };
}

/** An inline copy of a tensor that was read from an external file. */
function detached(t: Tensor): Tensor {
  const c = new Tensor(t.name, t.dtype, t.dims, { bytes: t.bytes });
  c.docString = t.docString;
  return c;
}

function ioError(what: string, file: string, e: unknown, fix: string): GraftError {
  return new GraftError('IO', what, { file, found: (e as Error).message, fix, cause: e });
}
