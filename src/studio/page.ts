// Graft Studio, the page: six steps (Data, Model, Train, Evaluate, Try it, Export) on one page, each a
// section with a heading, labelled controls in reading order and a status line screen readers announce.
// Plain DOM and TypeScript, no UI framework: the page is six forms and some tables, a framework would add
// more code to audit than it saves, and textContent-only rendering (dom.ts) keeps every name from the user's
// files out of the HTML parser. Charts are the report's Vega-Lite specs (report/html.ts) rendered by Vega.
// Training runs in a Web Worker (worker.ts); Cancel terminates it.
import { transformersJsFiles } from '../app-web/export.js';
import type { ClassificationReport } from '../eval/report.js';
import { decodeModel } from '../onnx/codec.js';
import { renderChart } from '../report/charts.js';
import { confusionSpec, countsSpec, curveRows, curveSpec, mostConfused, reliabilitySpec } from '../report/html.js';
import { zipStore } from '../util/zip.js';
import { type PickedFile, type StudioDataset, placeFiles, readPickedFiles } from './dataset.js';
import { append, byId, el, fill, headedTable, percent, seconds, svgNode } from './dom.js';
import type { EpochEvent, FromWorker, ModelInfo, Scored, StudioStrategy, ToWorker, TrainResult } from './protocol.js';

interface CachedModel {
  name: string;
  size: number;
  summary: string;
}

const state: {
  /** the files of the data step, as placed under their class folders */
  picked: PickedFile[];
  data?: StudioDataset;
  modelBytes?: ArrayBuffer;
  modelName?: string;
  model?: ModelInfo;
  result?: TrainResult;
  history: (EpochEvent & { n: number })[];
  training: boolean;
} = { picked: [], history: [], training: false };

let worker: Worker;
let waiting: ((m: FromWorker) => void) | undefined;

function startWorker(): void {
  worker = new Worker('./studio-worker.js', { type: 'module', name: 'graft-studio' });
  worker.addEventListener('message', (e: MessageEvent<FromWorker>) => onWorker(e.data));
  worker.addEventListener('error', (e) => say('train-status', `The training worker failed: ${e.message}`));
}

let queue: Promise<unknown> = Promise.resolve();

/** Sends one request and resolves with its answer; requests wait their turn (the webcam's and a file's too). */
function send(m: ToWorker, transfer: Transferable[] = []): Promise<FromWorker> {
  const answer = queue.then(
    () =>
      new Promise<FromWorker>((resolve) => {
        waiting = resolve;
        worker.postMessage(m, transfer);
      }),
  );
  queue = answer.catch(() => undefined);
  return answer;
}

function onWorker(m: FromWorker): void {
  if (m.type === 'progress') return showProgress(m);
  if (m.type === 'epoch') {
    state.history.push({ ...m.epoch, n: state.history.length + 1 });
    void drawCurves();
    return;
  }
  const w = waiting;
  waiting = undefined;
  w?.(m);
}

function say(id: string, text: string): void {
  byId(id).textContent = text;
}

// ---------------------------------------------------------------------------------------------------- layout

function section(id: string, n: number, title: string, intro: string, ...body: (Node | null)[]): HTMLElement {
  return el(
    'section',
    { id: `step-${id}`, 'aria-labelledby': `h-${id}` },
    el('h2', { id: `h-${id}` }, `${n}. ${title}`),
    el('p', { class: 'intro' }, intro),
    ...body,
  );
}

function field(label: string, control: HTMLElement): HTMLElement {
  return el('label', { class: 'field' }, el('span', {}, label), control);
}

