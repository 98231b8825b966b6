// `npm run bench [-- name ...] [--json]`: runs the named benchmarks (all when none are named),
// prints each one's table and the machine it ran on. Every benchmark reports ratios measured side by
// side in one process, so the figures compare like with like on a noisy machine.
import { cpus, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchModule, BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const chosen = names.length ? names : available;
const unknown = chosen.filter((n) => !available.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}\n  valid choices: ${available.join(', ')}`);
  process.exit(2);
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const results: BenchResult[] = [];
for (const name of chosen) {
  const mod = (await import(join(here, `${name}.bench.ts`))) as BenchModule;
  if (!json) console.error(`\n== ${name}: ${mod.description}`);
  const r = await mod.run({ log: (s) => (json ? undefined : console.error(s)), args });
  results.push(r);
  if (!json) {
    console.log(`\n${name} (${new Date().toISOString().slice(0, 10)}, ${machine})`);
    console.table(r.rows);
    for (const n of r.notes ?? []) console.log(`  ${n}`);
  }
}
if (json) console.log(JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2));
