// Node-only: `graft report RUN_DIR` and `graft compare` output files.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GraftError } from '../../errors.js';
import { writeFileAtomic } from '../../node/atomic.js';
import { parseStudy, renderCompareReport } from '../compare.js';
import { type HtmlReportOptions, renderHtmlReport } from '../html.js';
import { fixed, pct } from '../page.js';
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

/** Where reportCommand prints: the summary on stdout, warnings on stderr (the CLI's CliIo fits). */
export interface ReportIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface ReportCommandOptions {
  /** print one JSON object instead of text */
  json?: boolean;
  /** where to write the HTML (default RUN_DIR/report.html) */
  out?: string;
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

/**
 * The body of `graft report RUN_DIR [--out FILE] [--json]`: writes the report and prints where it went
 * with the headline numbers. GraftErrors propagate for the CLI to print without a stack trace.
 */
export async function reportCommand(
  runDir: string,
  options: ReportCommandOptions = {},
  io: ReportIo = process,
): Promise<ReportSummary> {
  const written = await writeHtmlReport(runDir, options.out);
  const { folder } = written;
  const split = folder.metrics.test ? 'test' : folder.metrics.val ? 'val' : null;
  const primary = split ? folder.metrics[split] : undefined;
  const cal = folder.metrics.calibration;
  const summary: ReportSummary = {
    report: written.file,
    bytes: written.bytes,
    runDir: resolve(runDir),
    model: folder.run.model,
    strategy: folder.run.strategy,
    split,
    accuracy: primary?.accuracy ?? null,
    macroF1: primary?.macro.f1 ?? null,
    ece: cal ? { before: cal.eceBefore, after: cal.eceAfter, temperature: cal.temperature } : null,
    warnings: folder.warnings,
  };
  for (const w of folder.warnings) io.stderr.write(`warning: ${w}\n`);
  if (options.json) {
    io.stdout.write(JSON.stringify(summary) + '\n');
  } else {
    const lines = [`report written to ${written.file} (${Math.ceil(written.bytes / 1024)} KB)`];
    if (primary && split) {
      lines.push(`  ${split} accuracy ${pct(primary.accuracy)}, macro F1 ${fixed(primary.macro.f1)}`);
    }
    if (cal) {
      lines.push(`  ECE ${fixed(cal.eceBefore)} -> ${fixed(cal.eceAfter)} with T = ${fixed(cal.temperature, 2)}`);
    }
    io.stdout.write(lines.join('\n') + '\n');
  }
  return summary;
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