function build(): void {
  const app = byId('app');
  fill(
    app,
    el(
      'header',
      {},
      el('h1', {}, 'Graft Studio'),
      el(
        'p',
        { class: 'note' },
        'Your images never leave this browser: they are read, trained on and evaluated in this tab. Only the model files come from the studio server.',
      ),
    ),
    section(
      'data',
      1,
      'Data',
      'Pick (or drop) a folder with one sub-folder per class, or train/, val/ and test/ folders of class folders; or name a class and pick its images, one class after another. Without a val/ folder, 10% of each class is held out, as graft train does.',
      el(
        'div',
        { id: 'drop', class: 'drop', tabindex: 0, 'aria-describedby': 'data-status' },
        field('Image folder', el('input', { id: 'data-input', type: 'file', webkitdirectory: true, multiple: true })),
        el('span', { class: 'hint' }, ' or drop a folder here'),
      ),
      el(
        'div',
        { class: 'row', id: 'add-class' },
        field('or name a class', el('input', { id: 'class-name', type: 'text', placeholder: 'e.g. cat' })),
        field(
          'and pick its images',
          el('input', { id: 'class-images', type: 'file', multiple: true, accept: 'image/*' }),
        ),
        el('button', { id: 'class-add', type: 'button' }, 'Add to the data'),
      ),
      el('p', { id: 'data-status', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: 'data-summary' }),
    ),
    section(
      'model',
      2,
      'Model',
      'Choose a backbone from the local model cache (graft zoo pull puts them there) or an .onnx file.',
      el(
        'div',
        { class: 'row' },
        field('Cached model', el('select', { id: 'model-select' }, el('option', { value: '' }, '(none)'))),
        field('or an ONNX file', el('input', { id: 'model-file', type: 'file', accept: '.onnx' })),
        field('or a model URL', el('input', { id: 'model-url', type: 'url', placeholder: 'https://…/model.onnx' })),
        el('button', { id: 'model-url-load', type: 'button' }, 'Load'),
      ),
      el('p', { id: 'model-status', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: 'model-info' }),
    ),
    section(
      'train',
      3,
      'Train',
      'Training runs in a Web Worker on onnxruntime-web (WebGPU where the browser has an adapter, else wasm).',
      el(
        'div',
        { class: 'row' },
        field(
          'Strategy',
          el(
            'select',
            { id: 'strategy' },
            el('option', { value: 'linear-probe' }, 'linear probe (a linear head on frozen features)'),
            el('option', { value: 'knn' }, 'kNN (few-shot)'),
            el('option', { value: 'prototype' }, 'prototypes (few-shot)'),
            el('option', { value: 'fine-tune' }, 'fine-tune the last blocks'),
          ),
        ),
        field('Blocks to fine-tune', el('input', { id: 'blocks', type: 'number', min: 1, value: 1 })),
        field('Epochs (0: default)', el('input', { id: 'epochs', type: 'number', min: 0, value: 0 })),
        field(
          'Probe epochs, before the blocks train (0: default)',
          el('input', { id: 'probe-epochs', type: 'number', min: 0, value: 2 }),
        ),
        field('Batch size', el('input', { id: 'batch', type: 'number', min: 1, value: 32 })),
        field('Seed', el('input', { id: 'seed', type: 'number', value: 0 })),
        field('wasm threads', el('input', { id: 'threads', type: 'number', min: 1, max: 16, value: 2 })),
      ),
      el(
        'div',
        { class: 'row' },
        el('button', { id: 'train', type: 'button', disabled: true }, 'Train'),
        el('button', { id: 'cancel', type: 'button', disabled: true }, 'Cancel'),
        el('progress', { id: 'progress', max: 1, value: 0, 'aria-label': 'training progress' }),
        el('span', { id: 'eta' }),
      ),
      el('p', { id: 'train-status', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: 'curves', class: 'charts' }),
    ),
    section(
      'evaluate',
      4,
      'Evaluate',
      'Scores on the test split (the val split when there is none), as graft report shows them.',
      el('div', { id: 'eval' }),
    ),
    section(
      'try',
      5,
      'Try it',
      'Classify your own images with the trained model, or the webcam.',
      el(
        'div',
        { class: 'row' },
        field(
          'Images',
          el('input', { id: 'try-file', type: 'file', accept: 'image/*', multiple: true, disabled: true }),
        ),
        el('button', { id: 'webcam', type: 'button', disabled: true }, 'Use the webcam'),
      ),
      el('video', {
        id: 'video',
        autoplay: true,
        muted: true,
        playsinline: true,
        hidden: true,
        width: 224,
        height: 168,
      }),
      el('p', { id: 'try-status', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: 'try-results' }),
    ),
    section(
      'export',
      6,
      'Export',
      'model.onnx is the file graft train writes (labels, preprocessing and calibration in its metadata): graft predict, graft serve and onnxruntime anywhere read it. The zip is the folder transformers.js pipelines load.',
      el(
        'div',
        { class: 'row' },
        el('button', { id: 'export-onnx', type: 'button', disabled: true }, 'Download model.onnx'),
        el('button', { id: 'export-zip', type: 'button', disabled: true }, 'Download the transformers.js folder (zip)'),
      ),
      el('p', { id: 'export-status', role: 'status', 'aria-live': 'polite' }),
    ),
  );
}

