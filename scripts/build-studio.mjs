// Part of `npm run build` (after tsc): bundles the studio's page and worker (src/studio) into dist/studio-web,
// so an installed Graft serves `graft studio` without esbuild, with the page and its stylesheet: a static site
// once onnxruntime-web's wasm is put beside them (docs/studio.md). Uses the recipe's own bundler settings.
import { mkdirSync, writeFileSync } from 'node:fs';

const { studioSite } = await import('../dist/app/studio.js');
const out = new URL('../dist/studio-web/', import.meta.url);
mkdirSync(out, { recursive: true });
// the wasm stays in onnxruntime-web's package (25 MB): the package would carry it twice
for (const f of await studioSite()) if (!f.path.endsWith('.wasm')) writeFileSync(new URL(f.path, out), f.bytes);
