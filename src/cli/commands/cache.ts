import type { CacheEntry } from '../../app/cache-admin.js';
import type { CacheCleanSettings, CacheSettings } from '../cache-commands.js';
import type { CommandContext } from '../commands.js';
import type { CliIo } from '../io.js';
import { formatBytes } from '../progress.js';
import { table } from './text.js';

function place(options: Partial<CacheSettings>, io: CliIo) {
  return { cacheDir: options.cacheDir, env: io.env, cwd: io.cwd };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function describe(e: CacheEntry): string {
  if (e.kind === 'blob') {
    const n = e.names ?? [];
    if (n.length === 0) return `sha256 ${e.sha256} (no source recorded)`;
    return n.length > 2 ? `${n.slice(0, 2).join(', ')} (+${n.length - 2} more)` : n.join(', ');
  }
  if (e.kind === 'features') {
    const what = e.vectors !== undefined ? `${e.vectors.toLocaleString('en-US')} vectors of ${e.dim}` : '?';
    return `${e.namespace} (${what})${e.problem ? `: ${e.problem}` : ''}`;
  }
  return `${e.path}${e.problem ? ` (${e.problem})` : ''}`;
}

export async function runLs({ app, options, io }: CommandContext<CacheSettings>): Promise<number> {
  const listing = await app.listCacheEntries(place(options, io));
  if (options.json) {
    io.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
    return 0;
  }
  const w = (s: string) => io.stdout.write(s);
  w(`cache ${listing.root}\n`);
  const shown = listing.entries
    .filter((e) => e.kind !== 'ref')
    .sort((a, b) => a.kind.localeCompare(b.kind) || b.size - a.size);
  if (shown.length) {
    w(
      table(
        ['KIND', 'SIZE', 'LAST USED', 'WHAT'],
        shown.map((e) => [e.kind === 'blob' ? 'file' : e.kind, formatBytes(e.size), day(e.lastUsed), describe(e)]),
      ),
    );
  } else w('empty\n');
  const t = listing.totals;
  const total = t.blob.bytes + t.ref.bytes + t.features.bytes + t.temp.bytes;
  w(
    `\nfiles ${formatBytes(t.blob.bytes)} (${t.blob.count}), refs ${formatBytes(t.ref.bytes)} (${t.ref.count}), ` +
      `features ${formatBytes(t.features.bytes)} (${plural(t.features.count, 'store')}), temporary ${formatBytes(t.temp.bytes)}; ` +
      `total ${formatBytes(total)}\n`,
  );
  return 0;
}

export async function runVerify({ app, options, io }: CommandContext<CacheSettings>): Promise<number> {
  const tty = io.stderr.isTTY === true && !options.quiet;
  const r = await app.verifyCacheEntries(place(options, io), (done, total, bytes) => {
    if (tty) io.stderr.write(`\rverifying ${done}/${total} files (${formatBytes(bytes)})\x1b[K`);
  });
  if (tty) io.stderr.write('\r\x1b[K');
  if (options.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else {
    io.stdout.write(
      `checked ${plural(r.blobs, 'file')} (${formatBytes(r.bytes)}) in ${r.seconds.toFixed(1)}s, ${plural(r.refs, 'ref')}, ` +
        `${plural(r.featureStores, 'feature store')} in ${r.root}\n`,
    );
    for (const b of r.bad) {
      io.stdout.write(`damaged ${b.path}: ${b.problem}${b.names?.length ? ` (${b.names.join(', ')})` : ''}\n`);
    }
    io.stdout.write(r.bad.length ? '' : 'all intact\n');
  }
  if (r.bad.length) {
    io.stderr.write(
      `error: ${r.bad.length} damaged cache entr${r.bad.length === 1 ? 'y' : 'ies'} in ${r.root}\n` +
        '  fix: `graft cache clean --damaged` removes them; they are fetched, converted or computed again on next use\n',
    );
    return 1;
  }
  return 0;
}

export async function runClean({ app, options, io }: CommandContext<CacheCleanSettings>): Promise<number> {
  const r = await app.cleanCacheEntries({
    ...place(options, io),
    olderThanDays: options.olderThan,
    features: options.features,
    damaged: options.damaged,
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`removed ${plural(r.removed.length, 'file')}, freed ${formatBytes(r.freedBytes)} in ${r.root}\n`);
  if (r.kept.length) {
    const pids = [...new Set(r.kept.map((k) => k.pid))].join(', ');
    io.stdout.write(`kept ${r.kept.length} in use by running graft processes (pid ${pids})\n`);
  }
  return 0;
}
