import { GraftError } from '../errors.js';
import type { DType } from '../onnx/dtype.js';
import type { Dim } from '../onnx/graph.js';
import type { HostTensor } from '../runtime/session.js';
import type { ArrayDataset, LabelArray, TrainerGraph } from './types.js';

interface PreparedInput {
  name: string;
  data: Float32Array;
  sampleDims: number[];
  sampleSize: number;
}

/** A dataset checked against a training graph once, so batches can be cut without further checks. */
export interface PreparedDataset {
  count: number;
  inputs: PreparedInput[];
  labels: { data: LabelArray; dtype: DType; sampleDims: number[]; sampleSize: number };
}

/**
 * Checks sizes and label types against the graph's inputs, so that a mismatch is reported once, with the
 * input's name, instead of as an onnxruntime failure in the middle of an epoch.
 */
export function prepareDataset(
  graph: TrainerGraph,
  ds: ArrayDataset,
  what: string,
  numClasses?: number,
): PreparedDataset {
  const labelDims = staticTail(graph.labels.shape, undefined);
  if (!labelDims) {
    throw new GraftError('BAD_GRAPH', 'The labels input has symbolic per-sample dimensions', {
      value: graph.labels.name,
      found: `[${graph.labels.shape.join(', ')}]`,
      fix: 'give the labels input a fixed shape after the batch dimension',
    });
  }
  const labelSize = product(labelDims);
  const labels = convertLabels(ds.labels, graph.labels.dtype, graph.labels.name, what);
  if (labelSize === 0 || labels.length % labelSize !== 0 || labels.length === 0) {
    throw new GraftError('SHAPE_MISMATCH', `The ${what} labels do not fit the labels input`, {
      value: graph.labels.name,
      expected: `a non-empty multiple of ${labelSize} values (per-sample shape [${labelDims.join(', ')}])`,
      found: `${ds.labels.length} values`,
    });
  }
  const count = labels.length / labelSize;
  if (numClasses !== undefined && numClasses > 1 && graph.labels.dtype !== 'float32') {
    for (let i = 0; i < labels.length; i++) {
      const c = Number(labels[i]);
      if (!(c >= 0 && c < numClasses)) {
        throw new GraftError('BAD_INPUT', `The ${what} labels hold a class index out of range`, {
          value: graph.labels.name,
          expected: `class indices 0..${numClasses - 1} (the model has ${numClasses} outputs)`,
          found: `${c} at sample ${Math.floor(i / labelSize)}`,
          fix: 'check the label mapping, or give the head as many outputs as there are classes',
        });
      }
    }
  }

  const byName: Record<string, Float32Array> =
    ds.features instanceof Float32Array ? { [graph.dataInputs[0] ?? '']: ds.features } : { ...ds.features };
  if (ds.features instanceof Float32Array && graph.dataInputs.length !== 1) {
    throw new GraftError('BAD_INPUT', `The ${what} features must be given per data input`, {
      expected: `an object with keys ${graph.dataInputs.join(', ')}`,
      found: 'one Float32Array',
    });
  }
  const inputs = graph.dataInputs.map((name): PreparedInput => {
    const data = byName[name];
    if (!(data instanceof Float32Array)) {
      throw new GraftError('BAD_INPUT', `The ${what} data has no features for input '${name}'`, {
        value: name,
        expected: 'a Float32Array',
        choices: Object.keys(byName),
      });
    }
    const info = graph.model.graph.info(name);
    const given = ds.featureShape
      ? Array.isArray(ds.featureShape)
        ? (ds.featureShape as readonly number[])
        : (ds.featureShape as Readonly<Record<string, readonly number[]>>)[name]
      : undefined;
    const sampleDims = staticTail(info?.shape ?? [undefined, data.length / count], given);
    if (!sampleDims) {
      throw new GraftError('BAD_INPUT', `Input '${name}' has symbolic per-sample dimensions`, {
        value: name,
        found: `[${(info?.shape ?? []).join(', ')}]`,
        fix: 'pass featureShape (the per-sample shape) with the dataset',
      });
    }
    const sampleSize = product(sampleDims);
    if (data.length !== count * sampleSize) {
      throw new GraftError('SHAPE_MISMATCH', `The ${what} features do not match the labels`, {
        value: name,
        expected: `${count} samples × ${sampleSize} values ([${sampleDims.join(', ')}]) = ${count * sampleSize}`,
        found: `${data.length} values`,
        fix: 'features and labels must hold the same number of samples, in the same order',
      });
    }
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new GraftError('BAD_INPUT', `The ${what} features hold a non-finite value`, {
        value: name,
        expected: 'finite numbers',
        found: `${data[bad]} in sample ${Math.floor(bad / sampleSize)}`,
        fix: 'check the features (or the model that computed them) for NaN or infinity',
      });
    }
    return { name, data, sampleDims, sampleSize };
  });
  return {
    count,
    inputs,
    labels: { data: labels, dtype: graph.labels.dtype, sampleDims: labelDims, sampleSize: labelSize },
  };
}

