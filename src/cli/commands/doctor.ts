import type { DoctorRow } from '../../app/doctor.js';
import type { Device } from '../../runtime/session.js';
import type { CommandContext } from '../commands.js';
import type { OutputSettings } from '../options.js';
import { table } from './text.js';

export type DoctorSettings = OutputSettings & { device?: Device };

/** `graft doctor`: which execution providers can train here, and why not. */
export async function run({ app, options, io }: CommandContext<DoctorSettings>): Promise<number> {
  const rows = await app.checkProviders({
    device: options.device,
    env: io.env,
    onCheck: (provider) => {
      if (!options.quiet) io.stderr.write(`checking ${provider} ...\n`);
    },
  });
  if (options.json) io.stdout.write(`${JSON.stringify({ providers: rows }, null, 2)}\n`);
  else io.stdout.write(render(rows));
  // with --device: the exit status says whether that provider can train here
  return options.device && !rows.some((r) => r.usable) ? 1 : 0;
}

function render(rows: DoctorRow[]): string {
  const lines = table(
    ['PROVIDER', 'USABLE', 'GRADIENTS VS CPU', 'STEP', 'WHY NOT'],
    rows.map((r) => {
      const t = r.check?.selfTest;
      return [
        r.provider,
        r.usable ? 'yes' : 'no',
        !t ? '-' : r.device === 'cpu' ? 'reference' : `${t.worst.toExponential(1)} (${t.ok ? 'ok' : 'too far'})`,
        t ? `${t.stepMs < 10 ? t.stepMs.toFixed(1) : Math.round(t.stepMs)} ms` : '-',
        r.usable ? '' : (r.reason ?? ''),
      ];
    }),
  );
  const extra: string[] = [];
  for (const r of rows) {
    const bugs = (r.check?.probes ?? []).filter((p) => p.result !== 'ok');
    if (bugs.length) {
      extra.push(
        `${r.provider}: kernel bugs found (training graphs for it avoid them: ${bugs.every((b) => b.workedAround) ? 'all' : 'not all'})`,
      );
      for (const b of bugs) {
        extra.push(
          `  ${b.name}: ${b.result}${b.detail ? ` (${b.detail})` : ''}${b.workedAround ? ', worked around' : ', NOT worked around'}`,
        );
      }
    }
    if (r.fix && !r.usable) extra.push(`${r.provider}: fix: ${r.fix}`);
    if (r.note) extra.push(`${r.provider}: ${r.note}`);
  }
  return lines + (extra.length ? `\n${extra.join('\n')}\n` : '');
}
