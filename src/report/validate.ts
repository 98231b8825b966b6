import { GraftError } from '../errors.js';

/**
 * Small structural checks for the JSON files of a run folder. Each failure names the file and the
 * JSON path of the first bad field, so a hand-edited or truncated file points at itself.
 */
export interface Where {
  file: string;
  /** what writes this file, for the fix hint */
  writer: string;
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function invalid(where: Where, path: string, expected: string, found: unknown): never {
  throw new GraftError('BAD_INPUT', `${where.file} is not a valid run-folder file: ${path || '(top level)'} is wrong`, {
    file: where.file,
    value: path || undefined,
    expected,
    found: describe(found),
    fix: `re-create it with ${where.writer}, or correct the field by hand`,
  });
}

export function parseJsonText(text: string, where: Where): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GraftError('BAD_INPUT', `${where.file} is not valid JSON`, {
      file: where.file,
      expected: 'a JSON document',
      found: `${text.length} characters: ${(e as Error).message}`,
      fix: `the file is probably truncated (an interrupted run?); re-create it with ${where.writer}`,
      cause: e,
    });
  }
}

export function object(v: unknown, where: Where, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(where, path, 'an object', v);
  return v as Record<string, unknown>;
}

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function number(v: unknown, where: Where, path: string, rule: NumberRule = {}): number {
  const parts = [rule.integer ? 'an integer' : 'a finite number'];
  if (rule.min !== undefined) parts.push(`>= ${rule.min}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || v >= rule.min) &&
    (rule.max === undefined || v <= rule.max);
  if (!ok) invalid(where, path, parts.join(' '), v);
  return v as number;
}

export function optionalNumber(v: unknown, where: Where, path: string, rule: NumberRule = {}): number | undefined {
  return v === undefined ? undefined : number(v, where, path, rule);
}

/** A number or null (JSON's way of writing "not defined", e.g. ROC AUC of an absent class). */
export function nullableNumber(v: unknown, where: Where, path: string, rule: NumberRule = {}): number | null {
  return v === null ? null : number(v, where, path, rule);
}

export function string(v: unknown, where: Where, path: string): string {
  if (typeof v !== 'string') invalid(where, path, 'a string', v);
  return v;
}

export function optionalString(v: unknown, where: Where, path: string): string | undefined {
  return v === undefined ? undefined : string(v, where, path);
}

export function array<T>(v: unknown, where: Where, path: string, item: (x: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) invalid(where, path, 'an array', v);
  return v.map((x, i) => item(x, `${path}[${i}]`));
}

export function oneOf<T extends string>(v: unknown, where: Where, path: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    invalid(where, path, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, v);
  }
  return v as T;
}

/** Any JSON value except a non-finite number (which JSON cannot hold anyway). */
export function json(v: unknown, where: Where, path: string): Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return number(v, where, path);
  if (Array.isArray(v)) return v.map((x, i) => json(x, where, `${path}[${i}]`));
  if (typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = json(x, where, `${path}.${k}`);
    return out;
  }
  return invalid(where, path, 'a JSON value', v);
}

export function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}
