import { writeKernelShapes } from '../surgery/kernel-shape.js';
import { GraftError } from '../errors.js';
import type { DataLimits } from '../data/limits.js';
import { type Preprocessing, checkPreprocessing } from '../data/preprocessing.js';
import { checkGraph } from '../onnx/check.js';
import { type Graph, type Model, Node } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { composeHead } from '../surgery/compose.js';
import type { ImagePreprocessing } from '../zoo/types.js';
import { preprocessingFromZoo } from './pipeline.js';

/** The input name of grafted image classifiers: what transformers.js feeds (NCHW pixels). */
export const CLASSIFIER_INPUT = 'pixel_values';
/** Temperature-scaled logits: softmax of these is the calibrated probability (transformers.js reads them). */
export const CLASSIFIER_LOGITS = 'logits';
export const CLASSIFIER_PROBABILITIES = 'probabilities';

/** Metadata keys of a grafted classifier (ONNX metadata_props); values are JSON text. */
export const META = {
  format: 'graft.format',
  task: 'graft.task',
  labels: 'graft.labels',
  preprocessing: 'graft.preprocessing',
  temperature: 'graft.temperature',
  outputs: 'graft.outputs',
  provenance: 'graft.provenance',
} as const;
export const CLASSIFIER_FORMAT = 1;

export interface ClassifierInfo {
  labels: string[];
  preprocessing: Preprocessing;
  temperature: number;
  inputName: string;
  logits: string;
  probabilities?: string;
  /** how it was made: base model and hash, cut value, strategy, head, data, metrics, Graft version */
  provenance: Record<string, unknown>;
}

export interface GraftClassifierOptions {
  /** the cut backbone: its single output is `featureValue`, [N, dim] */
  backbone: Model;
  featureValue: string;
  /** reads [N, dim] features on its single input, writes [N, classes] logits on its single output */
  head: Model;
  labels: readonly string[];
  preprocessing: Preprocessing;
  /** softmax temperature fitted on validation logits (default 1) */
  temperature?: number;
  provenance?: Record<string, unknown>;
}

/**
 * The grafted model: backbone and head in one graph, from pixels (input CLASSIFIER_INPUT) to
 * temperature-scaled logits and calibrated probabilities. The temperature is a final Div, so any
 * runtime (plain onnxruntime, transformers.js) gets the calibrated probabilities; labels, preprocessing,
 * temperature and provenance go into the metadata.
 */