// ------------------------------------------------------------------------------------------------------ data

async function onFiles(files: PickedFile[]): Promise<void> {
  state.picked = files;
  say('data-status', `Reading ${files.length} files…`);
  fill(byId('data-summary'));
  state.data = undefined;
  resetTraining();
  try {
    state.data = await readPickedFiles(files, {
      onProgress: (done, total) => {
        if (done % 100 === 0) say('data-status', `Reading files: ${done} of ${total}…`);
      },
    });
  } catch (e) {
    say('data-status', messageOf(e));
    updateButtons();
    return;
  }
  const ds = state.data;
  const c = ds.report.counts;
  say(
    'data-status',
    `${c.usable} images in ${ds.labels.size} classes (${ds.layout}): ${c.perSplit.train} train, ${c.perSplit.val} val, ${c.perSplit.test} test; ${c.skipped} skipped.`,
  );
  const summary = byId('data-summary');
  const { table, body } = headedTable('class-table', 'Images per class', ['class', 'train', 'val', 'test', 'examples']);
  for (const name of ds.labels.names) {
    const n = c.perClass[name]!;
    const thumbs = el('td', { class: 'thumbs' });
    for (const it of ds.items.filter((i) => i.label === name).slice(0, 4)) thumbs.appendChild(thumb(it.file, it.id));
    body.appendChild(
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, name),
        el('td', {}, n.train),
        el('td', {}, n.val),
        el('td', {}, n.test),
        thumbs,
      ),
    );
  }
  append(summary, table);
  if (ds.labels.size <= 40) {
    append(
      summary,
      el(
        'figure',
        { class: 'chart' },
        svgNode(await renderChart(countsSpec(ds.labels.names, c.perClass), 'counts', 'Examples per class and split')),
      ),
    );
  }
  const skipped = ds.report.issues.filter((i) => i.skipped || i.kind === 'single-example-class');
  if (skipped.length) {
    const list = el('ul', { id: 'issues' });
    for (const i of skipped) {
      const files = i.files.length ? i.files.join(', ') : (i.label ?? '');
      list.appendChild(el('li', {}, el('strong', {}, i.kind), ': ', files, ` (${i.detail})`));
    }
    append(summary, el('h3', {}, 'Left out, and why'), list);
  }
  updateButtons();
}

function thumb(file: Blob, alt: string): HTMLImageElement {
  const url = URL.createObjectURL(file);
  const img = el('img', { src: url, alt, width: 40, height: 40, loading: 'lazy' });
  img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  return img;
}

/** Why a name typed for a class cannot be one (a folder name on the CLI's side), or undefined. */
function classNameProblem(name: string): string | undefined {
  if (!name) return 'Type a class name first.';
  if (/[/\\]/.test(name) || name.startsWith('.') || name.length > 100) {
    return 'A class name cannot hold / or \\, start with a dot, or be longer than 100 characters.';
  }
  return undefined;
}

/**
 * The data step's files with loose images added as a class: placed in the class's folder, beside the classes
 * picked before (in train/ when a train/ val/ test/ layout was picked), renamed when a name is taken.
 */
function withClass(picked: readonly PickedFile[], name: string, files: File[]): PickedFile[] {
  // the first class added gets a folder above it, as a picked folder has: a lone class folder would be taken
  // for the picked folder itself
  const { root, layout } = picked.length ? placeFiles(picked.map((f) => f.path)) : { root: 'added', layout: '' };
  const base = [root, layout === 'split-folders' ? 'train' : '', name].filter(Boolean).join('/');
  const taken = new Set(picked.map((f) => f.path));
  const added = files.map((file) => {
    let path = `${base}/${file.name}`;
    for (let k = 2; taken.has(path); k++) path = `${base}/${k}-${file.name}`;
    taken.add(path);
    return { path, file };
  });
  return [...picked, ...added];
}

