// `graft report`: the HTML report of a run folder, or of a study (study.json or the folder graft compare wrote).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ReportSummary, writeCompareReport, writeHtmlReport } from '../report/node/command.js';

export type WrittenReport =
  { kind: 'study'; report: string; bytes: number; study: string } | ({ kind: 'run' } & ReportSummary);

/** A study (study.json, or the folder `graft compare` wrote) rather than a run folder: its study.json. */
function studyFileOf(path: string): string | undefined {
  if (path.endsWith('.json')) return path;
  const inside = join(path, 'study.json');
  const isDir = existsSync(path) && statSync(path).isDirectory();
  return isDir && existsSync(inside) && !existsSync(join(path, 'run.json')) ? inside : undefined;
}

/** Writes the report of a run folder or a study (default: report.html in the run, compare.html beside study.json). */
export async function writeReport(target: string, opts: { out?: string; cwd?: string } = {}): Promise<WrittenReport> {
  const cwd = opts.cwd ?? process.cwd();
  const path = resolve(cwd, target);
  const out = opts.out === undefined ? undefined : resolve(cwd, opts.out);
  const study = studyFileOf(path);
  if (study) {
    const written = await writeCompareReport(study, out);
    return { kind: 'study', report: written.file, bytes: written.bytes, study };
  }
  return { kind: 'run', ...(await summariseRunReport(path, out)) };
}

async function summariseRunReport(runDir: string, out: string | undefined): Promise<ReportSummary> {
  const written = await writeHtmlReport(runDir, out);
  const { folder } = written;
  const split = folder.metrics.test ? 'test' : folder.metrics.val ? 'val' : null;
  const primary = split ? folder.metrics[split] : undefined;
  const cal = folder.metrics.calibration;
  return {
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
}
