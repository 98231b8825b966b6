import { createHash } from 'node:crypto';
import { dirname, extname, resolve } from 'node:path';
import { type Candidate, type ResolveOptions, resolveScan } from '../dataset.js';
import type { LabelMap } from '../labels.js';
import { type DataLimits, dataLimits } from '../limits.js';
import type { DatasetIssue, DatasetReport, Split } from '../report.js';
import { type TextExample, type TextFields, recordsToExamples } from '../text.js';
import { type FileFilter, discoverFolder, readTable, statKind, toId } from './files.js';
import { mapLimit } from './pool.js';
import { readBounded } from './read.js';

export interface TextItem extends Candidate {
  text: string;
  split: Split;
}

export type TextLayout = 'table' | 'class-folders' | 'split-folders';

export interface TextDataset {
  root: string;
  layout: TextLayout;
  labels: LabelMap;
  items: TextItem[];
  report: DatasetReport;
}

export interface LoadTextOptions extends ResolveOptions {
  /** table column / JSON field names (defaults text, label, split) */
  fields?: TextFields;
  /** file extensions taken from class folders (default .txt); other files are reported as unsupported */
  extensions?: readonly string[];
  /**
   * Files that are not valid UTF-8: reported as corrupt and skipped (default), or read with U+FFFD in
   * place of the bad bytes (mail corpora often hold Latin-1 messages).
   */
  invalidUtf8?: 'skip' | 'replace';
  /** renames or drops (null) classes, e.g. 'easy-ham-1' -> 'ham' */
  mapLabel?: (label: string) => string | null;
  onIssue?: (issue: DatasetIssue) => void;
  /** file size and table limits (defaults: DEFAULT_DATA_LIMITS) */
  limits?: Partial<DataLimits>;
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });
const UTF8_LENIENT = new TextDecoder('utf-8');

/**
 * Loads a text classification data set: a CSV/TSV (header row; fields may be quoted and span lines) or
 * JSON Lines file of text,label[,split], or a folder with one sub-folder per class (or train/ val/ test/
 * folders of class folders) holding one example per file: plain text, or for .json files one object
 * whose text field (fields.text, default 'text') is the example. Files that are not UTF-8 are reported
 * as corrupt (or decoded leniently); empty texts, bad rows and duplicates (same text) are reported and
 * skipped, and so are special files (FIFOs, devices: never opened) and files over the size limit.
 */
export async function loadTextDataset(source: string, opts: LoadTextOptions = {}): Promise<TextDataset> {
  const limits = dataLimits(opts.limits);
  const root = resolve(source);
  const kind = await statKind(root, 'Text data set');
  const issues: DatasetIssue[] = [];
  let examples: TextExample[];
  let layout: TextLayout;
  let declaredClasses: string[] = [];
  if (kind === 'file') {
    layout = 'table';
    const id = toId(dirname(root), root);
    const { records, lines } = await readTable(root, issues, id, limits);
    examples = recordsToExamples(records, id, opts.fields ?? {}, issues, (i) => lines[i]!);
  } else {
    const exts = new Set((opts.extensions ?? ['.txt']).map((e) => e.toLowerCase()));
    const filter: FileFilter = (name) => (exts.has(extname(name).toLowerCase()) ? 'take' : 'unsupported');
    const d = await discoverFolder(root, filter, issues);
    layout = d.layout;
    declaredClasses = d.declaredClasses;
    const decoder = opts.invalidUtf8 === 'replace' ? UTF8_LENIENT : UTF8_STRICT;
    const textField = opts.fields?.text ?? 'text';
    // 8 at once: with the size limit, at most 8 x maxTextBytes of bytes (and their strings) in flight
    const read = await mapLimit(d.files, 8, async (f) => {
      const r = await readBounded(f.abs, limits.maxTextBytes);
      if ('refused' in r) return { error: r.refused.kind, detail: r.refused.detail };
      const bytes = r.bytes;
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        return { error: 'corrupt' as const, detail: 'not valid UTF-8 text' };
      }
      if (extname(f.abs).toLowerCase() !== '.json') return { text };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        // V8's message quotes the text; the file name is all the report needs
        return { error: 'corrupt' as const, detail: 'not valid JSON' };
      }
      const field =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[textField] : undefined;
      if (typeof field !== 'string') return { error: 'bad-row' as const, detail: `no string '${textField}' field` };
      return { text: field };
    });
    examples = [];
    d.files.forEach((f, i) => {
      const r = read[i]!;
      const base = { files: [f.rel], skipped: true, label: f.label, ...(f.split ? { split: f.split } : {}) };
      if (r.error !== undefined) issues.push({ kind: r.error, detail: r.detail, ...base });
      else if (r.text.trim() === '') issues.push({ kind: 'empty-text', detail: 'file holds no text', ...base });
      else examples.push({ id: f.rel, text: r.text, label: f.label, ...(f.split ? { split: f.split } : {}) });
    });
  }
  if (opts.mapLabel) {
    const map = opts.mapLabel;
    examples = examples.flatMap((e) => {
      const l = map(e.label);
      return l === null ? [] : [{ ...e, label: l }];
    });
    declaredClasses = declaredClasses.flatMap((c) => map(c) ?? []);
  }
  for (const i of issues) opts.onIssue?.(i);
  const candidates = examples.map((e) => ({ ...e, hash: createHash('sha256').update(e.text, 'utf8').digest('hex') }));
  const resolved = resolveScan({ source: root, kind: 'text', layout, candidates, issues, declaredClasses }, opts);
  return { root, layout, labels: resolved.labels, items: resolved.items as TextItem[], report: resolved.report };
}
