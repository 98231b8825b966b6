import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { GraftError } from '../errors.js';
import { type ModelPathContext, modelRelativePath, outsideModelFolder, printable } from '../util/model-paths.js';

/**
 * The real path of a file that a model names relative to its folder `root`, refused unless it stays inside
 * that folder once every symlink is resolved: a plain name that is a symlink to /etc/passwd, or a link to a
 * folder elsewhere, is as much an escape as '../..'. The file must exist and be a regular file (a FIFO would
 * hang the read, a device would never end). Every path derived from a model file goes through here.
 *
 * Missing files are GraftError NOT_FOUND (callers trying several candidate names go on to the next); files
 * outside the folder, folders and special files are BAD_MODEL naming `ctx.field` and the path.
 */
export function confinedPath(root: string, rel: string, ctx: ModelPathContext): string {
  const normalized = modelRelativePath(rel, ctx);
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    throw new GraftError('NOT_FOUND', `The folder of the model is not readable`, {
      file: root,
      found: (e as NodeJS.ErrnoException).code ?? 'an error',
      fix: 'check the model path',
    });
  }
  const candidate = join(realRoot, ...normalized.split('/'));
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GraftError('NOT_FOUND', `${ctx.field} names a file that is not in the model folder`, {
        file: ctx.file,
        value: printable(rel),
        expected: `a file at ${candidate}`,
        found: 'no such file',
        fix: 'copy every file the model names (weight shards, external data) next to it',
      });
    }
    if (code === 'ELOOP') throw outsideModelFolder(rel, ctx, 'a symlink loop');
    throw new GraftError('IO', `Cannot read the file ${ctx.field} names`, {
      file: ctx.file,
      value: printable(rel),
      found: code ?? 'an error',
      fix: 'check the file permissions',
    });
  }
  if (!isInside(realRoot, real)) {
    throw outsideModelFolder(rel, ctx, `a symlink (or a link in its folders) that resolves to ${real}`);
  }
  const st = statSync(real);
  if (!st.isFile()) {
    throw new GraftError('BAD_MODEL', `${ctx.field} names ${st.isDirectory() ? 'a folder' : 'a special file'}`, {
      file: ctx.file,
      value: printable(rel),
      expected: 'a regular file',
      found: st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device',
      fix: 'name the data file itself',
    });
  }
  return real;
}

/** True when `path` is `root` or lies below it (both already real paths). */
export function isInside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}