/** A dropped folder's files with their paths (DataTransfer entries), read recursively. */
async function droppedFiles(items: DataTransferItemList): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, no) => (entry as FileSystemFileEntry).file(ok, no));
      out.push({ path: `${prefix}${entry.name}`, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, no) => reader.readEntries(ok, no));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const item of Array.from(items)) {
    const entry = item.webkitGetAsEntry();
    if (entry) await walk(entry, '');
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------- model

async function loadCachedList(): Promise<void> {
  try {
    const res = await fetch('./api/models');
    if (!res.ok) {
      // served as static files, without the studio server: no cache to offer
      byId<HTMLSelectElement>('model-select').disabled = true;
      say('model-status', 'No studio server here (static files): load a model from a URL or pick an .onnx file.');
      return;
    }
    const list = (await res.json()) as { models: CachedModel[] };
    const select = byId<HTMLSelectElement>('model-select');
    for (const m of list.models) {
      select.appendChild(
        el('option', { value: m.name }, `${m.name} (${(m.size / 2 ** 20).toFixed(1)} MB) — ${m.summary}`),
      );
    }
    if (!list.models.length)
      say('model-status', 'No model in the local cache: pick an .onnx file, or run graft zoo pull NAME and reload.');
  } catch (e) {
    say('model-status', `Could not list the cached models: ${messageOf(e)}`);
  }
}

/** A model's bytes over HTTP, with the progress shown. */
async function fetchModel(url: string, name: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    say(
      'model-status',
      `Loading ${name}: ${(got / 2 ** 20).toFixed(1)}${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ''} MB`,
    );
  }
  return new Blob(chunks as BlobPart[]).arrayBuffer();
}

async function useModel(bytes: ArrayBuffer, name: string): Promise<void> {
  state.model = undefined;
  resetTraining();
  say('model-status', `Reading ${name}…`);
  fill(byId('model-info'));
  state.modelBytes = bytes;
  state.modelName = name;
  const m = await send({ type: 'model', bytes: bytes.slice(0), name });
  if (m.type !== 'model') {
    say('model-status', m.type === 'error' ? `This model cannot be used: ${m.message}` : 'unexpected answer');
    updateButtons();
    return;
  }
  state.model = m.info;
  const i = m.info;
  say('model-status', `${i.name} is ready.`);
  fill(
    byId('model-info'),
    el(
      'dl',
      {},
      el('dt', {}, 'input'),
      el('dd', { id: 'model-input' }, `${i.inputSize[0]}x${i.inputSize[1]} (${i.layout})`),
      el('dt', {}, 'features'),
      el('dd', {}, `${i.dim}-d at ${i.featureValue}`),
      el('dt', {}, 'blocks'),
      el('dd', { id: 'model-blocks' }, `${i.blocks.length}: ${i.blocks.join(', ')}`),
      el('dt', {}, 'sha256'),
      el('dd', {}, i.sha256.slice(0, 16)),
    ),
  );
  byId<HTMLInputElement>('blocks').max = String(Math.max(1, i.blocks.length - 1));
  updateButtons();
}

// ----------------------------------------------------------------------------------------------------- train

function resetTraining(): void {
  state.result = undefined;
  state.history = [];
  delete byId('train-status').dataset.result;
  fill(byId('curves'));
  fill(byId('eval'));
  fill(byId('try-results'));
  say('train-status', '');
  say('eta', '');
  byId<HTMLProgressElement>('progress').value = 0;
}

function updateButtons(): void {
  const ready = !!state.data && !!state.model;
  byId<HTMLButtonElement>('train').disabled = !ready || state.training;
  byId<HTMLButtonElement>('cancel').disabled = !state.training;
  const trained = !!state.result && !state.training;
  for (const id of ['export-onnx', 'export-zip', 'try-file', 'webcam']) byId<HTMLButtonElement>(id).disabled = !trained;
  const ft = byId<HTMLSelectElement>('strategy').value === 'fine-tune';
  byId<HTMLInputElement>('blocks').disabled = !ft;
  byId<HTMLInputElement>('probe-epochs').disabled = !ft;
}

const num = (id: string) => Number(byId<HTMLInputElement>(id).value);

