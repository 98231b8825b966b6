// The studio's training worker: everything heavy runs here, off the page's thread (decoding, the backbone,
// training, scoring), so the page stays responsive and Cancel is `worker.terminate()`: the page throws the
// worker away, which stops training at once whatever kernel is running. Images are decoded a batch at a
// time and only their activations are kept, so memory grows with the activations, not the images.
//
// onnxruntime-web's wasm threads load this same bundle as workers named 'em-pthread...': those only run
// kernels, so the studio's message handler is installed in the main worker alone.
import { type WebBackbone, readBackbone } from '../app-web/backbone.js';
import { planFineTune, runFineTune, withFineTuneData } from '../app-web/finetune.js';
import { chooseDevice } from '../app-web/device.js';
import { type RawImage, exampleSize, writeModelInput } from '../data/image.js';
import type { Preprocessing } from '../data/preprocessing.js';
import { classificationReport, fitTemperature } from '../eval/index.js';
import { encodeModel } from '../onnx/codec.js';
import type { Model } from '../onnx/graph.js';
import { wasmThreads } from '../runtime/ort.web.js';
import { Session, type SessionOptions, f32 } from '../runtime/session.js';
import { cut } from '../surgery/cut.js';
import { detectBlocks } from '../transfer/finetune/blocks.js';
import { upperGraph } from '../transfer/finetune/split.js';
import type { LabelledSamples } from '../transfer/finetune/run.js';
import { graftClassifier, readClassifierInfo, CLASSIFIER_PROBABILITIES } from '../transfer/pipeline-graft.js';
import { runHead, trainHead } from '../transfer/pipeline-head.js';
import { headForStrategy } from '../transfer/strategies/index.js';
import type { FeatureSet } from '../transfer/prototype.js';
import { composeClassifier, createHead } from '../transfer/finetune/head.js';
import type { EpochRecord } from '../train/types.js';
import type { FromWorker, ModelInfo, Scored, Split, ToWorker, TrainRequest, TrainResult } from './protocol.js';

/** images decoded and run through the backbone at once: bounds the pixels held */
const EXTRACT_BATCH = 32;

const post = (m: FromWorker, transfer: Transferable[] = []) =>
  (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);

let backbone: WebBackbone | undefined;
let trained: { model: Model; session?: Session } | undefined;

/** Decodes an image file with the browser's decoder, as is (no colour conversion or premultiplied alpha). */
export async function decodeImage(file: Blob): Promise<RawImage> {
  const bmp = await createImageBitmap(file, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
    imageOrientation: 'from-image',
  });
  try {
    return pixelsOf(bmp, bmp.width, bmp.height);
  } finally {
    bmp.close();
  }
}

function pixelsOf(source: CanvasImageSource, width: number, height: number): RawImage {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(source, 0, 0);
  const d = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
  return { data: d.data, width, height, channels: 4 };
}

interface Forwarded {
  /** one row per item that decoded, in the order given */
  rows: Float32Array;
  rowDims: number[];
  ok: number[];
  failed: { item: number; reason: string }[];
  /** seconds spent decoding and preprocessing, and running the model */
  decodeSeconds: number;
  runSeconds: number;
}

/**
 * Runs `model` over the items' images, a batch at a time, keeping only `output`. Files that do not decode
 * are skipped with the reason: one bad file never stops a run.
 */
