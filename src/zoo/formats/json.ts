import { GraftError, type GraftErrorCode } from '../../errors.js';

/**
 * Where a JSON syntax error is, without quoting the text: V8's messages embed the start of the input
 * ("Unexpected token 'r', "root:x:0:0:"... is not valid JSON"), and a file that is not what it claims to
 * be may be a secret a crafted model pointed at. Only the line, column and size are given.
 */
export function jsonErrorPosition(e: unknown, text: string): string {
  const m = /position (\d+)/.exec((e as Error | undefined)?.message ?? '');
  const size = `${text.length.toLocaleString('en-US')} characters`;
  if (/end of JSON input/i.test((e as Error | undefined)?.message ?? '')) return `JSON that ends too early (${size})`;
  if (!m) return `text that is not JSON (${size})`;
  const at = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `invalid JSON at line ${line}, column ${column} (${size})`;
}

export interface JsonFileContext {
  /** what the file is, for the message: 'model.json', 'The labels file' */
  what: string;
  file?: string;
  fix?: string;
  code?: GraftErrorCode;
}

/** JSON.parse whose error names the file and the position, never the contents. */
export function parseJsonFile(text: string, ctx: JsonFileContext): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GraftError(ctx.code ?? 'BAD_MODEL', `${ctx.what} is not valid JSON`, {
      file: ctx.file,
      found: jsonErrorPosition(e, text),
      fix: ctx.fix,
    });
  }
}

/** Describes a parsed value by its shape only (for "expected an object with X" errors). */
export function shapeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object with ${Object.keys(v).length} keys`;
  return `a ${typeof v}`;
}
