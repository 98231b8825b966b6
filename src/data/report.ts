/**
 * What a dataset scan found wrong, file by file. The full report is plain JSON (the caller writes it to
 * the run folder); `summariseReport` gives the short version for the console: counts and the first few
 * names per kind.
 */
export type IssueKind =
  | 'empty-file'
  | 'unreadable'
  | 'not-a-file'
  | 'too-large'
  | 'skipped-folder'
  | 'corrupt'
  | 'unsupported'
  | 'decode-failed'
  | 'missing-file'
  | 'bad-row'
  | 'unlabelled'
  | 'empty-text'
  | 'empty-class'
  | 'single-example-class'
  | 'duplicate'
  | 'duplicate-across-splits'
  | 'conflicting-labels'
  | 'unknown-class';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface DatasetIssue {
  kind: IssueKind;
  /** files (or file:line for rows) concerned, relative to the dataset root where possible */
  files: string[];
  /** true when the files are left out of the data set, false when this is only a warning */
  skipped: boolean;
  detail: string;
  label?: string;
  split?: Split;
}

export interface DatasetReport {
  source: string;
  kind: 'image' | 'text';
  layout: string;
  classes: string[];
  counts: {
    /** examples or files considered */
    found: number;
    usable: number;
    skipped: number;
    perSplit: Record<Split, number>;
    perClass: Record<string, Record<Split, number>>;
  };
  issues: DatasetIssue[];
}

const DESCRIBE: Record<IssueKind, string> = {
  'empty-file': 'empty (0-byte) files skipped',
  unreadable: 'unreadable files skipped',
  'not-a-file': 'special files (FIFOs, devices, sockets) skipped, never read',
  'too-large': 'files over the size or pixel limit skipped',
  'skipped-folder': 'folders not scanned (a link to a folder already scanned, or too deep)',
  corrupt: 'corrupt files skipped',
  unsupported: 'files of unsupported type skipped',
  'decode-failed': 'files that failed to decode during loading, skipped',
  'missing-file': 'manifest entries pointing to missing files skipped',
  'bad-row': 'manifest rows without a usable path/text or label skipped',
  unlabelled: 'files outside any class folder skipped',
  'empty-text': 'empty texts skipped',
  'empty-class': 'classes with no usable examples left out',
  'single-example-class': 'classes with a single training example',
  duplicate: 'duplicate copies (same content, same label) skipped',
  'duplicate-across-splits': 'evaluation copies of training files (same content) skipped',
  'conflicting-labels': 'files with identical content but different labels skipped',
  'unknown-class': 'evaluation examples of classes absent from training skipped',
};

const WITH_REASON = new Set<IssueKind>(['not-a-file', 'too-large', 'skipped-folder']);

/** Groups issues by kind: one line per kind with the count and up to `maxNames` names. */
export function summariseIssues(issues: readonly DatasetIssue[], maxNames = 5): string[] {
  const byKind = new Map<IssueKind, DatasetIssue[]>();
  for (const i of issues) {
    const list = byKind.get(i.kind) ?? [];
    list.push(i);
    byKind.set(i.kind, list);
  }
  const lines: string[] = [];
  for (const [kind, list] of byKind) {
    const classLevel = kind === 'empty-class' || kind === 'single-example-class';
    // for these the reason differs file by file and is what the user must see: '(a FIFO (named pipe) ...)'
    const withReason = WITH_REASON.has(kind);
    const names = classLevel
      ? list.map((i) => i.label ?? '?')
      : list.flatMap((i) => i.files.map((f) => (withReason ? `${f} (${i.detail})` : f)));
    const count = classLevel ? list.length : names.length;
    const shown = names.slice(0, maxNames).join(', ');
    const more = names.length > maxNames ? ` and ${names.length - maxNames} more` : '';
    lines.push(`${count} ${DESCRIBE[kind]}: ${shown}${more}`);
  }
  return lines;
}

export function summariseReport(r: DatasetReport, maxNames = 5): string {
  const s = r.counts.perSplit;
  const head =
    `${r.kind} data set ${r.source} (${r.layout}): ${r.counts.usable} usable of ${r.counts.found}, ` +
    `${r.classes.length} classes, train/val/test ${s.train}/${s.val}/${s.test}`;
  const lines = summariseIssues(r.issues, maxNames);
  return [head, ...lines.map((l) => `  ${l}`)].join('\n');
}
