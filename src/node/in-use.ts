import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Which cache entries running processes use, so that `graft cache clean` never removes a model or a feature
 * store from under a run. Each process appends the names it uses to `<dir>/in-use/<pid>` (before it reads
 * the entry) and deletes that file when it exits; a file whose process is gone (killed -9) is stale and
 * ignored. Nothing here locks: a reader that finds an entry missing treats it as a cache miss.
 */

const IN_USE = 'in-use';
const registered = new Map<string, Set<string>>();
let hooked = false;

/** Records that this process uses `name` (e.g. 'blob:<sha256>') of the cache folder `dir`, until it exits. */
export function markInUse(dir: string, name: string): void {
  const file = join(dir, IN_USE, String(process.pid));
  const names = registered.get(file) ?? new Set<string>();
  if (names.has(name)) return;
  try {
    mkdirSync(join(dir, IN_USE), { recursive: true });
    appendFileSync(file, `${name}\n`);
  } catch {
    // a read-only cache: nothing can remove entries from it either
    return;
  }
  names.add(name);
  registered.set(file, names);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of registered.keys()) rmSync(f, { force: true });
    });
  }
}

/**
 * Names that live processes use in `dir`, with one pid each; removes stale records. `othersOnly`: leave out
 * this process (a program cleaning the cache it has used itself decides for itself).
 */
export function namesInUse(dir: string, opts: { othersOnly?: boolean } = {}): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync(join(dir, IN_USE));
  } catch {
    return out;
  }
  for (const p of pids) {
    const pid = Number(p);
    const file = join(dir, IN_USE, p);
    if (!Number.isInteger(pid) || pid <= 0 || (opts.othersOnly && pid === process.pid)) continue;
    if (!processAlive(pid)) {
      rmSync(file, { force: true });
      continue;
    }
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    for (const name of text.split('\n')) if (name) out.set(name, pid);
  }
  return out;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