async function startTraining(): Promise<void> {
  const ds = state.data;
  if (!ds || !state.model) return;
  resetTraining();
  state.training = true;
  updateButtons();
  const classes = [...ds.labels.names];
  const strategy = byId<HTMLSelectElement>('strategy').value as StudioStrategy;
  const items = ds.items.map((it) => ({ file: it.file, label: ds.labels.encode([it.label])[0]!, split: it.split }));
  say('train-status', `Training (${strategy}) on ${items.filter((i) => i.split === 'train').length} images…`);
  const m = await send({
    type: 'train',
    request: {
      classes,
      items,
      strategy,
      blocks: num('blocks'),
      epochs: num('epochs'),
      probeEpochs: num('probe-epochs'),
      batchSize: num('batch'),
      seed: num('seed'),
      threads: num('threads'),
    },
  });
  state.training = false;
  if (m.type === 'trained') {
    state.result = m.result;
    const r = m.result;
    byId<HTMLProgressElement>('progress').value = 1;
    // the figures as data, for scripts (the studio benchmark reads them)
    byId('train-status').dataset.result = JSON.stringify({
      imagesPerSecond: r.imagesPerSecond,
      extractSeconds: r.seconds.extract,
      decodeSeconds: r.seconds.decode,
      runSeconds: r.seconds.run,
      trainSeconds: r.seconds.train,
      stepMs: r.stepMs,
      device: r.device,
      threads: r.threads,
    });
    say('eta', '');
    say(
      'train-status',
      `Done: ${r.strategy} on ${r.device}${r.threads ? ` (${r.threads} thread${r.threads > 1 ? 's' : ''})` : ''}, features ${seconds(r.seconds.extract)} (${r.imagesPerSecond.toFixed(0)} img/s), training ${seconds(r.seconds.train)}.` +
        (r.failed.length
          ? ` ${r.failed.length} file${r.failed.length > 1 ? 's' : ''} did not decode and ${r.failed.length > 1 ? 'were' : 'was'} left out: ${r.failed
              .map((f) => `${state.data!.items[f.item]?.id ?? f.item} (${f.reason})`)
              .join('; ')}.`
          : ''),
    );
    await showEvaluation(r);
  } else if (m.type === 'error' && m.during !== 'cancel') say('train-status', `Training stopped: ${m.message}`);
  updateButtons();
}

/** Throws the worker away: training stops at once, whatever it was doing. A fresh worker takes the model again. */
async function cancelTraining(): Promise<void> {
  if (!state.training) return;
  worker.terminate();
  const w = waiting;
  waiting = undefined;
  state.training = false;
  say('train-status', 'Cancelled.');
  say('eta', '');
  w?.({ type: 'error', message: 'cancelled', during: 'cancel' });
  startWorker();
  updateButtons();
  if (state.modelBytes) {
    const r = await send({ type: 'model', bytes: state.modelBytes.slice(0), name: state.modelName ?? 'model.onnx' });
    if (r.type === 'model') state.model = r.info;
  }
}

function showProgress(m: Extract<FromWorker, { type: 'progress' }>): void {
  if (!state.training) return;
  const p = byId<HTMLProgressElement>('progress');
  // feature extraction is the first half of the bar, training the second
  const frac = m.total ? m.done / m.total : 0;
  p.value = m.stage === 'extract' ? frac / 2 : 0.5 + frac / 2;
  const eta = m.done ? (m.seconds / m.done) * (m.total - m.done) : NaN;
  const what = m.stage === 'extract' ? `images ${m.done} of ${m.total}` : `epoch ${m.done} of ${m.total}`;
  say('eta', `${what}, ${seconds(eta)} left`);
}

let drawing = false;
async function drawCurves(): Promise<void> {
  if (drawing) return;
  drawing = true;
  try {
    const rows = state.history.map((h) => ({ ...h.record, epoch: h.n }));
    const total = rows.length;
    const loss = curveRows(rows, 'trainLoss', 'valLoss');
    const acc = curveRows(rows, 'trainAcc', 'valAcc');
    const charts = byId('curves');
    const nodes: Node[] = [];
    if (loss.length)
      nodes.push(
        el(
          'figure',
          { class: 'chart', id: 'loss-chart' },
          svgNode(await renderChart(curveSpec(loss, total, 'loss'), 'loss', 'Loss by epoch')),
        ),
      );
    if (acc.length)
      nodes.push(
        el(
          'figure',
          { class: 'chart' },
          svgNode(await renderChart(curveSpec(acc, total, 'accuracy'), 'acc', 'Accuracy by epoch')),
        ),
      );
    const last = state.history.at(-1);
    if (last)
      nodes.push(
        el(
          'p',
          { id: 'last-epoch' },
          `${last.phase} epoch ${last.record.epoch}: loss ${last.record.trainLoss.toFixed(4)}${last.record.valAcc !== undefined ? `, val accuracy ${percent(last.record.valAcc)}` : ''}`,
        ),
      );
    fill(charts, ...nodes);
  } finally {
    drawing = false;
  }
}

