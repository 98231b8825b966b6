import type { NpmSpec, SourceSpec } from '../spec.js';
import type { ResolvedFile, SourceContext } from './context.js';
import { resolveHf } from './hf.js';
import { resolveLocal } from './local.js';
import { resolveNpm } from './npm.js';
import { resolveUrl } from './url.js';

/** Resolves one source to a readable file, through the cache. */
export async function resolveFile(spec: SourceSpec, ctx: SourceContext): Promise<ResolvedFile> {
  return (await resolveFiles([spec], ctx))[0]!;
}

/**
 * Resolves several sources, in order. Files from the same npm package version are taken from one tarball
 * download.
 */
export async function resolveFiles(specs: readonly SourceSpec[], ctx: SourceContext): Promise<ResolvedFile[]> {
  const out: (ResolvedFile | undefined)[] = new Array(specs.length);
  const npmGroups = new Map<string, { spec: NpmSpec; index: number }[]>();
  for (const [index, spec] of specs.entries()) {
    if (spec.kind !== 'npm') continue;
    const k = `${spec.name}@${spec.version}`;
    npmGroups.set(k, [...(npmGroups.get(k) ?? []), { spec, index }]);
  }
  for (const group of npmGroups.values()) {
    const files = await resolveNpm(
      group.map((g) => g.spec),
      ctx,
    );
    group.forEach((g, i) => (out[g.index] = files[i]));
  }
  for (const [index, spec] of specs.entries()) {
    if (spec.kind === 'file') out[index] = await resolveLocal(spec, ctx);
    else if (spec.kind === 'url') out[index] = await resolveUrl(spec, ctx);
    else if (spec.kind === 'hf') out[index] = await resolveHf(spec, ctx);
  }
  return out as ResolvedFile[];
}