/** The feeds for the samples at `indices` (data inputs, and labels separately), copied into fresh arrays. */
export function gatherBatch(
  ds: PreparedDataset,
  indices: ArrayLike<number>,
): { inputs: Record<string, HostTensor>; labels: HostTensor } {
  const n = indices.length;
  const feeds: Record<string, HostTensor> = {};
  for (const inp of ds.inputs) {
    const out = new Float32Array(n * inp.sampleSize);
    for (let i = 0; i < n; i++) {
      const at = indices[i]! * inp.sampleSize;
      out.set(inp.data.subarray(at, at + inp.sampleSize), i * inp.sampleSize);
    }
    feeds[inp.name] = { dtype: 'float32', dims: [n, ...inp.sampleDims], data: out };
  }
  const l = ds.labels;
  const ctor = l.data.constructor as { new (n: number): LabelArray };
  const labels = new ctor(n * l.sampleSize);
  for (let i = 0; i < n; i++) {
    const at = indices[i]! * l.sampleSize;
    (labels as Float32Array).set((l.data as Float32Array).subarray(at, at + l.sampleSize), i * l.sampleSize);
  }
  return { inputs: feeds, labels: { dtype: l.dtype, dims: [n, ...l.sampleDims], data: labels } };
}

/** Dims after the batch dimension when all are known (numbers, or given explicitly). */
function staticTail(shape: readonly Dim[], given: readonly number[] | undefined): number[] | undefined {
  if (given) return [...given];
  const tail = shape.slice(1);
  return tail.every((d): d is number => typeof d === 'number' && d >= 0) ? tail : undefined;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function convertLabels(labels: LabelArray, dtype: DType, name: string, what: string): LabelArray {
  const isInt = !(labels instanceof Float32Array);
  if (dtype === 'int64' || dtype === 'int32') {
    if (!isInt) {
      throw new GraftError('BAD_INPUT', `The ${what} labels must be class indices`, {
        value: name,
        expected: `integer labels (Int32Array, BigInt64Array or Uint8Array) for a ${dtype} labels input`,
        found: 'Float32Array',
        fix: 'pass class indices, or build the training graph for float targets',
      });
    }
    if (dtype === 'int64')
      return labels instanceof BigInt64Array ? labels : BigInt64Array.from(labels as Int32Array, (v) => BigInt(v));
    return labels instanceof Int32Array ? labels : Int32Array.from(labels as Uint8Array, (v) => Number(v));
  }
  if (dtype === 'float32') {
    if (labels instanceof Float32Array) return labels;
    return Float32Array.from(labels as Int32Array, (v) => Number(v));
  }
  throw new GraftError('BAD_GRAPH', `The labels input has an unsupported type`, {
    value: name,
    expected: 'int64, int32 or float32',
    found: dtype,
  });
}