// -------------------------------------------------------------------------------------------------- evaluate

async function showEvaluation(r: TrainResult): Promise<void> {
  const box = byId('eval');
  const rep = r.report;
  if (!rep) {
    fill(box, el('p', {}, 'No val or test images to score.'));
    return;
  }
  const ds = state.data!;
  const items = ds.items;
  fill(
    box,
    el(
      'p',
      { class: 'big' },
      `${r.evaluated} accuracy `,
      el('strong', { id: 'test-accuracy', 'data-value': String(rep.accuracy) }, percent(rep.accuracy)),
      ` on ${rep.numExamples} images; validation accuracy ${percent(r.valAccuracy)}; log loss ${rep.logLoss.toFixed(3)}; ECE ${percent(rep.calibration.ece)} after temperature ${r.temperature.toFixed(2)}.`,
    ),
  );
  const shown = mostConfused(rep, 12);
  append(
    box,
    el(
      'figure',
      { class: 'chart', id: 'confusion' },
      svgNode(await renderChart(confusionSpec(rep, shown), 'confusion', 'Confusion matrix')),
    ),
  );
  append(box, perClassTable(rep));
  const losses = el('ol', { id: 'top-losses', class: 'losses' });
  for (const l of rep.topLosses) {
    const item = items[r.scoredItems[l.index]!]!;
    losses.appendChild(
      el(
        'li',
        {},
        thumb(item.file, item.id),
        el('span', {}, item.id),
        el(
          'span',
          {},
          `actual ${rep.labelNames[l.actual]}, predicted ${rep.labelNames[l.predicted]} (${percent(l.predictedProbability)})`,
        ),
      ),
    );
  }
  append(box, el('h3', {}, 'Top losses'), losses);
  append(
    box,
    el(
      'figure',
      { class: 'chart', id: 'calibration' },
      svgNode(
        await renderChart(
          reliabilitySpec([{ bins: rep.calibration.bins, title: `${r.evaluated}, after temperature scaling` }]),
          'calibration',
          'Reliability diagram',
        ),
      ),
    ),
  );
}

function perClassTable(rep: ClassificationReport): HTMLElement {
  const { table: t, body } = headedTable('per-class', 'Per class', ['class', 'precision', 'recall', 'F1', 'support']);
  for (const row of rep.perClass) {
    body.appendChild(
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, row.label),
        el('td', {}, percent(row.precision)),
        el('td', {}, percent(row.recall)),
        el('td', {}, percent(row.f1)),
        el('td', {}, row.support),
      ),
    );
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------- try it

async function tryFiles(files: File[]): Promise<void> {
  say('try-status', `Classifying ${files.length} images…`);
  const m = await send({ type: 'predict', files, top: 3 });
  if (m.type !== 'predicted') {
    say('try-status', m.type === 'error' ? m.message : 'unexpected answer');
    return;
  }
  const { table, body } = headedTable('try-table', 'Top classes', ['image', 'file', 'top-1', 'top-3']);
  m.results.forEach((r, i) => {
    const f = files[i]!;
    const cells =
      'top' in r
        ? [el('td', { class: 'top1' }, r.top[0]!.label), el('td', {}, topText(r.top))]
        : [el('td', { class: 'top1' }, '—'), el('td', {}, r.error)];
    body.appendChild(
      el('tr', {}, el('td', {}, thumb(f, f.name)), el('th', { scope: 'row', class: 'name' }, f.name), ...cells),
    );
  });
  fill(byId('try-results'), table);
  say('try-status', `${files.length} images classified.`);
}

const topText = (top: Scored[]) => top.map((s) => `${s.label} ${percent(s.probability)}`).join(', ');

