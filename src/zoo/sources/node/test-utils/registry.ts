import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import type { TestServer } from './server.js';

export interface FakePackage {
  name: string;
  version: string;
  /** path inside the package -> content */
  files: Record<string, Uint8Array | string>;
}

/** Builds an npm-style .tgz (files under 'package/'), the way `npm pack` lays it out. */
export async function packTarball(pkg: FakePackage): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'graft-pack-'));
  try {
    const files = { 'package.json': JSON.stringify({ name: pkg.name, version: pkg.version }), ...pkg.files };
    for (const [p, content] of Object.entries(files)) {
      const full = join(dir, 'package', p);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    const out = join(dir, 'out.tgz');
    await tar.c({ gzip: true, cwd: dir, file: out, portable: true }, ['package']);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function sri(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * Serves a package on the test server as a registry would: the packument at /<name> (scoped names
 * escaped as @scope%2fname) and the tarball under /<name>/-/. `integrity` overrides the advertised value
 * (to test tampering). Returns the tarball's real integrity.
 */
export async function publish(
  server: TestServer,
  pkg: FakePackage,
  opts: { integrity?: string; requireAuth?: string; tarball?: Uint8Array } = {},
): Promise<{ integrity: string; tarballPath: string; packumentPath: string }> {
  const tgz = opts.tarball ?? (await packTarball(pkg));
  const integrity = sri(tgz);
  const base = pkg.name.split('/').pop()!;
  const tarballPath = `/${pkg.name}/-/${base}-${pkg.version}.tgz`;
  const packumentPath = `/${pkg.name}`;
  const packument = {
    name: pkg.name,
    'dist-tags': { latest: pkg.version },
    versions: {
      [pkg.version]: {
        name: pkg.name,
        version: pkg.version,
        dist: { tarball: `${server.url}${tarballPath}`, integrity: opts.integrity ?? integrity },
      },
    },
  };
  server.routes.set(packumentPath, {
    body: new TextEncoder().encode(JSON.stringify(packument)),
    headers: { 'content-type': 'application/json' },
    requireAuth: opts.requireAuth,
  });
  server.routes.set(tarballPath, { body: tgz, requireAuth: opts.requireAuth });
  return { integrity, tarballPath, packumentPath };
}

/** An environment that points npm config at the fake registry and away from the user's own npmrc files. */
export function registryEnv(server: TestServer, home: string, npmrc = ''): NodeJS.ProcessEnv {
  writeFileSync(join(home, '.npmrc'), npmrc);
  return {
    HOME: home,
    npm_config_registry: `${server.url}/`,
    npm_config_userconfig: join(home, '.npmrc'),
    npm_config_globalconfig: join(home, 'no-global-npmrc'),
  };
}