async function forwardImages(
  model: Model,
  output: string,
  files: readonly Blob[],
  indices: readonly number[],
  p: Preprocessing,
  session: SessionOptions,
  progress: (done: number) => void,
): Promise<Forwarded> {
  const s = await Session.create(model, session);
  const per = exampleSize(p);
  const input = s.inputNames[0]!;
  const chunks: Float32Array[] = [];
  const ok: number[] = [];
  const failed: { item: number; reason: string }[] = [];
  let rowDims: number[] = [];
  let decodeSeconds = 0;
  let runSeconds = 0;
  try {
    for (let at = 0; at < indices.length; at += EXTRACT_BATCH) {
      const t0 = performance.now();
      const batch = indices.slice(at, at + EXTRACT_BATCH);
      const pixels = new Float32Array(batch.length * per);
      const good: number[] = [];
      for (const item of batch) {
        try {
          writeModelInput(await decodeImage(files[item]!), p, pixels, good.length);
          good.push(item);
        } catch (e) {
          failed.push({ item, reason: `decode failed: ${firstLine(e)}` });
        }
      }
      const t1 = performance.now();
      decodeSeconds += (t1 - t0) / 1000;
      if (good.length) {
        const dims =
          p.layout === 'NCHW' ? [good.length, 3, p.size[0], p.size[1]] : [good.length, p.size[0], p.size[1], 3];
        const out = (await s.run({ [input]: f32(pixels.subarray(0, good.length * per), dims) }))[output]!;
        rowDims = out.dims.slice(1);
        chunks.push(new Float32Array(out.data as Float32Array));
        ok.push(...good);
      }
      runSeconds += (performance.now() - t1) / 1000;
      progress(Math.min(at + EXTRACT_BATCH, indices.length));
    }
  } finally {
    await s.dispose();
  }
  const per2 = rowDims.reduce((a, d) => a * d, 1);
  const rows = new Float32Array(ok.length * per2);
  let o = 0;
  for (const c of chunks) {
    rows.set(c, o);
    o += c.length;
  }
  return { rows, rowDims, ok, failed, decodeSeconds, runSeconds };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
}

/** Rows of `f` for the items of one split, with their labels. */
function splitRows(
  f: Forwarded,
  req: TrainRequest,
  split: Split,
): { data: Float32Array; labels: Int32Array; items: number[] } {
  const per = f.rowDims.reduce((a, d) => a * d, 1);
  const rows: number[] = [];
  f.ok.forEach((item, r) => {
    if (req.items[item]!.split === split) rows.push(r);
  });
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => data.set(f.rows.subarray(r * per, (r + 1) * per), i * per));
  const items = rows.map((r) => f.ok[r]!);
  return { data, labels: Int32Array.from(items, (i) => req.items[i]!.label), items };
}

async function loadModel(bytes: ArrayBuffer, name: string): Promise<ModelInfo> {
  backbone = await readBackbone(new Uint8Array(bytes), { name });
  trained = undefined;
  const b = backbone;
  const composed = composeClassifier(b.model, b.featureValue, createHead(b.dim, 2, { seed: 0 }));
  const blocks = detectBlocks(composed.model, { headParams: composed.headParams });
  return {
    name: b.name,
    sha256: b.sha256,
    inputSize: [b.preprocessing.size[0], b.preprocessing.size[1]],
    layout: b.preprocessing.layout,
    featureValue: b.featureValue,
    dim: b.dim,
    // the backbone's blocks (the head grafted to find them is not one of the model's)
    blocks: blocks.filter((x) => x.kind !== 'head').map((x) => x.name),
  };
}

