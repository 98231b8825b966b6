import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** Graft's package version, recorded in run folders and model provenance. */
export function graftVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    cached = pkg.version ?? 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
