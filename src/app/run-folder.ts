// The life of a run folder from the recipes' side: refuse to mix a new run into an old one, continue an
// interrupted one, and leave no stale file of an earlier run behind.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { RUN_FILES } from '../report/run-folder.js';

/** Where an interrupted fine-tune keeps what it needs to continue (settings and the last checkpoint). */
export const RESUME_DIR = '.graft-resume';

/** Every file and folder a Graft run writes into its run folder; --overwrite removes only these. */
export const RUN_OWNED_FILES: readonly string[] = [
  ...Object.values(RUN_FILES),
  'dataset-report.json',
  'train.log',
  'finetune.json',
  'report.html',
  RESUME_DIR,
];

export interface RunFolderChoice {
  /** replace an earlier run in the folder (Graft's own files only) */
  overwrite?: boolean;
  /** continue the interrupted run in the folder */
  resume?: boolean;
}

/**
 * Checks the run folder before any long work: a new run needs an empty (or absent) folder, unless
 * `overwrite` allows replacing an earlier run; `resume` needs an interrupted run to continue. Returns
 * whether the run continues an interrupted one.
 */
export function checkRunFolder(out: string, choice: RunFolderChoice): { resuming: boolean } {
  if (choice.overwrite && choice.resume) {
    throw new GraftError('BAD_INPUT', '--overwrite and --resume contradict each other', {
      fix: 'use --resume to continue the interrupted run, or --overwrite to start over',
    });
  }
  let entries: string[] = [];
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) {
      throw new GraftError('BAD_INPUT', 'The run folder is a file', {
        file: out,
        fix: 'pass a new folder to --out',
      });
    }
    entries = readdirSync(out);
  }
  const interrupted = entries.includes(RESUME_DIR);
  if (choice.resume) {
    if (!interrupted) {
      throw new GraftError('BAD_INPUT', 'There is no interrupted run to resume in this folder', {
        file: out,
        expected: `a run folder holding ${RESUME_DIR}/ (a fine-tune stopped before its end)`,
        found: entries.length ? `a folder with ${listNames(entries)}` : 'an empty or missing folder',
        fix: 'drop --resume to start a run, or pass the folder of the interrupted run',
      });
    }
    return { resuming: true };
  }
  if (entries.length && !choice.overwrite) {
    throw new GraftError(
      'BAD_INPUT',
      interrupted ? 'The run folder holds an interrupted run' : 'The run folder is not empty',
      {
        file: out,
        found: listNames(entries),
        fix: interrupted
          ? 'add --resume to continue it, --overwrite to start over, or pass another --out'
          : "pass a new --out, or add --overwrite to replace the run in it (only Graft's own files are removed)",
      },
    );
  }
  return { resuming: false };
}

/**
 * After a run has written its files: removes what an earlier run left in the folder that this run did not
 * write (a finetune.json beside a new linear-probe run, an old report.html), Graft's own files only.
 */
export function removeStaleRunFiles(out: string, written: readonly string[]): void {
  for (const name of RUN_OWNED_FILES) {
    if (!written.includes(name)) rmSync(join(out, name), { recursive: true, force: true });
  }
}

function listNames(entries: readonly string[]): string {
  const sorted = [...entries].sort();
  return sorted.slice(0, 8).join(', ') + (sorted.length > 8 ? `, … (${sorted.length} entries)` : '');
}
