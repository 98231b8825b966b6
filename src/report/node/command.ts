// Node-only: the HTML report files of a run folder and of a study (graft compare).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GraftError } from '../../errors.js';
import { writeFileAtomic } from '../../node/atomic.js';
import { parseStudy, renderCompareReport } from '../compare.js';
import { type HtmlReportOptions, renderHtmlReport } from '../html.js';
import type { RunFolder } from '../run-folder.js';
import { type ReadRunFolderOptions, readRunFolder } from './run-folder.js';

export const REPORT_FILE = 'report.html';

export interface WrittenReport {
  file: string;
  bytes: number;
  /** the folder as read, for callers that print a summary */
  folder: RunFolder;
}

/** Reads the run folder, renders the HTML report and writes it (default RUN_DIR/report.html), atomically. */
export async function writeHtmlReport(
  runDir: string,
  outFile?: string,
  options: HtmlReportOptions & ReadRunFolderOptions = {},
): Promise<WrittenReport> {
  const folder = await readRunFolder(runDir, options);
  const html = await renderHtmlReport(folder, options);
  const file = resolve(outFile ?? join(runDir, REPORT_FILE));
  const data = new TextEncoder().encode(html);
  writeFileAtomic(file, data);
  return { file, bytes: data.byteLength, folder };
}

/** What `graft report --json` prints. */
export interface ReportSummary {
  report: string;
  bytes: number;
  runDir: string;
  model: string;
  strategy: string;
  split: 'val' | 'test' | null;
  accuracy: number | null;
  macroF1: number | null;
  ece: { before: number; after: number; temperature: number } | null;
  warnings: string[];
}

/** Reads a study.json written by `graft compare` and writes its HTML report (default: beside it, compare.html). */
export async function writeCompareReport(
  studyFile: string,
  outFile?: string,
): Promise<{ file: string; bytes: number }> {
  let text: string;
  try {
    text = readFileSync(studyFile, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GraftError(missing ? 'NOT_FOUND' : 'IO', 'Cannot read the study file', {
      file: studyFile,
      expected: 'a study.json written by graft compare',
      found: missing ? 'no such file' : (e as Error).message,
      fix: 'pass the study.json path that graft compare printed',
      cause: e,
    });
  }
  const study = parseStudy(text, studyFile);
  const html = await renderCompareReport(study);
  const file = resolve(outFile ?? join(dirname(studyFile), 'compare.html'));
  const data = new TextEncoder().encode(html);
  writeFileAtomic(file, data);
  return { file, bytes: data.byteLength };
}
