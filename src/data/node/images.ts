import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { type Candidate, type ResolveOptions, resolveScan } from '../dataset.js';
import type { LabelMap } from '../labels.js';
import type { DatasetIssue, DatasetReport, Split } from '../report.js';
import { normaliseSplit } from '../text.js';
import { DECODABLE_FORMATS, type ImageProbe, probeImage, verifyDecodes } from './decode.js';
import { type FileFilter, type FoundFile, discoverFolder, readTable, statKind, toId } from './files.js';
import { mapLimit } from './pool.js';

/** One usable image: where it is, its class and split, its content hash (the feature cache key), its header. */
export interface ImageItem extends Candidate, ImageProbe {
  path: string;
  split: Split;
  bytes: number;
}

export type ImageLayout = 'class-folders' | 'split-folders' | 'manifest';

export interface ImageDataset {
  root: string;
  layout: ImageLayout;
  labels: LabelMap;
  items: ImageItem[];
  report: DatasetReport;
}

export interface ScanImagesOptions extends ResolveOptions {
  /** manifest column (or JSON field) names; defaults path, label, split */
  fields?: { path?: string; label?: string; split?: string };
  /** header only (default; fast) or also a small full decode of every file, catching truncated files up front */
  verify?: 'header' | 'decode';
  /** files read and probed at once (default 8) */
  concurrency?: number;
  /** renames or drops (null) classes, e.g. merging 'spam-1' and 'spam-2' into 'spam' */
  mapLabel?: (label: string) => string | null;
  /** called for each issue as it is found, e.g. to log a warning */
  onIssue?: (issue: DatasetIssue) => void;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff']);

/** Everything else in a class folder is reported as unsupported, so a stray .bmp or .heic is not missed. */
export const imageFileFilter: FileFilter = (name) =>
  IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) ? 'take' : 'unsupported';

/**
 * Scans an image data set: a folder of class folders, a folder of train/ val/ test/ folders, or a
 * manifest (.csv/.tsv/.jsonl with path,label[,split] relative to the manifest). Every file is read once
 * (sha256 of its bytes) and its header decoded; empty, unreadable, corrupt and unsupported files, missing
 * manifest entries, duplicates, and empty or single-example classes are reported in `report.issues` and
 * left out. Throws a GraftError only when nothing trainable remains (or, with `strict`, on any issue).
 */
export async function scanImages(source: string, opts: ScanImagesOptions = {}): Promise<ImageDataset> {
  const root = resolve(source);
  const kind = await statKind(root, 'Image data set');
  const issues: DatasetIssue[] = [];
  const report = (i: DatasetIssue) => {
    issues.push(i);
    opts.onIssue?.(i);
  };
  const collected: DatasetIssue[] = [];
  let layout: ImageLayout;
  let found: FoundFile[];
  let declaredClasses: string[] = [];
  let base: string;
  if (kind === 'dir') {
    const d = await discoverFolder(root, imageFileFilter, collected);
    layout = d.layout;
    found = d.files;
    declaredClasses = d.declaredClasses;
    base = root;
  } else {
    layout = 'manifest';
    base = dirname(root);
    found = await readManifest(root, base, opts.fields ?? {}, collected);
  }
  collected.forEach(report);

  if (opts.mapLabel) {
    const map = opts.mapLabel;
    found = found.flatMap((f) => {
      const l = map(f.label);
      return l === null ? [] : [{ ...f, label: l }];
    });
    declaredClasses = declaredClasses.flatMap((c) => map(c) ?? []);
  }

  const scanned = await mapLimit(found, opts.concurrency ?? 8, (f) => scanFile(f, opts.verify ?? 'header'));
  const candidates: Omit<ImageItem, 'split'>[] = [];
  scanned.forEach((r, i) => {
    if ('issue' in r) report(r.issue);
    else {
      const f = found[i]!;
      const c: Omit<ImageItem, 'split'> & { split?: Split } = {
        ...r.probe,
        id: f.rel,
        label: f.label,
        hash: r.hash,
        path: f.abs,
        bytes: r.bytes,
      };
      if (f.split) c.split = f.split;
      candidates.push(c);
    }
  });

  const resolved = resolveScan({ source: root, kind: 'image', layout, candidates, issues, declaredClasses }, opts);
  return { root, layout, labels: resolved.labels, items: resolved.items as ImageItem[], report: resolved.report };
}