let webcamTimer: number | undefined;
async function webcam(): Promise<void> {
  const video = byId<HTMLVideoElement>('video');
  if (webcamTimer !== undefined) {
    clearInterval(webcamTimer);
    webcamTimer = undefined;
    for (const t of (video.srcObject as MediaStream | null)?.getTracks() ?? []) t.stop();
    video.hidden = true;
    return;
  }
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (e) {
    say('try-status', `No webcam: ${messageOf(e)}`);
    return;
  }
  video.hidden = false;
  const canvas = document.createElement('canvas');
  let busy = false;
  webcamTimer = window.setInterval(async () => {
    if (busy || !video.videoWidth) return;
    busy = true;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(video, 0, 0);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const m = await send({ type: 'predict-pixels', image: { data: d.data, width: d.width, height: d.height }, top: 3 });
    if (m.type === 'predicted' && 'top' in m.results[0]!) say('try-status', `webcam: ${topText(m.results[0].top)}`);
    busy = false;
  }, 400);
}

// ---------------------------------------------------------------------------------------------------- export

function download(parts: BlobPart[], name: string, type: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = el('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function exportOnnx(): void {
  if (!state.result) return;
  download([state.result.model], 'model.onnx', 'application/octet-stream');
  say('export-status', `model.onnx (${(state.result.model.byteLength / 2 ** 20).toFixed(2)} MB) downloaded.`);
}

function exportZip(): void {
  if (!state.result) return;
  try {
    const files = transformersJsFiles(decodeModel(new Uint8Array(state.result.model), { file: 'model.onnx' }));
    download(zipStore(files) as BlobPart[], 'graft-transformers-js.zip', 'application/zip');
    say('export-status', `The transformers.js folder (${files.map((f) => f.path).join(', ')}) downloaded as a zip.`);
  } catch (e) {
    say('export-status', messageOf(e));
  }
}

// ------------------------------------------------------------------------------------------------------ wire

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function wire(): void {
  const input = byId<HTMLInputElement>('data-input');
  input.addEventListener('change', () => {
    const files = Array.from(input.files ?? []).map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    void onFiles(files);
  });
  byId<HTMLButtonElement>('class-add').addEventListener('click', () => {
    const images = byId<HTMLInputElement>('class-images');
    const name = byId<HTMLInputElement>('class-name').value.trim();
    const why = classNameProblem(name);
    if (why) return say('data-status', why);
    const files = Array.from(images.files ?? []);
    if (!files.length) return say('data-status', `Pick the images of ${JSON.stringify(name)} first.`);
    images.value = '';
    void onFiles(withClass(state.picked, name, files));
  });
  const drop = byId('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) void droppedFiles(e.dataTransfer.items).then(onFiles);
  });
  const select = byId<HTMLSelectElement>('model-select');
  select.addEventListener('change', () => {
    if (!select.value) return;
    const name = select.value;
    fetchModel(`./models/${encodeURIComponent(name)}.onnx`, name)
      .then((b) => useModel(b, name))
      .catch((e) => say('model-status', `Could not load ${name}: ${messageOf(e)}`));
  });
  const file = byId<HTMLInputElement>('model-file');
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    if (f) void f.arrayBuffer().then((b) => useModel(b, f.name));
  });
  byId('model-url-load').addEventListener('click', () => {
    const url = byId<HTMLInputElement>('model-url').value.trim();
    if (!url) return;
    const name = url.split('?')[0]!.split('/').pop() || 'model.onnx';
    fetchModel(url, name)
      .then((b) => useModel(b, name))
      .catch((e) => say('model-status', `Could not load ${url}: ${messageOf(e)}`));
  });
  byId('strategy').addEventListener('change', updateButtons);
  byId('train').addEventListener('click', () => void startTraining());
  byId('cancel').addEventListener('click', () => void cancelTraining());
  const tryInput = byId<HTMLInputElement>('try-file');
  tryInput.addEventListener('change', () => void tryFiles(Array.from(tryInput.files ?? [])));
  byId('webcam').addEventListener('click', () => void webcam());
  byId('export-onnx').addEventListener('click', exportOnnx);
  byId('export-zip').addEventListener('click', exportZip);
}

build();
wire();
startWorker();
updateButtons();
void loadCachedList();
document.body.dataset.ready = 'true';
