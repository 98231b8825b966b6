import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { GraftError } from '../../errors.js';
import type { DatasetIssue, Split } from '../report.js';
import { normaliseSplit, parseJsonlRecords } from '../text.js';

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
  throw new GraftError('BAD_INPUT', `${what} is neither a file nor a folder`, { file: path });
}

interface Entry {
  name: string;
  abs: string;
  dir: boolean;
}

async function list(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (isJunk(d.name)) continue;
    const abs = join(dir, d.name);
    let isDir = d.isDirectory();
    if (d.isSymbolicLink()) {
      try {
        isDir = (await stat(abs)).isDirectory();
      } catch {
        isDir = false; // a dangling link is reported as an unreadable file by the scan
      }
    }
    out.push({ name: d.name, abs, dir: isDir });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function walkFiles(dir: string, out: string[], depth = 0): Promise<void> {
  if (depth > 32) return; // a symlink loop; real data sets are never this deep
  for (const e of await list(dir)) {
    if (e.dir) await walkFiles(e.abs, out, depth + 1);
    else out.push(e.abs);
  }
}

/**
 * Finds the files of a folder data set: either one sub-folder per class (files may sit in nested folders;
 * the first-level folder is the class) or train/ val/ test/ folders (also valid/, validation/, dev/) each
 * holding class folders. Files directly in a class-folder root have no class and are reported.
 */
export async function discoverFolder(
  root: string,
  filter: FileFilter,
  issues: DatasetIssue[],
): Promise<{ layout: FolderLayout; files: FoundFile[]; declaredClasses: string[] }> {
  const top = await list(root);
  const dirs = top.filter((e) => e.dir);
  const splitOf = dirs.map((d) => normaliseSplit(d.name));
  const isSplitLayout = dirs.length > 0 && splitOf.every((s) => s !== undefined) && splitOf.includes('train');
  const files: FoundFile[] = [];
  const declared = new Set<string>();
  const unsupported: string[] = [];

  const collectClasses = async (base: Entry[], split: Split | undefined, unlabelledRoot: string) => {
    const stray = base.filter((e) => !e.dir && filter(e.name) !== 'ignore').map((e) => toId(root, e.abs));
    if (stray.length) {
      issues.push({
        kind: 'unlabelled',
        files: stray,
        skipped: true,
        detail: `files directly in ${unlabelledRoot} belong to no class folder`,
      });
    }
    for (const cls of base.filter((e) => e.dir)) {
      declared.add(cls.name);
      const found: string[] = [];
      await walkFiles(cls.abs, found);
      for (const abs of found) {
        const name = abs.slice(abs.lastIndexOf(sep) + 1);
        if (isJunk(name)) continue;
        const verdict = filter(name);
        if (verdict === 'unsupported') unsupported.push(toId(root, abs));
        if (verdict !== 'take') continue;
        const f: FoundFile = { abs, rel: toId(root, abs), label: cls.name };
        if (split) f.split = split;
        files.push(f);
      }
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
      await collectClasses(await list(dirs[i]!.abs), s, `${dirs[i]!.name}/`);
    }
  } else {
    await collectClasses(top, undefined, 'the data set root');
  }
  if (unsupported.length) {
    issues.push({ kind: 'unsupported', files: unsupported, skipped: true, detail: 'file type is not supported' });
  }
  return { layout: isSplitLayout ? 'split-folders' : 'class-folders', files, declaredClasses: [...declared] };
}

/**
 * Reads a CSV/TSV (with a header row; quoted fields may hold commas, quotes and newlines) or a JSON Lines
 * file into records, with the line each record ends on. Malformed CSV (an unclosed quote) is an error with
 * the line; bad JSON lines are reported and skipped.
 */
export async function readTable(
  file: string,
  issues: DatasetIssue[],
  id: string,
): Promise<{ records: unknown[]; lines: number[] }> {
  const ext = extname(file).toLowerCase();
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (e) {
    throw new GraftError('IO', 'Cannot read the data set table', { file, found: String(e), cause: e });
  }
  if (ext === '.jsonl' || ext === '.ndjson') return parseJsonlRecords(content, id, issues);
  if (ext === '.csv' || ext === '.tsv') {
    try {
      const rows = parseCsv(content, {
        columns: (header: string[]) => header.map((h) => h.trim()),
        bom: true,
        skip_empty_lines: true,
        relax_column_count: true,
        delimiter: ext === '.tsv' ? '\t' : ',',
        info: true,
      }) as { record: Record<string, string>; info: { lines: number } }[];
      return { records: rows.map((r) => r.record), lines: rows.map((r) => r.info.lines) };
    } catch (e) {
      const line = (e as { lines?: number }).lines;
      const msg = (e as Error).message;
      throw new GraftError('BAD_INPUT', 'Malformed CSV', {
        file,
        found: line && !/line \d/.test(msg) ? `${msg} (near line ${line})` : msg,
        fix: 'quote fields that contain commas, quotes or newlines ("" inside quotes for a quote)',
        cause: e,
      });
    }
  }
  throw new GraftError('BAD_INPUT', 'Unsupported table format', {
    file,
    found: ext || '(no extension)',
    choices: ['.csv', '.tsv', '.jsonl', '.ndjson'],
    fix: 'use a CSV with a header row or a JSON Lines file',
  });
}

export const TABLE_EXTENSIONS: readonly string[] = ['.csv', '.tsv', '.jsonl', '.ndjson'];