async function train(req: TrainRequest): Promise<TrainResult> {
  if (!backbone) throw new Error('choose a model first');
  const b = backbone;
  const started = performance.now();
  const { device } = await chooseDevice('auto');
  const session: SessionOptions = { device, intraOpThreads: req.threads };
  const files = req.items.map((i) => i.file);
  const all = req.items.map((_, i) => i);
  const history: (EpochRecord & { phase: string })[] = [];
  const extractProgress = (done: number) =>
    post({
      type: 'progress',
      stage: 'extract',
      done,
      total: all.length,
      seconds: (performance.now() - started) / 1000,
    });
  let epochsDone = 0;
  const onEpoch = (phase: string, record: EpochRecord, epochs: number, total: number) => {
    history.push({ ...record, phase });
    epochsDone++;
    post({ type: 'epoch', epoch: { phase, record, epochs } });
    post({
      type: 'progress',
      stage: 'train',
      done: epochsDone,
      total,
      seconds: (performance.now() - trainStart) / 1000,
    });
  };
  let trainStart = performance.now();
  const k = req.classes.length;
  let stepMs: number | undefined;
  let result: {
    model: Model;
    temperature: number;
    valAccuracy?: number;
    evalLogits: Float32Array;
    evalItems: number[];
    failed: Forwarded['failed'];
    extractSeconds: number;
    split: { decode: number; run: number };
  };

  if (req.strategy !== 'fine-tune') {
    // a head on the pooled features: graft train's feature strategies, with its defaults
    const f = await forwardImages(b.model, b.featureValue, files, all, b.preprocessing, session, extractProgress);
    const extractSeconds = (performance.now() - started) / 1000;
    trainStart = performance.now();
    const set = (s: Split): FeatureSet & { items: number[] } => {
      const r = splitRows(f, req, s);
      return { features: r.data, dim: b.dim, labels: r.labels, numClasses: k, items: r.items };
    };
    const [tr, va, te] = [set('train'), set('val'), set('test')];
    const head = headForStrategy(req.strategy);
    const fit = await trainHead({
      head,
      numClasses: k,
      train: tr,
      val: va.labels.length ? va : undefined,
      epochs: req.epochs || undefined,
      lr: req.lr,
      seed: req.seed,
      session,
      onEpoch: (record, epochs) => onEpoch('head', record, epochs, epochs),
    });
    let temperature = 1;
    let valAccuracy: number | undefined;
    if (va.labels.length) {
      const logits = await runHead(fit.model, va.features, b.dim, { session });
      temperature = fitTemperature({ data: logits, numClasses: k }, va.labels).temperature;
      valAccuracy = accuracyOf(logits, va.labels, k);
    }
    const evalSet = te.labels.length ? te : va;
    const evalLogits = await runHead(fit.model, evalSet.features, b.dim, { session });
    const model = graftClassifier({
      backbone: b.model,
      featureValue: b.featureValue,
      head: fit.model,
      labels: req.classes,
      preprocessing: b.preprocessing,
      temperature,
      provenance: provenance(b, req, tr.labels.length, valAccuracy, device),
    });
    result = {
      model,
      temperature,
      valAccuracy,
      evalLogits,
      evalItems: evalSet.items,
      failed: f.failed,
      extractSeconds,
      split: { decode: f.decodeSeconds, run: f.runSeconds },
    };
  } else {
    const planned = await planFineTune({
      backbone: b,
      classes: req.classes,
      strategy: 'fine-tune',
      unfreeze: `last:${req.blocks}`,
      epochs: req.epochs,
      probeEpochs: req.probeEpochs || undefined,
      lr: req.lr,
      batchSize: req.batchSize,
      seed: req.seed,
      device,
      threads: req.threads,
    });
    const at = planned.plan.boundary;
    const totalEpochs = planned.phases.reduce((n, p) => n + ((p as { epochs?: number }).epochs ?? 0), 0);
    let f: Forwarded;
    if (at === b.inputName) {
      // everything trains from the pixels: the "activations" are the preprocessed images
      const id = { model: cut(planned.classifier.model, at), output: at };
      f = await forwardImages(id.model, id.output, files, all, b.preprocessing, session, extractProgress);
    } else {
      f = await forwardImages(
        cut(planned.classifier.model, at),
        at,
        files,
        all,
        b.preprocessing,
        session,
        extractProgress,
      );
    }
    const extractSeconds = (performance.now() - started) / 1000;
    trainStart = performance.now();
    const samples = (s: Split): LabelledSamples & { items: number[] } => {
      const r = splitRows(f, req, s);
      return { data: r.data, sampleDims: f.rowDims, labels: r.labels, items: r.items };
    };
    const [tr, va, te] = [samples('train'), samples('val'), samples('test')];
    const prep = withFineTuneData(
      planned,
      { at, train: tr, val: va.labels.length ? va : undefined },
      {
        batchSize: req.batchSize,
        onEvent: (e) => {
          if (e.type === 'epoch') onEpoch(e.phase, e.record, e.epochs, totalEpochs);
        },
      },
    );
    const r = await runFineTune(prep);
    const blockEpochs = history.filter((h) => h.phase === planned.phases.at(-1)!.name);
    if (blockEpochs.length) {
      const steps = blockEpochs.length * Math.ceil(tr.labels.length / req.batchSize);
      stepMs = (1000 * blockEpochs.reduce((s, h) => s + h.seconds, 0)) / steps;
    }
    const evalSet = te.labels.length ? te : va;
    const upper = await Session.create(upperGraph(r.trained, at), session);
    let evalLogits: Float32Array;
    try {
      const per = evalSet.sampleDims.reduce((a, d) => a * d, 1);
      const out = new Float32Array(evalSet.labels.length * k);
      for (let i = 0; i < evalSet.labels.length; i += 64) {
        const n = Math.min(64, evalSet.labels.length - i);
        const o = await upper.run({
          [upper.inputNames[0]!]: f32(evalSet.data.subarray(i * per, (i + n) * per), [n, ...evalSet.sampleDims]),
        });
        out.set(o[planned.classifier.logits]!.data as Float32Array, i * k);
      }
      evalLogits = out;
    } finally {
      await upper.dispose();
    }
    result = {
      model: r.model,
      temperature: r.temperature,
      valAccuracy: r.valAccuracy,
      evalLogits,
      evalItems: evalSet.items,
      failed: f.failed,
      extractSeconds,
      split: { decode: f.decodeSeconds, run: f.runSeconds },
    };
  }
  const evalLabels = Int32Array.from(result.evalItems, (i) => req.items[i]!.label);
  const evaluated: Split = req.items.some((i) => i.split === 'test') ? 'test' : 'val';
  const report = evalLabels.length
    ? classificationReport({
        scores: { data: result.evalLogits, numClasses: k },
        kind: 'logits',
        labels: evalLabels,
        labelNames: req.classes,
        temperature: result.temperature,
        topLosses: 12,
      })
    : undefined;
  trained = { model: result.model };
  const bytes = encodeModel(result.model);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return {
    strategy: req.strategy,
    model: buffer,
    temperature: result.temperature,
    valAccuracy: result.valAccuracy,
    report,
    evaluated,
    scoredItems: result.evalItems,
    predictions: Array.from({ length: result.evalItems.length }, (_, i) =>
      argmax(result.evalLogits.subarray(i * k, (i + 1) * k)),
    ),
    failed: result.failed,
    history,
    seconds: {
      extract: result.extractSeconds,
      decode: result.split.decode,
      run: result.split.run,
      train: (performance.now() - trainStart) / 1000,
    },
    imagesPerSecond: all.length / result.extractSeconds,
    stepMs,
    device,
    threads: wasmThreads(),
  };
}

