import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { GraftError } from '../../errors.js';
import { type DataLimits, DEFAULT_DATA_LIMITS, formatBytes, tooManyRowsError } from '../limits.js';
import type { DatasetIssue, Split } from '../report.js';
import { normaliseSplit, parseJsonlRecords } from '../text.js';
import { describeFileType, readBounded } from './read.js';

/** A file found under a data set root, with the class (and split) its folders give it. */
export interface FoundFile {
  abs: string;
  /** relative to the data set root, with '/' separators: the id used in reports */
  rel: string;
  label: string;
  split?: Split;
}

export type FolderLayout = 'class-folders' | 'split-folders';

/** What to do with a file, by name: take it, report it as unsupported, or pass over it silently. */
export type FileFilter = (name: string) => 'take' | 'unsupported' | 'ignore';

const JUNK = new Set(['thumbs.db', 'desktop.ini', '__macosx']);

function isJunk(name: string): boolean {
  return name.startsWith('.') || JUNK.has(name.toLowerCase());
}

export function toId(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** Fails with a GraftError naming the path when it is missing or of the wrong kind. */
export async function statKind(path: string, what: string): Promise<'file' | 'dir'> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new GraftError('NOT_FOUND', `${what} not found`, {
      file: path,
      found: (e as NodeJS.ErrnoException).code ?? String(e),
      fix: 'check the path (relative paths are resolved from the current directory)',
      cause: e,
    });
  }
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new GraftError('BAD_INPUT', `${what} is neither a file nor a folder`, {
    file: path,
    found: describeFileType(st),
    fix: 'pass a folder of class folders, or a CSV/JSONL file (FIFOs, devices and sockets are never read)',
  });
}

/** Folders nested deeper than this under a class folder are not scanned (and are reported). */
const MAX_DEPTH = 32;

interface Entry {
  name: string;
  abs: string;
  /** set for folders (and links to folders): what stat says, links followed */
  dir?: Stats;
}

