import { GraftError } from '../../errors.js';
import type { CompareEvent, CompareResult } from '../../app/compare.js';
import { accuracySpread, wallTimes } from '../../report/compare.js';
import type { CommandContext, CompareSettings } from '../commands.js';
import { runSettings } from '../run-settings.js';
import type { CliIo } from '../io.js';
import { formatDuration } from '../progress.js';
import { trainEventRenderer } from './run-progress.js';

export async function run(ctx: CommandContext<CompareSettings>): Promise<number> {
  const { options, args, io } = ctx;
  const data = args.DATA!;
  if (!options.out) {
    throw new GraftError('BAD_INPUT', "'graft compare' needs --out DIR", {
      expected: 'the folder to write study.json, compare.html and the run folders to',
      found: 'no --out',
      fix: `run e.g. \`graft compare ${data} --strategies linear-probe,prototype --out runs/study\``,
    });
  }
  const strategies = splitList(options.strategies ?? 'linear-probe,prototype');
  const fractions = parsePercentages(options.fractions ?? '10,100');
  const seedCount = options.seeds ?? 1;
  const study = {
    data,
    out: options.out,
    strategies,
    fractions,
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    model: options.model,
    cut: options.cut,
    resize: options.resize,
    extractBatch: options.extractBatch,
    inputSize: options.inputSize,
    scratchInputSize: options.scratchInputSize,
    epochs: options.epochs,
    scratchEpochs: options.scratchEpochs,
    unfreeze: options.unfreeze,
    resume: options.resume,
    valSplit: options.valSplit,
    testSplit: options.testSplit,
    ...runSettings(options, io),
    onEvent: options.quiet ? undefined : compareRenderer(io),
  };
  if (options.shard !== undefined) {
    const r = await ctx.app.runCompareShard({ ...study, shard: options.shard, queue: options.queue });
    if (options.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else {
      const what = r.shard.alreadyDone ? 'had finished already' : `finished in ${seconds(r.seconds)}`;
      io.stdout.write(`shard ${r.shard.index}/${r.shard.count} ${what}: ${r.runs.length} runs in ${r.out}\n`);
      io.stdout.write(`when every shard has finished: graft merge ${options.out}\n`);
    }
    return 0;
  }
  const result = await ctx.app.runCompare({ ...study, queue: options.queue, queueName: options.queueName });
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({ studyFile: result.studyFile, reportFile: result.reportFile, seconds: result.seconds, accuracy: accuracySpread(result.study), study: result.study }, null, 2)}\n`,
    );
  } else printTable(io, result);
  return 0;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** '1,5,10,100' (percent of the labelled images) -> [0.01, 0.05, 0.1, 1] */
export function parsePercentages(text: string): number[] {
  const parts = splitList(text);
  const bad = parts.filter((p) => !/^\d+(\.\d+)?$/.test(p) || !(Number(p) > 0 && Number(p) <= 100));
  if (parts.length === 0 || bad.length) {
    throw new GraftError('BAD_INPUT', '--fractions takes percentages of the labelled images in (0, 100]', {
      found: text,
      expected: 'a comma-separated list such as 1,5,10,25,100',
      fix: 'use e.g. --fractions 10,100',
    });
  }
  return parts.map((p) => Number(p) / 100);
}

function compareRenderer(io: CliIo): (e: CompareEvent) => void {
  const train = trainEventRenderer(io, false);
  return (e) => {
    switch (e.type) {
      case 'data':
        io.stderr.write(`study data: ${e.classes} classes, ${e.train} labelled images, ${e.test} test images\n`);
        break;
      case 'run-start':
        io.stderr.write(
          `[${e.index}/${e.total}] ${e.strategy} on ${pctText(e.fraction)} of the labelled images, seed ${e.seed}\n`,
        );
        break;
      case 'run-done':
        io.stderr.write(
          `[${e.index}/${e.total}]${e.resumed ? ' kept from the interrupted study:' : ''} test accuracy ${(100 * e.run.testAcc).toFixed(2)}%  (${e.run.perClass.toFixed(1)} per class, ${seconds(e.run.seconds)})\n`,
        );
        break;
      case 'queue':
        io.stderr.write(
          `queue: ${e.done}/${e.total} runs done, ${e.active} running, ${e.waiting} waiting for a worker\n`,
        );
        break;
      case 'study-done':
        break;
      case 'train':
        // Only the feature extraction is worth showing per run: epoch lines of dozens of runs would drown it.
        if (e.event.type === 'extract' || e.event.type === 'extract-done') train(e.event);
        break;
    }
  };
}

function seconds(s: number): string {
  return s < 60 ? `${s.toFixed(2)}s` : formatDuration(s);
}

function pctText(f: number): string {
  return `${Number((100 * f).toFixed(2))}%`;
}

export function printTable(io: CliIo, r: CompareResult): void {
  const w = (s: string) => io.stdout.write(`${s}\n`);
  const { study } = r;
  const acc = accuracySpread(study);
  const times = wallTimes(study);
  const seedsText = study.seeds.length === 1 ? '1 seed' : `${study.seeds.length} seeds (mean ± half the range)`;
  w(`test accuracy on ${study.model}, ${seedsText}`);
  const cell = (strategy: string, fraction: number) => {
    const p = acc.find((a) => a.strategy === strategy && a.fraction === fraction);
    if (!p) return '-';
    const mean = `${(100 * p.mean).toFixed(1)}%`;
    return p.n > 1 ? `${mean} ±${((100 * (p.max - p.min)) / 2).toFixed(1)}` : mean;
  };
  const heads = study.fractions.map((f) => {
    const p = acc.find((a) => a.fraction === f);
    return `${pctText(f)} (${p ? p.perClass.toFixed(0) : '?'}/cl)`;
  });
  const first = Math.max(8, ...study.strategies.map((s) => s.length));
  const rows = study.strategies.map((s) => [s, ...study.fractions.map((f) => cell(s, f))]);
  const widths = [first, ...heads.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i + 1]!.length)))];
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ');
  w(line(['strategy', ...heads]));
  for (const row of rows) w(line(row));
  w('wall time per run (mean over fractions and seeds)');
  for (const s of study.strategies) {
    const own = times.filter((t) => t.strategy === s);
    const mean = own.reduce((sum, t) => sum + t.mean, 0) / Math.max(1, own.length);
    w(`  ${s.padEnd(first)}  ${seconds(mean)}`);
  }
  w(`study   ${r.studyFile}`);
  w(`report  ${r.reportFile}`);
}
