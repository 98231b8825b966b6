import { GraftError } from '../errors.js';
import { LabelMap, compareCodePoints } from './labels.js';
import { type DatasetIssue, type DatasetReport, type Split, SPLITS, summariseIssues } from './report.js';
import { type SplitOptions, stratifiedSplit } from './split.js';

/** One example that passed its own checks (readable, decodable, non-empty), before data-set-wide checks. */
export interface Candidate {
  /** stable display key: path relative to the root, or file:line */
  id: string;
  label: string;
  /** sha256 of the content (file bytes or UTF-8 text), hex */
  hash: string;
  /** from the layout (train/ val/ test/ folders or a manifest column); absent when the data set is split here */
  split?: Split;
}

export interface ResolveOptions {
  /** classes the layout names even when empty (class folders), so an empty one is reported */
  declaredClasses?: readonly string[];
  /** seeded stratified split, used when the layout has no splits of its own */
  split?: SplitOptions;
  /** fewer usable classes than this is an error (default 2: a classifier needs two) */
  minClasses?: number;
  /** any issue at all is an error (default false: issues are reported and the files skipped) */
  strict?: boolean;
}

export interface Resolved<T extends Candidate> {
  items: (T & { split: Split })[];
  labels: LabelMap;
  issues: DatasetIssue[];
}

/**
 * Data-set-wide checks shared by image and text data: duplicates by content hash (within a split, across
 * splits, with conflicting labels), empty and single-example classes, evaluation classes unseen in
 * training; then the split. Issues are appended to `issues`; the returned items are what may be trained on.
 */
export function resolveCandidates<T extends Candidate>(
  candidates: readonly T[],
  issues: DatasetIssue[],
  opts: ResolveOptions = {},
): Resolved<T> {
  const explicit = candidates.some((c) => c.split !== undefined);
  if (explicit && opts.split) {
    throw new GraftError('CONFIG', 'The data set already has train/val/test splits, and a split was also requested', {
      fix: 'drop the split option, or put all files in one set of class folders',
    });
  }
  const sorted = [...candidates].sort(
    (a, b) => SPLITS.indexOf(a.split ?? 'train') - SPLITS.indexOf(b.split ?? 'train') || compareCodePoints(a.id, b.id),
  );

  // Duplicates by content: identical bytes with different labels cannot both be right, so all copies go;
  // otherwise keep the first copy (training copy first) and drop the rest, so no evaluation example is a
  // copy of a training one.
  const byHash = new Map<string, T[]>();
  for (const c of sorted) {
    const g = byHash.get(c.hash);
    if (g) g.push(c);
    else byHash.set(c.hash, [c]);
  }
  const kept: T[] = [];
  for (const group of byHash.values()) {
    if (group.length === 1) {
      kept.push(group[0]!);
      continue;
    }
    const labels = new Set(group.map((c) => c.label));
    if (labels.size > 1) {
      issues.push({
        kind: 'conflicting-labels',
        files: group.map((c) => c.id),
        skipped: true,
        detail: `identical content labelled ${[...labels].map((l) => `'${l}'`).join(' and ')}`,
      });
      continue;
    }
    const first = group[0]!;
    kept.push(first);
    const rest = group.slice(1);
    const sameSplit = rest.filter((c) => (c.split ?? 'train') === (first.split ?? 'train'));
    const otherSplit = rest.filter((c) => (c.split ?? 'train') !== (first.split ?? 'train'));
    if (sameSplit.length) {
      issues.push({
        kind: 'duplicate',
        files: sameSplit.map((c) => c.id),
        skipped: true,
        detail: `same content as ${first.id}`,
        label: first.label,
      });
    }
    for (const c of otherSplit) {
      issues.push({
        kind: 'duplicate-across-splits',
        files: [c.id],
        skipped: true,
        detail: `same content as ${first.id} in ${first.split ?? 'train'}`,
        label: c.label,
        split: c.split,
      });
    }
  }

  let items: (T & { split: Split })[];
  if (explicit) {
    items = kept.map((c) => ({ ...c, split: c.split ?? 'train' }));
  } else if (opts.split) {
    const parts = stratifiedSplit(
      kept,
      (c) => c.label,
      (c) => c.id,
      opts.split,
    );
    items = SPLITS.flatMap((s) => parts[s].map((c) => ({ ...c, split: s })));
  } else {
    items = kept.map((c) => ({ ...c, split: 'train' as Split }));
  }

  // Classes are what training sees; evaluation examples of other classes cannot be scored.
  const trainCount = new Map<string, number>();
  for (const c of items) if (c.split === 'train') trainCount.set(c.label, (trainCount.get(c.label) ?? 0) + 1);
  const unknown = items.filter((c) => c.split !== 'train' && !trainCount.has(c.label));
  if (unknown.length) {
    const byLabel = new Map<string, string[]>();
    for (const c of unknown) byLabel.set(c.label, [...(byLabel.get(c.label) ?? []), c.id]);
    for (const [label, files] of byLabel) {
      issues.push({
        kind: 'unknown-class',
        files,
        skipped: true,
        detail: `class '${label}' has no training examples`,
        label,
      });
    }
    items = items.filter((c) => c.split === 'train' || trainCount.has(c.label));
  }
  const declared = new Set([...(opts.declaredClasses ?? []), ...candidates.map((c) => c.label)]);
  for (const label of [...declared].sort(compareCodePoints)) {
    const n = trainCount.get(label) ?? 0;
    if (n === 0 && !unknown.some((c) => c.label === label)) {
      issues.push({ kind: 'empty-class', files: [], skipped: true, detail: 'no usable examples', label });
    } else if (n === 1) {
      const only = items.find((c) => c.split === 'train' && c.label === label)!;
      issues.push({
        kind: 'single-example-class',
        files: [only.id],
        skipped: false,
        detail: 'a single training example: too few to learn or validate this class',
        label,
      });
    }
  }

  const labels = LabelMap.fromLabels(trainCount.keys());
  const minClasses = opts.minClasses ?? 2;
  if (items.length === 0 || labels.size < minClasses) {
    const lines = summariseIssues(issues);
    throw new GraftError('BAD_INPUT', items.length === 0 ? 'No usable examples in the data set' : 'Too few classes', {
      expected: `at least ${minClasses} classes with usable training examples`,
      found:
        `${labels.size} (${labels.names.join(', ') || 'none'}), ${items.length} usable examples` +
        (lines.length ? `\n    ${lines.join('\n    ')}` : ''),
      fix: 'put each class in its own folder (or list path,label in a manifest) with readable files',
    });
  }
  if (opts.strict && issues.length) {
    throw new GraftError('BAD_INPUT', 'The data set has problems (strict mode)', {
      found: summariseIssues(issues).join('\n    '),
      fix: 'fix or remove the files listed, or run without strict to skip them',
    });
  }
  return { items, labels, issues };
}