export function graftClassifier(o: GraftClassifierOptions): Model {
  const t = o.temperature ?? 1;
  if (!(t > 0 && Number.isFinite(t))) {
    throw new GraftError('BAD_INPUT', 'The temperature must be a positive finite number', { found: String(t) });
  }
  const classes = o.head.graph.outputs[0]?.shape?.[1];
  if (typeof classes === 'number' && classes !== o.labels.length) {
    throw new GraftError('SHAPE_MISMATCH', 'The head and the label list disagree on the number of classes', {
      expected: `${classes} labels`,
      found: String(o.labels.length),
    });
  }
  const m = composeHead(o.backbone, o.featureValue, o.head);
  const g = m.graph;
  if (g.dataInputs.length !== 1) {
    throw new GraftError('BAD_MODEL', 'An image backbone must have exactly one data input', {
      found: g.dataInputs.map((i) => i.name).join(', '),
    });
  }
  renameValue(g, g.dataInputs[0]!.name, CLASSIFIER_INPUT);
  const raw = g.outputs[0]!.name;
  const uncalibrated = g.uniqueName('uncalibrated_logits');
  renameValue(g, raw, uncalibrated);
  for (const name of [CLASSIFIER_LOGITS, CLASSIFIER_PROBABILITIES]) {
    if (g.allValueNames().has(name)) renameValue(g, name, g.uniqueName(`${name}_inner`));
  }
  const tName = g.uniqueName('calibration.temperature');
  g.initializers.set(tName, Tensor.from(tName, Float32Array.of(t), []));
  g.addNode(
    new Node({
      opType: 'Div',
      inputs: [uncalibrated, tName],
      outputs: [CLASSIFIER_LOGITS],
      name: g.uniqueName('calibration_div'),
    }),
  );
  g.addNode(
    new Node({
      opType: 'Softmax',
      inputs: [CLASSIFIER_LOGITS],
      outputs: [CLASSIFIER_PROBABILITIES],
      attrs: { axis: { type: 'int', value: 1 } },
      name: g.uniqueName('calibration_softmax'),
    }),
  );
  const n = g.dataInputs[0]!.shape?.[0] ?? 'N';
  g.outputs = [
    { name: CLASSIFIER_LOGITS, dtype: 'float32', shape: [n, o.labels.length] },
    { name: CLASSIFIER_PROBABILITIES, dtype: 'float32', shape: [n, o.labels.length] },
  ];
  g.touch().cleanup();
  checkGraph(g);
  m.metadata.set(META.format, String(CLASSIFIER_FORMAT));
  m.metadata.set(META.task, 'image-classification');
  m.metadata.set(META.labels, JSON.stringify(o.labels));
  m.metadata.set(META.preprocessing, JSON.stringify(checkPreprocessing(o.preprocessing)));
  m.metadata.set(META.temperature, String(t));
  m.metadata.set(
    META.outputs,
    JSON.stringify({ logits: CLASSIFIER_LOGITS, probabilities: CLASSIFIER_PROBABILITIES, input: CLASSIFIER_INPUT }),
  );
  m.metadata.set(META.provenance, JSON.stringify(o.provenance ?? {}));
  m.producerName = 'graft';
  // explicit kernel shapes: onnxruntime-web's WebGPU Conv refuses a Conv without one, so the exported model
  // runs in a browser on WebGPU as well as anywhere else
  writeKernelShapes(m);
  return m;
}

/**
 * Reads what a classifier needs from its metadata. Models Graft did not graft are accepted when they
 * carry labels and preprocessing (either Graft's spec or a zoo entry's); anything missing is a GraftError
 * naming the key.
 */
export function readClassifierInfo(
  model: Model,
  file?: string,
  limits?: Pick<DataLimits, 'maxInputPixels'>,
): ClassifierInfo {
  const md = model.metadata;
  const g = model.graph;
  const parse = (key: string): unknown => {
    const text = md.get(key);
    if (text === undefined) {
      throw new GraftError('BAD_MODEL', `The model has no '${key}' metadata: it is not a Graft classifier`, {
        file,
        expected: `metadata ${Object.values(META).join(', ')}`,
        found: md.size ? [...md.keys()].join(', ') : 'no metadata',
        fix: 'pass the model.onnx of a run folder written by `graft train`',
      });
    }
    try {
      return JSON.parse(text);
    } catch {
      // the text is the model file's: its length only, never the text
      throw new GraftError('BAD_MODEL', `The model's '${key}' metadata is not valid JSON`, {
        file,
        found: `${text.length} characters that do not parse`,
        fix: 'retrain or re-export the model with Graft',
      });
    }
  };
  const labels = parse(META.labels);
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    throw new GraftError('BAD_MODEL', `The model's '${META.labels}' metadata is not a list of class names`, {
      file,
      expected: 'a non-empty JSON list of strings',
      found: Array.isArray(labels) ? `a list of ${labels.length} (not all strings)` : `a ${typeof labels}`,
    });
  }
  const inputs = g.dataInputs;
  if (inputs.length !== 1) {
    throw new GraftError('BAD_MODEL', 'An image classifier must have exactly one data input', {
      file,
      found: inputs.map((i) => i.name).join(', ') || 'none',
    });
  }
  const input = inputs[0]!;
  const preprocessing = preprocessingFromMetadata(parse(META.preprocessing), input.shape, file, limits);
  const tText = md.get(META.temperature);
  const temperature = tText === undefined ? 1 : Number(tText);
  const outputs = g.outputs.map((o) => o.name);
  const logits = outputs.includes(CLASSIFIER_LOGITS) ? CLASSIFIER_LOGITS : outputs[0]!;
  const probabilities = outputs.includes(CLASSIFIER_PROBABILITIES) ? CLASSIFIER_PROBABILITIES : undefined;
  const provText = md.get(META.provenance);
  let provenance: Record<string, unknown> = {};
  try {
    provenance = provText ? (JSON.parse(provText) as Record<string, unknown>) : {};
  } catch {
    // provenance is informational; an unreadable one does not stop predictions
  }
  return { labels, preprocessing, temperature, inputName: input.name, logits, probabilities, provenance };
}

