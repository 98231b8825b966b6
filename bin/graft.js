#!/usr/bin/env node
// The `graft` command. Runs the compiled CLI (dist/cli/main.js) when the package has been built, and
// the TypeScript sources through tsx in a development checkout that has not been built.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built) && !process.env.GRAFT_FROM_SOURCE) {
  await import(built.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'error: graft is not built (no dist/cli/main.js) and tsx is not installed\n  fix: run `npm run build`\n',
    );
    process.exit(1);
  }
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