/** Per-split and per-class counts for a report. */
export function countItems(
  items: readonly { label: string; split: Split }[],
  classes: readonly string[],
): Pick<DatasetReport['counts'], 'perSplit' | 'perClass'> {
  const perSplit: Record<Split, number> = { train: 0, val: 0, test: 0 };
  const perClass: Record<string, Record<Split, number>> = {};
  for (const c of classes) perClass[c] = { train: 0, val: 0, test: 0 };
  for (const it of items) {
    perSplit[it.split]++;
    const pc = perClass[it.label];
    if (pc) pc[it.split]++;
  }
  return { perSplit, perClass };
}

/** What a scanner (images, text) hands over after its own per-file checks. */
export interface ScanResult<T extends Candidate> {
  source: string;
  kind: DatasetReport['kind'];
  layout: string;
  candidates: readonly T[];
  /** per-file issues so far; data-set-wide ones are appended */
  issues: DatasetIssue[];
  declaredClasses: readonly string[];
}

/**
 * Runs the data-set-wide checks on a scan and builds its report. `onIssue` hears only the issues found
 * here: scanners report their per-file ones as they find them.
 */
export function resolveScan<T extends Candidate>(
  scan: ScanResult<T>,
  opts: ResolveOptions & { onIssue?: (issue: DatasetIssue) => void },
): { labels: LabelMap; items: (T & { split: Split })[]; report: DatasetReport } {
  const { issues } = scan;
  const skippedFiles = () => issues.filter((i) => i.skipped).reduce((n, i) => n + i.files.length, 0);
  const before = issues.length;
  // counted before resolving: examples dropped as duplicates were still found
  const found = scan.candidates.length + skippedFiles();
  const resolved = resolveCandidates(scan.candidates, issues, { ...opts, declaredClasses: scan.declaredClasses });
  for (const i of issues.slice(before)) opts.onIssue?.(i);
  const classes = [...resolved.labels.names];
  return {
    labels: resolved.labels,
    items: resolved.items,
    report: {
      source: scan.source,
      kind: scan.kind,
      layout: scan.layout,
      classes,
      counts: { found, usable: resolved.items.length, skipped: skippedFiles(), ...countItems(resolved.items, classes) },
      issues,
    },
  };
}

/**
 * Carves the val (and test) split a data set does not have from its training items, in place: stratified
 * and seeded (the same data and seed always give the same split; copies of one file stay together), and the
 * report's counts follow. A split the layout already provides is left as it is.
 */
export function carveMissingSplits<T extends { label: string; id: string; hash: string; split: Split }>(
  ds: { items: T[]; labels: LabelMap; report: DatasetReport },
  opts: { valSplit?: number; testSplit?: number; seed?: number },
): void {
  const has = (s: Split) => ds.items.some((it) => it.split === s);
  const val = has('val') ? 0 : (opts.valSplit ?? 0);
  const test = has('test') ? 0 : (opts.testSplit ?? 0);
  if (val === 0 && test === 0) return;
  const train = ds.items.filter((it) => it.split === 'train');
  const parts = stratifiedSplit(
    train,
    (it) => it.label,
    (it) => it.id,
    { val, test, seed: opts.seed ?? 0 },
    (it) => it.hash,
  );
  ds.items = [
    ...parts.train.map((it) => ({ ...it, split: 'train' as Split })),
    ...parts.val.map((it) => ({ ...it, split: 'val' as Split })),
    ...parts.test.map((it) => ({ ...it, split: 'test' as Split })),
    ...ds.items.filter((it) => it.split !== 'train'),
  ];
  const counts = countItems(ds.items, ds.labels.names);
  ds.report.counts.perSplit = counts.perSplit;
  ds.report.counts.perClass = counts.perClass;
}
