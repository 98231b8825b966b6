// The layering rule of docs/architecture.md, checked on the import statements of every source file: a
// layer imports only layers below it, no lower layer reaches the application layer or the CLI, and code
// outside node/ folders (the browser-safe core) imports no Node-only module. The browser-bundle test checks
// the same promise by bundling; this one names the offending import without a bundler.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('.', import.meta.url));

/** Layers bottom-up; a file may import its own layer and those of a lower rank. */
export const LAYER_RANK: Record<string, number> = {
  errors: 0,
  util: 0,
  onnx: 1,
  runtime: 2,
  surgery: 2,
  autodiff: 2,
  data: 2,
  eval: 2,
  train: 3,
  zoo: 3,
  transfer: 4,
  node: 1.5,
  report: 6,
  // the browser recipes (models and images in memory, no files): above the library, below the Node recipes
  'app-web': 6.5,
  app: 7,
  cli: 8,
  // the HTTP entry point (graft serve): calls recipes like the CLI
  serve: 8,
  // the package's entries: the browser one re-exports the core (the browser-bundle test keeps it so), the
  // Node one the core and the Node adapters
  browser: 8,
  index: 8,
};

/** Modules that exist only in Node: the browser-safe core must not import them. */
const NODE_ONLY =
  /^(node:|fs$|fs\/|path$|os$|child_process$|crypto$|url$|worker_threads$|stream$|sharp$|pacote$|tar$|onnxruntime-node$|csv-parse)/;

/** The runtime seam is the one core file allowed to name onnxruntime-node (the browser build maps it away). */
const SEAM = 'runtime/ort.ts';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    // test helpers are tests: they may reach across layers to set a scene
    if (statSync(p).isDirectory()) {
      if (name !== 'test-utils' && name !== 'test-fixtures') sources(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (p: string) => relative(SRC, p).split(sep).join('/');
const layerOf = (file: string) =>
  rel(file)
    .split('/')[0]!
    .replace(/\.[jt]s$/, '');
/** Node adapters (a node/ folder at any depth, src/node), the app, the CLI, the server and the Node entry may use Node. */
const nodeSide = (file: string) =>
  /(^|\/)node\//.test(rel(file)) || ['node', 'app', 'cli', 'serve', 'index'].includes(layerOf(file));

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm),
  ].map((m) => (m[1] ?? m[2])!);
}

test('every layer imports only the layers below it', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    const rank = LAYER_RANK[from];
    if (rank === undefined) {
      problems.push(`${rel(file)}: the folder '${from}' is not a layer of docs/architecture.md (add it to LAYER_RANK)`);
      continue;
    }
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = join(dirname(file), spec);
      const to = layerOf(target);
      if (to === from) continue;
      if ((LAYER_RANK[to] ?? Infinity) > rank)
        problems.push(`${rel(file)} (${from}) imports ${rel(target)} (${to}): up the layers`);
      if (!nodeSide(file) && /(^|\/)node\//.test(rel(target)))
        problems.push(`${rel(file)} is browser-safe core but imports the Node adapter ${rel(target)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the browser-safe core imports no Node-only module', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    if (nodeSide(file) || rel(file) === SEAM) continue;
    for (const spec of importsOf(file)) if (NODE_ONLY.test(spec)) problems.push(`${rel(file)} imports '${spec}'`);
  }
  assert.deepEqual(problems, []);
});

test('the checks see imports: the parser finds the imports of a known file', () => {
  // guards the regular expression above against matching nothing
  const specs = importsOf(fileURLToPath(new URL('./cli/run.ts', import.meta.url)));
  assert.ok(specs.includes('../app/index.js') && specs.includes('../errors.js'), specs.join(', '));
});
