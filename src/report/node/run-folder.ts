// Node-only: reading and writing run folders on disk, and image thumbnails (sharp).
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { openImage } from '../../data/node/decode.js';
import { GraftError } from '../../errors.js';
import { loadOnnxFile } from '../../node/onnx-file.js';
import { writeFileAtomic } from '../../node/atomic.js';
import {
  type HistoryRow,
  type ModelFileInfo,
  RUN_FILES,
  RUN_FOLDER_FORMAT,
  type RunFolder,
  type RunInfo,
  type RunMetrics,
  type TopLossEntry,
  type TopLossView,
  checkSameClasses,
  historyToCsv,
  historyToJsonl,
  parseHistory,
  parseLabels,
  parseMetrics,
  parseRunInfo,
  parseTopLosses,
} from '../run-folder.js';

export interface ReadRunFolderOptions {
  /** longest side of the top-loss thumbnails in pixels, or false for none (default 96) */
  thumbnails?: number | false;
  /** thumbnails made at most (default 24, the number the HTML report shows) */
  maxThumbnails?: number;
}

/**
 * Reads and checks a run folder (format in ../run-folder.ts). Missing required files and damaged JSON
 * are GraftErrors naming the file and field; a missing model.onnx or an image that cannot be
 * thumbnailed is only a warning, since the report is still worth having without them.
 */
export async function readRunFolder(dir: string, options: ReadRunFolderOptions = {}): Promise<RunFolder> {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new GraftError('NOT_FOUND', 'The run folder does not exist', {
      file: dir,
      expected: 'a folder written by graft train',
      found: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message,
      fix: 'pass the folder that graft train printed at the end of the run',
      cause: e,
    });
  }
  if (!isDir) {
    throw new GraftError('BAD_INPUT', 'A run folder is a folder, not a file', {
      file: dir,
      expected: `a folder holding ${RUN_FILES.run}`,
      found: 'a file',
      fix: `pass the folder that holds ${RUN_FILES.run}, e.g. ${dirname(dir)}`,
    });
  }
  const run = parseRunInfo(readRequired(dir, RUN_FILES.run), join(dir, RUN_FILES.run));
  const labelsFile = join(dir, RUN_FILES.labels);
  const labels = parseLabels(readRequired(dir, RUN_FILES.labels), labelsFile);
  checkSameClasses(run.data.classes, labels, labelsFile, '');
  const history = parseHistory(readRequired(dir, RUN_FILES.history), join(dir, RUN_FILES.history));
  const metrics = parseMetrics(readRequired(dir, RUN_FILES.metrics), labels, join(dir, RUN_FILES.metrics));
  const warnings: string[] = [];

  let topLosses: TopLossView[] = [];
  const topFile = join(dir, RUN_FILES.topLosses);
  const topText = readOptional(topFile);
  if (topText !== undefined) topLosses = parseTopLosses(topText, labels, topFile);

  const folder: RunFolder = { run, history, metrics, labels, topLosses, dir, warnings };
  const model = readModelInfo(join(dir, RUN_FILES.model));
  if (model === undefined) {
    warnings.push(`${RUN_FILES.model} is missing: the run did not get as far as exporting, or the file was moved.`);
  } else {
    folder.model = model;
    if (model.error) warnings.push(`${RUN_FILES.model} could not be read: ${model.error}`);
  }

  const size = options.thumbnails ?? 96;
  if (size !== false && run.data.kind === 'image' && topLosses.length > 0) {
    const made = await attachThumbnails(folder, size, options.maxThumbnails ?? 24);
    if (made.missing.length > 0) {
      const names = made.missing.slice(0, 3).join(', ');
      warnings.push(
        `${made.missing.length} top-loss image${made.missing.length === 1 ? '' : 's'} could not be read for a preview ` +
          `(${names}${made.missing.length > 3 ? ', …' : ''}); the data set may have moved since training.`,
      );
    }
  }
  return folder;
}

/**
 * Small JPEG data URIs for the first `max` top-loss images: EXIF-rotated, fitted inside size×size,
 * transparency flattened onto white. Files that cannot be read are listed, not thrown.
 */
export async function attachThumbnails(
  folder: RunFolder,
  size = 96,
  max = 24,
): Promise<{ made: number; missing: string[] }> {
  const root = dataRoot(folder.run, folder.dir ?? '.');
  const missing: string[] = [];
  let made = 0;
  for (const entry of folder.topLosses.slice(0, max)) {
    const path = isAbsolute(entry.file) ? entry.file : resolve(root, entry.file);
    try {
      // a top-loss file is data like any other: read bounded, checked for bombs, first frame only
      const jpeg = await (
        await openImage(path)
      )
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: false })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 80, mozjpeg: true })
        .toBuffer();
      entry.thumbnail = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
      made++;
    } catch {
      missing.push(entry.file);
    }
  }
  return { made, missing };
}

