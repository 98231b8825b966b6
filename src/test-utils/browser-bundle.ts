// Bundles an entry for the browser with esbuild, as a user's bundler would (platform 'browser': the
// "browser" condition of `exports` and the "browser" field of package.json apply), and reports every
// node-only module the bundle reaches with the chain of imports that reached it.
import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

/** Packages that only run in Node (native code, file system, processes), whatever their own fields say. */
export const NODE_ONLY_PACKAGES: readonly string[] = ['onnxruntime-node', 'sharp', 'pacote', 'tar'];

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '').split('/')[0]!));

/** Whether an import specifier names a node-only module. */
export function isNodeOnly(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  if (BUILTINS.has(specifier.split('/')[0]!)) return true;
  return NODE_ONLY_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`));
}

export interface NodeOnlyReach {
  /** the node-only specifier, as imported */
  module: string;
  /** entry -> ... -> the file importing `module` (paths relative to the bundle's working directory) */
  chain: string[];
}

export interface BrowserBundle {
  /** every source file in the bundle, relative to the working directory */
  inputs: string[];
  reaches: NodeOnlyReach[];
  bytes: number;
}

/**
 * Bundles `entry` for the browser. Node-only imports are recorded and left external instead of failing
 * the build, so one run lists all of them; each comes with the shortest import chain from the entry.
 */
export async function bundleForBrowser(entry: string, opts: { cwd: string }): Promise<BrowserBundle> {
  const recordNodeOnly: Plugin = {
    name: 'record-node-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) =>
        isNodeOnly(args.path) ? { path: args.path, external: true, namespace: 'node-only' } : undefined,
      );
    },
  };
  const result = await build({
    absWorkingDir: opts.cwd,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [recordNodeOnly],
  });
  const meta = result.metafile;
  const entryInput = Object.keys(meta.inputs).find((p) => p === relative(opts.cwd, entry) || p === entry);
  return {
    inputs: Object.keys(meta.inputs),
    reaches: entryInput ? nodeOnlyReaches(meta, entryInput) : [],
    bytes: result.outputFiles.reduce((n, f) => n + f.contents.length, 0),
  };
}

/** Breadth-first from the entry, so each node-only module is reported with its shortest chain. */
function nodeOnlyReaches(meta: Metafile, entry: string): NodeOnlyReach[] {
  const parent = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  const reaches = new Map<string, NodeOnlyReach>();
  const chainTo = (file: string): string[] => {
    const chain: string[] = [];
    for (let f: string | undefined = file; f !== undefined; f = parent.get(f)) chain.unshift(f);
    return chain;
  };
  while (queue.length) {
    const file = queue.shift()!;
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.external && isNodeOnly(imp.path)) {
        if (!reaches.has(imp.path)) reaches.set(imp.path, { module: imp.path, chain: chainTo(file) });
      } else if (!imp.external && !parent.has(imp.path)) {
        parent.set(imp.path, file);
        queue.push(imp.path);
      }
    }
  }
  return [...reaches.values()];
}

/** One line per reach: `fs  <-  src/a.ts -> src/b.ts`, for a failure message. */
export function formatReaches(reaches: readonly NodeOnlyReach[]): string {
  return reaches.map((r) => `  ${r.module}  <-  ${r.chain.join(' -> ')}`).join('\n');
}