async function list(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (isJunk(d.name)) continue;
    const abs = join(dir, d.name);
    const e: Entry = { name: d.name, abs };
    if (d.isDirectory() || d.isSymbolicLink()) {
      try {
        const st = await stat(abs);
        if (st.isDirectory()) e.dir = st;
      } catch {
        // a dangling link is reported as an unreadable file by the scan
      }
    }
    out.push(e);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Every real folder (device + inode, so links and bind mounts count as the folder they show) is entered at
 * most once: two links to '.' would otherwise make the walk exponential, and a link from one class folder
 * into another would give the same files two labels. Folders passed over are reported.
 */
class FolderWalk {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly issues: DatasetIssue[],
  ) {}

  /** Marks the folder as scanned; false (and reported) when it was already. */
  enter(abs: string, st: Stats): boolean {
    const key = `${st.dev}:${st.ino}`;
    const first = this.seen.get(key);
    if (first === undefined) {
      this.seen.set(key, toId(this.root, abs));
      return true;
    }
    this.skip(abs, `the same folder as ${first === '' ? 'the data set root' : `${first}/`} (a link), scanned once`);
    return false;
  }

  skip(abs: string, detail: string): void {
    this.issues.push({ kind: 'skipped-folder', files: [`${toId(this.root, abs)}/`], skipped: true, detail });
  }

  /** The files under a folder already entered, in name order. */
  async files(dir: string, out: string[], depth = 0): Promise<void> {
    let entries: Entry[];
    try {
      entries = await list(dir);
    } catch (e) {
      this.skip(dir, `cannot list it: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return;
    }
    for (const e of entries) {
      if (!e.dir) out.push(e.abs);
      else if (depth + 1 > MAX_DEPTH) this.skip(e.abs, `nested more than ${MAX_DEPTH} folders deep`);
      else if (this.enter(e.abs, e.dir)) await this.files(e.abs, out, depth + 1);
    }
  }
}

/**
 * Finds the files of a folder data set: either one sub-folder per class (files may sit in nested folders;
 * the first-level folder is the class) or train/ val/ test/ folders (also valid/, validation/, dev/) each
 * holding class folders. Files directly in a class-folder root have no class and are reported. Links are
 * followed, but each real folder is scanned once (see FolderWalk); no file is opened here.
 */
export async function discoverFolder(
  root: string,
  filter: FileFilter,
  issues: DatasetIssue[],
): Promise<{ layout: FolderLayout; files: FoundFile[]; declaredClasses: string[] }> {
  const walk = new FolderWalk(root, issues);
  walk.enter(root, await stat(root));
  const top = await list(root);
  const dirs = top.filter((e) => e.dir);
  const splitOf = dirs.map((d) => normaliseSplit(d.name));
  const isSplitLayout = dirs.length > 0 && splitOf.every((s) => s !== undefined) && splitOf.includes('train');
  const files: FoundFile[] = [];
  const declared = new Set<string>();
  const unsupported: string[] = [];

  // Class folders are entered before any is walked, so a link inside one class folder to another class
  // folder is passed over instead of taking that class's files under the wrong label.
  const classes: { cls: Entry; split: Split | undefined }[] = [];
  const addClasses = (base: Entry[], split: Split | undefined, unlabelledRoot: string) => {
    const stray = base.filter((e) => !e.dir && filter(e.name) !== 'ignore').map((e) => toId(root, e.abs));
    if (stray.length) {
      issues.push({
        kind: 'unlabelled',
        files: stray,
        skipped: true,
        detail: `files directly in ${unlabelledRoot} belong to no class folder`,
      });
    }
    for (const cls of base) {
      if (!cls.dir || !walk.enter(cls.abs, cls.dir)) continue;
      declared.add(cls.name);
      classes.push({ cls, split });
    }
  };

  if (isSplitLayout) {
    const seen = new Map<Split, string>();
    for (let i = 0; i < dirs.length; i++) {
      const s = splitOf[i]!;
      if (seen.has(s)) {
        throw new GraftError('BAD_INPUT', `Two folders both hold the ${s} split`, {
          file: root,
          found: `${seen.get(s)}/ and ${dirs[i]!.name}/`,
          fix: 'merge them into one folder',
        });
      }
      seen.set(s, dirs[i]!.name);
      if (walk.enter(dirs[i]!.abs, dirs[i]!.dir!)) addClasses(await list(dirs[i]!.abs), s, `${dirs[i]!.name}/`);
    }
  } else {
    addClasses(top, undefined, 'the data set root');
  }
  for (const { cls, split } of classes) {
    const found: string[] = [];
    await walk.files(cls.abs, found);
    for (const abs of found) {
      const name = abs.slice(abs.lastIndexOf(sep) + 1);
      const verdict = filter(name);
      if (verdict === 'unsupported') unsupported.push(toId(root, abs));
      if (verdict !== 'take') continue;
      const f: FoundFile = { abs, rel: toId(root, abs), label: cls.name };
      if (split) f.split = split;
      files.push(f);
    }
  }
  if (unsupported.length) {
    issues.push({ kind: 'unsupported', files: unsupported, skipped: true, detail: 'file type is not supported' });
  }
  return { layout: isSplitLayout ? 'split-folders' : 'class-folders', files, declaredClasses: [...declared] };
}

/**
 * Reads a CSV/TSV (with a header row; quoted fields may hold commas, quotes and newlines) or a JSON Lines
 * file into records, with the line each record ends on. The table must be a regular file within
 * `limits.maxTableBytes`, with at most `maxTableRows` records of at most `maxRowChars` characters (errors
 * naming the file otherwise). Malformed CSV (an unclosed quote) is an error with the line; bad JSON lines are
 * reported and skipped. No message quotes the table's contents.
 */
export async function readTable(
  file: string,
  issues: DatasetIssue[],
  id: string,
  limits: DataLimits = DEFAULT_DATA_LIMITS,
): Promise<{ records: unknown[]; lines: number[] }> {
  const ext = extname(file).toLowerCase();
  if (!TABLE_EXTENSIONS.includes(ext)) {
    throw new GraftError('BAD_INPUT', 'Unsupported table format', {
      file,
      found: ext || '(no extension)',
      choices: TABLE_EXTENSIONS,
      fix: 'use a CSV with a header row or a JSON Lines file',
    });
  }
  const read = await readBounded(file, limits.maxTableBytes);
  if ('refused' in read && read.refused.kind !== 'empty-file') {
    const { kind, detail } = read.refused;
    if (kind === 'unreadable') throw new GraftError('IO', 'Cannot read the data set table', { file, found: detail });
    throw new GraftError(
      'BAD_INPUT',
      kind === 'too-large' ? 'The data set table is too large' : 'The data set table is not a regular file',
      {
        file,
        expected: `a regular file of at most ${formatBytes(limits.maxTableBytes)}`,
        found: detail,
        fix:
          kind === 'too-large'
            ? 'split the table, or raise the limit (graft: --max-file-mb)'
            : 'pass a regular CSV/JSONL file (FIFOs, devices and sockets are never read)',
      },
    );
  }
  const content = 'bytes' in read ? read.bytes.toString('utf8') : '';
  if (ext === '.jsonl' || ext === '.ndjson') return parseJsonlRecords(content, id, issues, limits);
  let rows: { record: Record<string, string>; lines: number }[];
  try {
    rows = parseCsv(content, {
      columns: (header: string[]) => header.map((h) => h.trim()),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      delimiter: ext === '.tsv' ? '\t' : ',',
      // one past the cap, to tell "exactly at the cap" from "over it" without parsing the rest
      to: limits.maxTableRows + 1,
      max_record_size: limits.maxRowChars,
      on_record: (record: Record<string, string>, context: { lines: number }) => ({ record, lines: context.lines }),
    }) as { record: Record<string, string>; lines: number }[];
  } catch (e) {
    throw csvError(e, file, limits);
  }
  if (rows.length > limits.maxTableRows) throw tooManyRowsError(file, limits.maxTableRows);
  return { records: rows.map((r) => r.record), lines: rows.map((r) => r.lines) };
}

/** What went wrong, from csv-parse's code and line only: its messages may quote a field. */
const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'a character right after a closing quote',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a character right after a closing quote',
  CSV_OPTION_COLUMNS_MISSING_NAME: 'a header column without a name',
  CSV_INVALID_COLUMN_DEFINITION: 'a header column without a name',
};

function csvError(e: unknown, file: string, limits: DataLimits): GraftError {
  const { code, lines } = e as { code?: string; lines?: number };
  const at = lines ? ` at line ${lines}` : '';
  if (code === 'CSV_MAX_RECORD_SIZE') {
    return new GraftError('BAD_INPUT', 'A row of the data set table is too long', {
      file,
      expected: `rows of at most ${limits.maxRowChars} characters`,
      found: `a longer row${at}`,
      fix: 'check the quoting near that line (an unclosed quote swallows the rest of the file), or raise the limit (maxRowChars)',
    });
  }
  return new GraftError('BAD_INPUT', 'Malformed CSV', {
    file,
    found: `${(code && CSV_PROBLEMS[code]) ?? `unparsable CSV (${code ?? 'unknown error'})`}${at}`,
    fix: 'quote fields that contain commas, quotes or newlines ("" inside quotes for a quote)',
  });
}

export const TABLE_EXTENSIONS: readonly string[] = ['.csv', '.tsv', '.jsonl', '.ndjson'];
