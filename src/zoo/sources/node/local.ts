import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { GraftError } from '../../../errors.js';
import type { FileSpec } from '../spec.js';
import { hashFile } from './cache.js';
import type { ResolvedFile, SourceContext } from './context.js';

/**
 * A file already on disk. It is read where it lies (not copied into the cache); its hash is computed so
 * that conversions of it are cached by content, and checked when the source pins one.
 */
export async function resolveLocal(spec: FileSpec, ctx: SourceContext): Promise<ResolvedFile> {
  const path = resolve(ctx.cwd, spec.path);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new GraftError('NOT_FOUND', `No file at ${path}`, {
      file: path,
      fix: 'check the path; zoo model names look like arch.tag (see `graft zoo list`)',
    });
  }
  if (!isFile) {
    throw new GraftError('BAD_INPUT', `${path} is not a file`, {
      file: path,
      expected: 'an .onnx file or a TF.js model.json',
      found: 'a folder',
      fix: 'name the model file inside the folder',
    });
  }
  const { sha256, size } = await hashFile(path);
  if (spec.sha256 && spec.sha256 !== sha256) {
    throw new GraftError('INTEGRITY', `${path} does not have the expected content`, {
      file: path,
      expected: `sha256 ${spec.sha256}`,
      found: `sha256 ${sha256}`,
      fix: 'replace the file with the expected one, or update the pinned sha256',
    });
  }
  return { path, sha256, size, source: spec.path, fromCache: true, downloadedBytes: 0 };
}
