import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { type Candidate, type ResolveOptions, resolveScan } from '../dataset.js';
import type { LabelMap } from '../labels.js';
import { type DataLimits, dataLimits } from '../limits.js';
import type { DatasetIssue, DatasetReport, Split } from '../report.js';
import { normaliseSplit } from '../text.js';
import { DECODABLE_FORMATS, type ImageProbe, imageSizeProblem, probeImage, verifyDecodes } from './decode.js';
import { type FileFilter, type FoundFile, discoverFolder, readTable, statKind, toId } from './files.js';
import { mapLimit } from './pool.js';
import { describeFileType, readBounded } from './read.js';

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
  /** file size, pixel and table limits (defaults: DEFAULT_DATA_LIMITS) */
  limits?: Partial<DataLimits>;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff']);

/** Everything else in a class folder is reported as unsupported, so a stray .bmp or .heic is not missed. */
export const imageFileFilter: FileFilter = (name) =>
  IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) ? 'take' : 'unsupported';

/**
 * Scans an image data set: a folder of class folders, a folder of train/ val/ test/ folders, or a
 * manifest (.csv/.tsv/.jsonl with path,label[,split] relative to the manifest). Every file is read once
 * (sha256 of its bytes) and its header decoded; empty, unreadable, corrupt and unsupported files, special
 * files (FIFOs, devices, sockets: never opened or read), files over the size or pixel limits, missing
 * manifest entries, duplicates, and empty or single-example classes are reported in `report.issues` and
 * left out. Throws a GraftError only when nothing trainable remains (or, with `strict`, on any issue).
 */
export async function scanImages(source: string, opts: ScanImagesOptions = {}): Promise<ImageDataset> {
  const limits = dataLimits(opts.limits);
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
    found = await readManifest(root, base, opts.fields ?? {}, collected, limits);
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

  const scanned = await mapLimit(found, opts.concurrency ?? 8, (f) => scanFile(f, opts.verify ?? 'header', limits));
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
  limits: DataLimits,
): Promise<FoundFile[]> {
  const id = toId(base, file);
  const { records, lines } = await readTable(file, issues, id, limits);
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
  // Missing and special files are checked here, so they are reported as manifest problems; stat only, so a
  // row naming /dev/zero or a FIFO opens nothing.
  const present: FoundFile[] = [];
  const special: DatasetIssue[] = [];
  const kinds = await mapLimit(out, 16, async (f) => {
    try {
      const st = await stat(f.abs);
      return st.isFile() ? 'file' : describeFileType(st);
    } catch {
      return undefined;
    }
  });
  kinds.forEach((k, i) => {
    const f = out[i]!;
    if (k === 'file') present.push(f);
    else if (k === undefined) missing.push(f.rel);
    else {
      const detail = `${k}, not a regular file (listed in ${id})`;
      special.push({ kind: 'not-a-file', files: [f.rel], skipped: true, detail, label: f.label });
    }
  });
  if (missing.length) {
    issues.push({ kind: 'missing-file', files: missing, skipped: true, detail: `listed in ${id} but not found` });
  }
  issues.push(...special);
  return present;
}

type ScanResult = { probe: ImageProbe; hash: string; bytes: number } | { issue: DatasetIssue };

async function scanFile(f: FoundFile, verify: 'header' | 'decode', limits: DataLimits): Promise<ScanResult> {
  const issue = (kind: DatasetIssue['kind'], detail: string): ScanResult => ({
    issue: { kind, files: [f.rel], skipped: true, detail, label: f.label, ...(f.split ? { split: f.split } : {}) },
  });
  const read = await readBounded(f.abs, limits.maxImageBytes);
  if ('refused' in read) return issue(read.refused.kind, read.refused.detail);
  const buf = read.bytes;
  const hash = createHash('sha256').update(buf).digest('hex');
  let probe: ImageProbe;
  try {
    probe = await probeImage(buf);
  } catch (e) {
    return issue('corrupt', `not a readable image: ${firstLine(e)}`);
  }
  if (!DECODABLE_FORMATS.includes(probe.format)) {
    return issue('unsupported', `${probe.format} content (supported: ${DECODABLE_FORMATS.join(', ')})`);
  }
  if (!(probe.width > 0 && probe.height > 0)) return issue('corrupt', `bad dimensions ${probe.width}x${probe.height}`);
  const tooLarge = imageSizeProblem(probe, limits);
  if (tooLarge) return issue('too-large', tooLarge);
  if (verify === 'decode') {
    try {
      await verifyDecodes(buf, limits);
    } catch (e) {
      return issue('corrupt', `decode failed: ${firstLine(e)}`);
    }
  }
  return { probe, hash, bytes: buf.length };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
