// The studio's data step, in the page: files picked with a directory input (or dropped) become the same
// data set `graft train` scans from the folder. The layout rules (class folders, or train/ val/ test/ folders
// of class folders), the checks (size and pixel limits before any decode, duplicates by sha256, empty and
// single-example classes) and the seeded stratified split are the library's own (data/dataset.ts), so the
// page trains and evaluates on exactly the split the CLI would.
import { carveMissingSplits, resolveScan } from '../data/dataset.js';
import { DEFAULT_DATA_LIMITS } from '../data/limits.js';
import type { DatasetIssue, DatasetReport, Split } from '../data/report.js';
import { LabelMap } from '../data/labels.js';
import { imageHeader } from './image-header.js';

/** A file as the page has it: its path under the picked folder ('photos/cat/a.png') and its bytes. */
export interface PickedFile {
  path: string;
  file: Blob;
}

export interface StudioItem {
  id: string;
  label: string;
  hash: string;
  split: Split;
  file: Blob;
  width: number;
  height: number;
  format: string;
}

export interface StudioDataset {
  root: string;
  layout: 'class-folders' | 'split-folders';
  labels: LabelMap;
  items: StudioItem[];
  report: DatasetReport;
}

export interface StudioDataOptions {
  /** fraction of each class held out for validation when there is no val/ folder (graft train's default) */
  valSplit?: number;
  seed?: number;
  maxImageBytes?: number;
  maxImagePixels?: number;
  onProgress?: (done: number, total: number) => void;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif']);
const SPLITS = new Set<string>(['train', 'val', 'test']);
const JUNK = new Set(['thumbs.db', 'desktop.ini', '__macosx']);
const isJunk = (name: string) => name.startsWith('.') || JUNK.has(name.toLowerCase());
const extOf = (name: string) => (name.includes('.') ? name.slice(name.lastIndexOf('.')).toLowerCase() : '');

/** Where a picked path sits in the layout: its class, its split, or why it is not an example. */
export function placeFiles(paths: readonly string[]): {
  root: string;
  layout: StudioDataset['layout'];
  placed: { index: number; id: string; label: string; split?: Split }[];
  ignored: { index: number; id: string; why: string }[];
} {
  const parts = paths.map((p) => p.split('/').filter((s) => s !== '' && s !== '.'));
  // a directory input names every file under the picked folder's own name: that folder is the root
  const firsts = new Set(parts.map((p) => p[0]));
  const root = firsts.size === 1 && parts.every((p) => p.length > 1) ? parts[0]![0]! : '';
  const rel = parts.map((p) => (root ? p.slice(1) : p));
  const layout = rel.some((p) => p.length >= 3 && SPLITS.has(p[0]!)) ? 'split-folders' : 'class-folders';
  const placed: { index: number; id: string; label: string; split?: Split }[] = [];
  const ignored: { index: number; id: string; why: string }[] = [];
  rel.forEach((p, index) => {
    const id = p.join('/');
    if (p.some(isJunk)) return;
    const depth = layout === 'split-folders' ? 3 : 2;
    if (p.length !== depth || (layout === 'split-folders' && !SPLITS.has(p[0]!))) {
      ignored.push({
        index,
        id,
        why:
          layout === 'split-folders'
            ? 'not in a class folder of train/, val/ or test/'
            : 'not directly in a class folder (one folder per class)',
      });
      return;
    }
    const label = p[depth - 2]!;
    const split = layout === 'split-folders' ? (p[0] as Split) : undefined;
    placed.push({ index, id, label, ...(split ? { split } : {}) });
  });
  return { root, layout, placed, ignored };
}

/**
 * Reads the picked files as a data set: every file is read once (sha256, header), files over the size or
 * pixel limits and files that are no image are skipped with the reason, then the data-set-wide checks and
 * the split run as in `graft train`. Throws a GraftError only when nothing trainable remains.
 */
export async function readPickedFiles(
  files: readonly PickedFile[],
  opts: StudioDataOptions = {},
): Promise<StudioDataset> {
  const maxBytes = opts.maxImageBytes ?? DEFAULT_DATA_LIMITS.maxImageBytes;
  const maxPixels = opts.maxImagePixels ?? DEFAULT_DATA_LIMITS.maxImagePixels;
  const { root, layout, placed, ignored } = placeFiles(files.map((f) => f.path));
  const issues: DatasetIssue[] = ignored.map((i) => ({
    kind: 'unsupported',
    files: [i.id],
    skipped: true,
    detail: i.why,
  }));
  const candidates: (Omit<StudioItem, 'split'> & { split?: Split })[] = [];
  const declared = new Set<string>();
  let done = 0;
  for (const p of placed) {
    const f = files[p.index]!.file;
    declared.add(p.label);
    const skip = (kind: DatasetIssue['kind'], detail: string) =>
      issues.push({
        kind,
        files: [p.id],
        skipped: true,
        detail,
        label: p.label,
        ...(p.split ? { split: p.split } : {}),
      });
    opts.onProgress?.(++done, placed.length);
    if (!IMAGE_EXTENSIONS.has(extOf(p.id))) {
      skip('unsupported', `not an image type the studio reads (${[...IMAGE_EXTENSIONS].join(', ')})`);
      continue;
    }
    if (f.size === 0) {
      skip('empty-file', 'an empty file');
      continue;
    }
    if (f.size > maxBytes) {
      skip('too-large', `${f.size} bytes, over the ${maxBytes}-byte limit for one image`);
      continue;
    }
    const bytes = new Uint8Array(await f.arrayBuffer());
    const header = imageHeader(bytes);
    if ('problem' in header) {
      skip('corrupt', header.problem);
      continue;
    }
    if (header.width * header.height > maxPixels) {
      skip('too-large', `${header.width}x${header.height}, over the ${maxPixels}-pixel limit for one image`);
      continue;
    }
    candidates.push({
      id: p.id,
      label: p.label,
      hash: await sha256Hex(bytes),
      file: f,
      width: header.width,
      height: header.height,
      format: header.format,
      ...(p.split ? { split: p.split } : {}),
    });
  }
  const resolved = resolveScan(
    { source: root || 'dropped files', kind: 'image', layout, candidates, issues, declaredClasses: [...declared] },
    {},
  );
  const ds: StudioDataset = { root, layout, labels: resolved.labels, items: resolved.items, report: resolved.report };
  carveMissingSplits(ds, { valSplit: opts.valSplit ?? 0.1, testSplit: 0, seed: opts.seed ?? 0 });
  return ds;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
