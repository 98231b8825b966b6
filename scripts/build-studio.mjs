// Part of `npm run build` (after tsc): bundles the studio's page and worker (src/studio) into dist/studio-web,
// so an installed Graft serves `graft studio` without esbuild. Uses the recipe's own bundler settings.
import { mkdirSync, writeFileSync } from 'node:fs';

const { bundleStudio } = await import('../dist/app/studio.js');
const { page, worker } = await bundleStudio();
const out = new URL('../dist/studio-web/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('studio.js', out), page);
writeFileSync(new URL('studio-worker.js', out), worker);
