import { GraftError } from '../errors.js';

/** What a path named inside a model file is, for the error that refuses it. */
export interface ModelPathContext {
  /** the field that names the path, as a person would find it: "weightsManifest[0].paths[1]" */
  field: string;
  /** the model file (or source) that names it */
  file?: string;
}

/**
 * A path that a model file names for another file beside it (a TF.js weight shard, an ONNX external data
 * location, a companion listed by a zoo entry), checked without touching any file system: it must be
 * relative and stay inside the model's folder. Backslashes count as separators (a model written on Windows,
 * or one crafted to climb out there); '.' and empty segments are dropped and '..' may only go back down
 * into a folder it came from. Returns the normalized '/'-separated path.
 *
 * Browser-safe: the Node side (src/node/confine.ts) adds the realpath check that catches symlinks.
 */
export function modelRelativePath(relative: string, ctx: ModelPathContext): string {
  const refuse = (found: string) => outsideModelFolder(relative, ctx, found);
  if (typeof relative !== 'string' || relative.length === 0) throw refuse('an empty path');
  if (relative.includes('\0')) throw refuse('a path holding a NUL character');
  const unified = relative.replace(/\\/g, '/');
  if (unified.startsWith('/')) throw refuse('an absolute path');
  if (/^[A-Za-z]:/.test(unified)) throw refuse('a path with a drive letter');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(unified)) throw refuse('a URL');
  const parts: string[] = [];
  for (const p of unified.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw refuse("'..' segments that climb out of the model folder");
      parts.pop();
    } else parts.push(p);
  }
  if (parts.length === 0) throw refuse('the model folder itself, not a file in it');
  return parts.join('/');
}

export function outsideModelFolder(relative: string, ctx: ModelPathContext, found: string): GraftError {
  return new GraftError('BAD_MODEL', `${ctx.field} names a file outside the model folder`, {
    file: ctx.file,
    value: printable(relative),
    expected: "a path relative to the model's folder that stays inside it",
    found,
    fix: 'keep every file the model names (weight shards, external data) inside its folder and name it by a relative path',
  });
}

/** Paths are shown in errors; control characters are escaped so a crafted name cannot rewrite the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const out = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return out.length > 200 ? `${out.slice(0, 200)}...` : out;
}
