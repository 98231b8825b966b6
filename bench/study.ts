// The study runner behind `npm run bench -- fashion-study` and `glyph-study`: runs `runCompare` (the code
// behind `graft compare`) on a prepared data folder, prints the equivalent command, publishes the results
// on request, and tabulates test accuracy per strategy and data size.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STUDY_RUN_FILE, readStudyRun, runCompare, studyRunName, writeStudy } from '../src/app/compare.js';
import { accuracySpread, parseStudy, studyAccuracySvg, wallTimes } from '../src/report/compare.js';
import type { BenchContext, BenchResult } from './harness.js';

export function arg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export interface StudyDefaults {
  name: string;
  strategies: string;
  /** default --out folder name under the temporary folder */
  out: string;
  /** what the data folder holds, for the notes */
  dataNote: string;
  /** default --fractions (percentages of the pool) */
  fractions: string;
}

export async function runStudy(ctx: BenchContext, data: string, d: StudyDefaults): Promise<BenchResult> {
  const a = (name: string, dflt: string) => arg(ctx.args, name) ?? dflt;
  const num = (name: string) => (arg(ctx.args, name) === undefined ? undefined : Number(arg(ctx.args, name)));
  const strategies = a('strategies', d.strategies).split(',');
  const fractionsText = a('fractions', d.fractions);
  const seedCount = Number(a('seeds', '3'));
  const inputSize = Number(a('input-size', '96'));
  const scratchInputSize = Number(a('scratch-input-size', '32'));
  // each block strategy's own default unless given (the issue 6 study ran --unfreeze=last:2)
  const unfreeze = arg(ctx.args, 'unfreeze');
  const epochs = num('epochs');
  const scratchEpochs = num('scratch-epochs');
  const threads = num('threads');
  const out = a('out', join(tmpdir(), d.out));
  const resume = !ctx.args.includes('--fresh');

  const command =
    `graft compare ${data} --strategies ${strategies.join(',')} --fractions ${fractionsText} --seeds ${seedCount}` +
    ` --input-size ${inputSize} --scratch-input-size ${scratchInputSize}` +
    (unfreeze ? ` --unfreeze ${unfreeze}` : '') +
    (epochs ? ` --epochs ${epochs}` : '') +
    (scratchEpochs ? ` --scratch-epochs ${scratchEpochs}` : '') +
    (threads ? ` --threads ${threads}` : '') +
    ` --out ${out}${resume ? ' --resume' : ''}`;
  ctx.log(command);
  const started = Date.now();
  let lastTenth = -1;
  // --join: no training; study.json and compare.html from the runs that finished in the study folder (a study
  // split over processes with --seed-list/--fractions; the report lists the runs still missing)
  const joined = ctx.args.includes('--join') ? await joinStudy(out, strategies, fractionsText, seedCount) : undefined;
  const result =
    joined ??
    (await runCompare({
      data,
      out,
      strategies,
      fractions: fractionsText.split(',').map((p) => Number(p) / 100),
      // --seed-list=2 runs only those seeds (to split a study over processes; a last pass with --seeds joins them)
      seeds: arg(ctx.args, 'seed-list')?.split(',').map(Number) ?? Array.from({ length: seedCount }, (_, i) => i),
      inputSize,
      scratchInputSize,
      unfreeze,
      epochs,
      scratchEpochs,
      threads,
      resume,
      onEvent: (e) => {
        const elapsed = `${((Date.now() - started) / 60000).toFixed(1)} min`;
        if (e.type === 'run-start')
          ctx.log(`[${e.index}/${e.total}] ${e.strategy} ${e.fraction * 100}% seed ${e.seed} (${elapsed})`);
        if (e.type === 'run-done')
          ctx.log(
            `[${e.index}/${e.total}] ${e.run.strategy}: test ${(100 * e.run.testAcc).toFixed(2)}% at ${e.run.perClass} per class, ${e.run.seconds.toFixed(1)} s${e.resumed ? ' (kept)' : ''}`,
          );
        if (e.type === 'train' && e.event.type === 'extract') {
          const p = e.event.progress;
          const tenth = Math.floor((10 * p.done) / p.total);
          if (tenth !== lastTenth) {
            lastTenth = tenth;
            ctx.log(`  features ${p.done}/${p.total} ${p.rate.toFixed(1)} img/s`);
          }
        }
        if (e.type === 'train' && e.event.type === 'stage') ctx.log(`  ${e.event.message}`);
      },
    }));

  const publish = arg(ctx.args, 'publish');
  if (publish) {
    mkdirSync(publish, { recursive: true });
    copyFileSync(result.studyFile, join(publish, 'study.json'));
    copyFileSync(result.reportFile, join(publish, 'compare.html'));
    writeFileSync(join(publish, 'accuracy.svg'), await studyAccuracySvg(result.study));
    ctx.log(`published study.json, compare.html and accuracy.svg to ${publish}`);
  }

  const times = wallTimes(result.study);
  const rows = accuracySpread(result.study).map((p) => {
    const t = times.find((x) => x.strategy === p.strategy && x.fraction === p.fraction);
    return {
      strategy: p.strategy,
      'per class': p.perClass,
      'fraction %': Number((100 * p.fraction).toFixed(2)),
      seeds: p.n,
      'test acc mean %': Number((100 * p.mean).toFixed(2)),
      'min %': Number((100 * p.min).toFixed(2)),
      'max %': Number((100 * p.max).toFixed(2)),
      'run s (mean)': t ? Number(t.mean.toFixed(1)) : '',
    };
  });
  return {
    name: d.name,
    rows,
    notes: [
      ...calibrationNotes(out, result.study.runs),
      command,
      `study ${result.studyFile}, report ${result.reportFile}, ${(result.seconds / 60).toFixed(1)} min in all`,
      `data: ${data} (${d.dataNote})`,
    ],
  };
}