/**
 * The folder relative top-loss paths are resolved against: data.root, else the data source (its folder
 * when it is a manifest file). Relative ones are taken from the run folder, which keeps a run folder
 * that travels together with its data set readable.
 */
function dataRoot(run: RunInfo, dir: string): string {
  if (run.data.root !== undefined) return resolve(dir, run.data.root);
  if (run.data.source === undefined) return dir;
  const source = resolve(dir, run.data.source);
  try {
    return statSync(source).isDirectory() ? source : dirname(source);
  } catch {
    return source;
  }
}

function readModelInfo(file: string): ModelFileInfo | undefined {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return undefined;
  }
  try {
    const model = loadOnnxFile(file);
    let parameters = 0;
    for (const t of model.graph.initializers.values()) parameters += t.size;
    const info: ModelFileInfo = {
      bytes: size,
      opset: model.opset,
      nodes: model.graph.nodes.length,
      parameters,
      metadata: Object.fromEntries(model.metadata),
    };
    const producer = [model.producerName, model.producerVersion].filter(Boolean).join(' ');
    if (producer) info.producer = producer;
    return info;
  } catch (e) {
    return { bytes: size, metadata: {}, error: (e as Error).message.split('\n')[0]! };
  }
}

const REQUIRED = [RUN_FILES.run, RUN_FILES.labels, RUN_FILES.history, RUN_FILES.metrics];

function readRequired(dir: string, name: string): string {
  const file = join(dir, name);
  const text = readOptional(file);
  if (text === undefined) {
    let present: string[] = [];
    try {
      present = readdirSync(dir).sort();
    } catch {
      // the folder was readable a moment ago; the listing is only a hint
    }
    throw new GraftError('NOT_FOUND', `The run folder has no ${name}`, {
      file,
      expected: `a run folder: ${REQUIRED.join(', ')} (and optionally ${RUN_FILES.topLosses}, ${RUN_FILES.model})`,
      found: present.length ? present.slice(0, 12).join(', ') + (present.length > 12 ? ', …' : '') : 'an empty folder',
      fix:
        name === RUN_FILES.run
          ? 'pass the folder graft train wrote (it holds run.json), not the data set or the model folder'
          : 'the run was interrupted before finishing; train again to re-create the folder',
    });
  }
  return text;
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new GraftError('IO', 'Cannot read a run-folder file', {
      file,
      found: (e as Error).message,
      fix: 'check the file permissions',
      cause: e,
    });
  }
}

/** What `graft train` writes into a run folder, except the model itself (written by the exporter). */
export interface RunFolderContents {
  run: Omit<RunInfo, 'format'>;
  history: readonly HistoryRow[];
  metrics: RunMetrics;
  topLosses?: readonly TopLossEntry[];
}

/**
 * Writes run.json, labels.json, history.jsonl, history.csv, metrics.json and (when given)
 * top-losses.json into `dir`, each atomically. Checks the result with the same parsers the reader
 * uses, so a writer bug fails here and not later in `graft report`.
 */
export function writeRunFolder(dir: string, contents: RunFolderContents): void {
  mkdirSync(dir, { recursive: true });
  const run: RunInfo = { format: RUN_FOLDER_FORMAT, ...contents.run };
  const files: [string, string][] = [
    [RUN_FILES.run, JSON.stringify(run, null, 2) + '\n'],
    [RUN_FILES.labels, JSON.stringify(run.data.classes) + '\n'],
    [RUN_FILES.history, historyToJsonl(contents.history)],
    [RUN_FILES.historyCsv, historyToCsv(contents.history)],
    [RUN_FILES.metrics, JSON.stringify(contents.metrics) + '\n'],
  ];
  if (contents.topLosses) files.push([RUN_FILES.topLosses, JSON.stringify(contents.topLosses, null, 1) + '\n']);
  const byName = new Map(files);
  parseRunInfo(byName.get(RUN_FILES.run)!, RUN_FILES.run);
  parseHistory(byName.get(RUN_FILES.history)!);
  parseMetrics(byName.get(RUN_FILES.metrics)!, run.data.classes);
  if (contents.topLosses) parseTopLosses(byName.get(RUN_FILES.topLosses)!, run.data.classes);
  const enc = new TextEncoder();
  for (const [name, text] of files) writeFileAtomic(join(dir, name), enc.encode(text));
}
