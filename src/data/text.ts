import { type DataLimits, DEFAULT_DATA_LIMITS, tooManyRowsError } from './limits.js';
import type { DatasetIssue, Split } from './report.js';

/** Column / field names of a text table; defaults text, label, split. */
export interface TextFields {
  text?: string;
  label?: string;
  /** optional column assigning rows to train/val/test */
  split?: string;
}

/** A parsed text example before data-set checks; `id` is file:line for messages and reports. */
export interface TextExample {
  id: string;
  text: string;
  label: string;
  split?: Split;
}

const SPLIT_ALIASES: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  test: 'test',
  testing: 'test',
};

/** train/val/test from common folder or column spellings (valid, validation, dev ...); undefined otherwise. */
export function normaliseSplit(name: string): Split | undefined {
  return SPLIT_ALIASES[name.trim().toLowerCase()];
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Turns parsed records (CSV rows with headers, JSON objects) into examples. Rows without a usable text or
 * label, with an unknown split name, or with empty text are reported and skipped. `lineOf(i)` gives the
 * source line of record i for the report.
 */
export function recordsToExamples(
  records: readonly unknown[],
  source: string,
  fields: TextFields,
  issues: DatasetIssue[],
  lineOf: (i: number) => number = (i) => i + 1,
): TextExample[] {
  const tf = fields.text ?? 'text';
  const lf = fields.label ?? 'label';
  const sf = fields.split ?? 'split';
  const out: TextExample[] = [];
  records.forEach((rec, i) => {
    const id = `${source}:${lineOf(i)}`;
    const r = rec !== null && typeof rec === 'object' && !Array.isArray(rec) ? (rec as Record<string, unknown>) : {};
    const text = scalar(r[tf]);
    const label = scalar(r[lf])?.trim();
    if (text === undefined || label === undefined || label === '') {
      const missing = [text === undefined ? `'${tf}'` : '', label === undefined || label === '' ? `'${lf}'` : '']
        .filter(Boolean)
        .join(' and ');
      issues.push({ kind: 'bad-row', files: [id], skipped: true, detail: `no ${missing} field` });
      return;
    }
    if (text.trim() === '') {
      issues.push({ kind: 'empty-text', files: [id], skipped: true, detail: 'text is empty', label });
      return;
    }
    let split: Split | undefined;
    const rawSplit = scalar(r[sf]);
    if (rawSplit !== undefined && rawSplit.trim() !== '') {
      split = normaliseSplit(rawSplit);
      if (!split) {
        issues.push({
          kind: 'bad-row',
          files: [id],
          skipped: true,
          detail: `unknown split '${rawSplit}' (expected train, val or test)`,
        });
        return;
      }
    }
    out.push(split ? { id, text, label, split } : { id, text, label });
  });
  return out;
}

/**
 * JSON Lines: one value per line; blank lines are ignored, unparsable lines and lines over
 * `limits.maxRowChars` reported as bad rows (without quoting them). More than `limits.maxTableRows` records is
 * a GraftError: the lines are walked without splitting the whole text, so a file of newlines costs nothing.
 */
export function parseJsonlRecords(
  content: string,
  source: string,
  issues: DatasetIssue[],
  limits: Pick<DataLimits, 'maxTableRows' | 'maxRowChars'> = DEFAULT_DATA_LIMITS,
): { records: unknown[]; lines: number[] } {
  const records: unknown[] = [];
  const lines: number[] = [];
  const bad = (line: number, detail: string) =>
    issues.push({ kind: 'bad-row', files: [`${source}:${line}`], skipped: true, detail });
  let line = 0;
  for (let at = 0; at < content.length;) {
    line++;
    const nl = content.indexOf('\n', at);
    const end = nl < 0 ? content.length : nl;
    const next = end + 1;
    const length = end - at;
    if (length > limits.maxRowChars) {
      bad(line, `a line of ${length} characters, over the ${limits.maxRowChars}-character limit`);
      at = next;
      continue;
    }
    const text = content.slice(at, end);
    at = next;
    if (text.trim() === '') continue;
    if (records.length === limits.maxTableRows) {
      throw tooManyRowsError(source, limits.maxTableRows);
    }
    try {
      records.push(JSON.parse(text));
      lines.push(line);
    } catch (e) {
      // V8's message quotes the line ("Unexpected token 'x', "..." is not valid JSON"): keep the position only
      const pos = /at position (\d+)/.exec((e as Error).message)?.[1];
      bad(line, pos === undefined ? 'not valid JSON' : `not valid JSON (at character ${Number(pos) + 1})`);
    }
  }
  return { records, lines };
}

/** Text examples from JSON Lines content. */
export function parseJsonl(content: string, source: string, fields: TextFields, issues: DatasetIssue[]): TextExample[] {
  const { records, lines } = parseJsonlRecords(content, source, issues);
  return recordsToExamples(records, source, fields, issues, (i) => lines[i]!);
}