async function readManifest(
  file: string,
  base: string,
  fields: NonNullable<ScanImagesOptions['fields']>,
  issues: DatasetIssue[],
): Promise<FoundFile[]> {
  const id = toId(base, file);
  const { records, lines } = await readTable(file, issues, id);
  const pf = fields.path ?? 'path';
  const lf = fields.label ?? 'label';
  const sf = fields.split ?? 'split';
  const out: FoundFile[] = [];
  const missing: string[] = [];
  records.forEach((rec, i) => {
    const at = `${id}:${lines[i]}`;
    const r = rec !== null && typeof rec === 'object' ? (rec as Record<string, unknown>) : {};
    const p = typeof r[pf] === 'string' ? (r[pf] as string).trim() : '';
    const rawLabel = r[lf];
    const label = typeof rawLabel === 'string' || typeof rawLabel === 'number' ? String(rawLabel).trim() : '';
    if (!p || !label) {
      issues.push({ kind: 'bad-row', files: [at], skipped: true, detail: `needs non-empty '${pf}' and '${lf}'` });
      return;
    }
    let split: Split | undefined;
    const rawSplit = r[sf];
    if (typeof rawSplit === 'string' && rawSplit.trim()) {
      split = normaliseSplit(rawSplit);
      if (!split) {
        issues.push({ kind: 'bad-row', files: [at], skipped: true, detail: `unknown split '${rawSplit}'` });
        return;
      }
    }
    const abs = isAbsolute(p) ? p : resolve(base, p);
    const f: FoundFile = { abs, rel: isAbsolute(p) ? p : toId(base, abs), label };
    if (split) f.split = split;
    out.push(f);
  });
  // Missing files are checked here, not in the scan, so they are reported as manifest problems.
  const present: FoundFile[] = [];
  await mapLimit(out, 16, async (f) => {
    try {
      await statKind(f.abs, 'file');
      return true;
    } catch {
      return false;
    }
  }).then((ok) =>
    ok.forEach((o, i) => {
      if (o) present.push(out[i]!);
      else missing.push(out[i]!.rel);
    }),
  );
  if (missing.length) {
    issues.push({ kind: 'missing-file', files: missing, skipped: true, detail: `listed in ${id} but not found` });
  }
  return present;
}

type ScanResult = { probe: ImageProbe; hash: string; bytes: number } | { issue: DatasetIssue };

async function scanFile(f: FoundFile, verify: 'header' | 'decode'): Promise<ScanResult> {
  const issue = (kind: DatasetIssue['kind'], detail: string): ScanResult => ({
    issue: { kind, files: [f.rel], skipped: true, detail, label: f.label, ...(f.split ? { split: f.split } : {}) },
  });
  let buf: Buffer;
  try {
    buf = await readFile(f.abs);
  } catch (e) {
    return issue('unreadable', (e as NodeJS.ErrnoException).code ?? String(e));
  }
  if (buf.length === 0) return issue('empty-file', '0 bytes');
  const hash = createHash('sha256').update(buf).digest('hex');
  let probe: ImageProbe;
  try {
    probe = await probeImage(buf);
  } catch (e) {
    return issue('corrupt', `not a readable image: ${(e as Error).message}`);
  }
  if (!DECODABLE_FORMATS.includes(probe.format)) {
    return issue('unsupported', `${probe.format} content (supported: ${DECODABLE_FORMATS.join(', ')})`);
  }
  if (!(probe.width > 0 && probe.height > 0)) return issue('corrupt', `bad dimensions ${probe.width}x${probe.height}`);
  if (verify === 'decode') {
    try {
      await verifyDecodes(buf);
    } catch (e) {
      return issue('corrupt', `decode failed: ${(e as Error).message}`);
    }
  }
  return { probe, hash, bytes: buf.length };
}