function provenance(
  b: WebBackbone,
  req: TrainRequest,
  trainExamples: number,
  valAccuracy: number | undefined,
  device: string,
) {
  return {
    baseModel: b.name,
    baseModelSha256: b.sha256,
    featureValue: b.featureValue,
    strategy: req.strategy,
    trainExamples,
    valAccuracy,
    device,
    runtime: 'onnxruntime-web',
    made: 'graft studio',
  };
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function accuracyOf(logits: Float32Array, labels: Int32Array, k: number): number {
  let right = 0;
  labels.forEach((y, i) => {
    if (argmax(logits.subarray(i * k, (i + 1) * k)) === y) right++;
  });
  return right / Math.max(1, labels.length);
}

/** Top-k of the trained classifier (its calibrated probabilities) for one decoded image. */
async function classify(img: RawImage, top: number): Promise<Scored[]> {
  if (!trained) throw new Error('train a model first');
  const info = readClassifierInfo(trained.model);
  trained.session ??= await Session.create(trained.model, { device: 'wasm' });
  const p = info.preprocessing;
  const pixels = new Float32Array(exampleSize(p));
  writeModelInput(img, p, pixels, 0);
  const dims = p.layout === 'NCHW' ? [1, 3, p.size[0], p.size[1]] : [1, p.size[0], p.size[1], 3];
  const out = await trained.session.run({ [info.inputName]: f32(pixels, dims) });
  const probs = out[info.probabilities ?? CLASSIFIER_PROBABILITIES]!.data as Float32Array;
  return Array.from(probs, (probability, i) => ({ label: info.labels[i]!, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top);
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'model') post({ type: 'model', info: await loadModel(m.bytes, m.name) });
  else if (m.type === 'train') {
    const result = await train(m.request);
    post({ type: 'trained', result }, [result.model]);
  } else if (m.type === 'predict') {
    const results: ({ top: Scored[] } | { error: string })[] = [];
    for (const file of m.files) {
      try {
        results.push({ top: await classify(await decodeImage(file), m.top) });
      } catch (e) {
        results.push({ error: firstLine(e) });
      }
    }
    post({ type: 'predicted', results });
  } else if (m.type === 'predict-pixels') {
    const img: RawImage = { data: m.image.data, width: m.image.width, height: m.image.height, channels: 4 };
    post({ type: 'predicted', results: [{ top: await classify(img, m.top) }] });
  }
}

const inThreadWorker = String((self as { name?: unknown }).name ?? '').startsWith('em-pthread');
if (!inThreadWorker) {
  self.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as ToWorker;
    if (!m || typeof m !== 'object' || !('type' in m)) return;
    handle(m).catch((err: unknown) => post({ type: 'error', message: firstLine(err), during: m.type }));
  });
}
