import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, formatReaches } from './test-utils/browser-bundle.js';

// The layering check: what the browser entry and the browser-safe subpaths pull in, bundled as a user's
// bundler would (esbuild, platform 'browser', so package.json's "browser" field maps the runtime seam).
const root = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | Record<string, unknown>>;
};

/** The layers the browser entry exposes; each must be in its bundle. */
const BROWSER_LAYERS = [
  'onnx',
  'surgery',
  'autodiff',
  'train',
  'runtime',
  'data',
  'eval',
  'transfer',
  'zoo',
  'app-web',
];

/** Source that must never be in a browser bundle: Node adapters, and the recipes and CLI above the library. */
const NODE_SIDE = [/^src\/node\//, /^src\/.*\/node\//, /^src\/app\//, /^src\/cli\//];

test('the browser entry reaches no node-only module and exposes the browser-safe layers', async () => {
  const b = await bundleForBrowser('src/browser.ts', { cwd: root });
  assert.equal(b.reaches.length, 0, `node-only modules reached from src/browser.ts:\n${formatReaches(b.reaches)}`);
  for (const layer of BROWSER_LAYERS) {
    assert.ok(
      b.inputs.some((p) => p.startsWith(`src/${layer}/`)),
      `the browser entry exposes nothing of src/${layer}`,
    );
  }
  const nodeSide = b.inputs.filter((p) => NODE_SIDE.some((re) => re.test(p)));
  assert.deepEqual(nodeSide, [], 'Node-side source in the browser bundle');
  // the seam: onnxruntime-web through ort.web.ts, never ort.ts (which imports onnxruntime-node)
  assert.ok(b.inputs.includes('src/runtime/ort.web.ts'), 'the browser seam src/runtime/ort.web.ts is not used');
  assert.ok(!b.inputs.includes('src/runtime/ort.ts'), 'the Node seam src/runtime/ort.ts is in the browser bundle');
  assert.ok(
    b.inputs.some((p) => p.startsWith('node_modules/onnxruntime-web/')),
    'onnxruntime-web is not bundled',
  );
});

test('every layer subpath in package.json exports, except the /node ones, bundles for the browser', async () => {
  const subpaths = Object.entries(pkg.exports).filter(([k]) => k !== '.' && k !== './package.json');
  assert.ok(subpaths.length >= 8, 'the exports map lists the layer subpaths');
  for (const [subpath, target] of subpaths) {
    if (subpath.endsWith('/node')) continue;
    const dist = typeof target === 'string' ? target : String(target.default);
    const source = dist.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    const b = await bundleForBrowser(source, { cwd: root });
    assert.equal(b.reaches.length, 0, `'graft${subpath.slice(1)}' (${source}) reaches:\n${formatReaches(b.reaches)}`);
  }
});

test('the check sees node-only modules: the Node entry reaches sharp, pacote, tar and builtins, with chains', async () => {
  const b = await bundleForBrowser('src/index.ts', { cwd: root });
  const found = new Map(b.reaches.map((r) => [r.module, r.chain]));
  for (const m of ['sharp', 'pacote', 'tar'])
    assert.ok(found.has(m), `${m} not detected:\n${formatReaches(b.reaches)}`);
  assert.ok(
    b.reaches.some((r) => r.module.startsWith('node:')),
    'no node: builtin detected',
  );
  const sharp = found.get('sharp')!;
  assert.equal(sharp[0], 'src/index.ts', 'a chain starts at the entry');
  assert.equal(sharp.at(-1), 'src/data/node/decode.ts', 'a chain ends at the file that imports the module');
  for (let i = 1; i < sharp.length; i++) assert.notEqual(sharp[i], sharp[i - 1]);
});