/**
 * Graft's Preprocessing as stored by graftClassifier, or a zoo entry's ImagePreprocessing (pulled models),
 * checked as any spec is (sizes within `limits.maxInputPixels`, finite numbers, known modes) and against the
 * model input's fixed height and width. Anything wrong is a BAD_MODEL GraftError naming the metadata key and
 * the file; it never quotes the metadata.
 */
export function preprocessingFromMetadata(
  value: unknown,
  inputShape: readonly (number | string | undefined)[] | undefined,
  file?: string,
  limits?: Pick<DataLimits, 'maxInputPixels'>,
): Preprocessing {
  const o = value as Record<string, unknown> | null;
  const layout = inputShape?.[1] === 3 ? 'NCHW' : inputShape?.[3] === 3 ? 'NHWC' : 'NCHW';
  const hw = layout === 'NCHW' ? inputShape?.slice(2, 4) : inputShape?.slice(1, 3);
  const size =
    hw && typeof hw[0] === 'number' && typeof hw[1] === 'number' ? ([hw[0], hw[1]] as [number, number]) : undefined;
  let p: Preprocessing;
  try {
    if (o && typeof o === 'object' && typeof o.resize === 'object' && o.resize !== null) {
      p = preprocessingFromZoo(o as unknown as ImagePreprocessing, layout, size, limits);
    } else p = checkPreprocessing(o as unknown as Preprocessing, limits);
  } catch (e) {
    // checkPreprocessing's errors show numbers only; others (zoo-shaped specs) may quote strings: say less
    const checked = e instanceof GraftError && e.message.startsWith('Invalid preprocessing');
    const what = checked ? e.message.split('\n')[0]! : 'not a usable preprocessing spec';
    throw new GraftError('BAD_MODEL', `The model's '${META.preprocessing}' metadata is not valid: ${what}`, {
      file,
      ...(checked && e.fields.expected ? { expected: e.fields.expected } : {}),
      ...(checked && e.fields.found ? { found: e.fields.found } : {}),
      fix: 'retrain or re-export the model with Graft',
    });
  }
  if (size && (p.size[0] !== size[0] || p.size[1] !== size[1])) {
    throw new GraftError('BAD_MODEL', `The model's '${META.preprocessing}' size does not match its input`, {
      file,
      expected: `[${size.join(', ')}] (the model input's height and width)`,
      found: `[${p.size.join(', ')}]`,
      fix: 'retrain or re-export the model with Graft',
    });
  }
  return p;
}

/** Renames a value everywhere it appears: graph inputs/outputs, producer, consumers, value_info. */
function renameValue(g: Graph, from: string, to: string): void {
  if (from === to) return;
  for (const i of g.inputs) if (i.name === from) i.name = to;
  for (const n of g.nodes) {
    n.outputs = n.outputs.map((v) => (v === from ? to : v));
    n.inputs = n.inputs.map((v) => (v === from ? to : v));
  }
  for (const o of g.outputs) if (o.name === from) o.name = to;
  const info = g.valueInfo.get(from);
  if (info) {
    g.valueInfo.delete(from);
    g.valueInfo.set(to, { ...info, name: to });
  }
  g.touch();
}