/**
 * Per run (issue 13): the temperature the run chose and why, the test ECE at T = 1 and at that temperature,
 * and for `auto` the candidate it kept; read back from each run folder's metrics.json and run.json.
 */
function calibrationNotes(
  out: string,
  runs: readonly { strategy: string; fraction: number; seed: number; perClass: number }[],
) {
  const notes: string[] = [];
  for (const r of runs) {
    const dir = join(out, 'runs', studyRunName(r.strategy, r.fraction, r.seed));
    if (!existsSync(join(dir, 'metrics.json'))) continue;
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as {
      calibration?: {
        temperature: number;
        test?: { eceBefore: number; eceAfter: number };
        fit?: { method: string; examples: number; outcome: string; fitted?: number };
      };
    };
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { kept?: { phase?: string } };
    const c = m.calibration;
    if (!c?.test || !c.fit) continue;
    notes.push(
      `calibration ${r.strategy} ${r.perClass}/class seed ${r.seed}: T ${c.temperature.toFixed(3)} (${c.fit.outcome}` +
        `${c.fit.fitted !== undefined ? `, fit ${c.fit.fitted.toFixed(3)}` : ''}, ${c.fit.method} on ${c.fit.examples}), ` +
        `test ECE at T = 1 ${c.test.eceBefore.toFixed(4)}, at T ${c.test.eceAfter.toFixed(4)}` +
        (r.strategy === 'auto' && run.kept?.phase ? `; kept ${run.kept.phase}` : ''),
    );
  }
  return notes;
}

async function joinStudy(out: string, strategies: string[], fractionsText: string, seedCount: number) {
  const file = join(out, 'study.json');
  const { runs: _runs, createdAt: _created, ...header } = parseStudy(readFileSync(file, 'utf8'), file);
  const fractions = fractionsText.split(',').map((p) => Number(p) / 100);
  const seeds = Array.from({ length: seedCount }, (_, i) => i);
  const runs = fractions.flatMap((fraction) =>
    seeds.flatMap((seed) =>
      strategies.flatMap((strategy) => {
        const done = join(out, 'runs', studyRunName(strategy, fraction, seed), STUDY_RUN_FILE);
        return existsSync(done) ? [readStudyRun(done, { strategy, fraction, seed })] : [];
      }),
    ),
  );
  return { ...(await writeStudy({ ...header, strategies, fractions, seeds }, runs, out)), seconds: 0 };
}
