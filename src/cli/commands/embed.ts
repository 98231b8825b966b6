import { limitsFromOptions } from '../../data/limits.js';
import { GraftError } from '../../errors.js';
import type { CommandContext, EmbedSettings } from '../commands.js';
import { progressRenderer } from '../progress.js';
import { countRenderer } from './run-progress.js';

export async function run({ app, options, args, io }: CommandContext<EmbedSettings>): Promise<number> {
  if (!options.out) {
    throw new GraftError('BAD_INPUT', "'graft embed' needs --out FILE", {
      expected: 'an output file ending in .npy, .jsonl or .csv',
      found: 'no --out',
      fix: `run e.g. \`graft embed ${args.DATA} --out features.npy\``,
    });
  }
  const bar = options.quiet ? undefined : countRenderer(io, 'features', 'img');
  const r = await app.embedImages({
    data: args.DATA!,
    out: options.out,
    format: options.format,
    model: options.model,
    cut: options.cut,
    resize: options.resize,
    batchSize: options.extractBatch,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    modelsFile: options.modelsFile,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
    shard: options.shard,
    env: io.env,
    cwd: io.cwd,
    onSourceEvent: options.quiet ? undefined : progressRenderer(io),
    onProgress: (p) => bar?.update(p),
  });
  bar?.end();
  if (options.json) {
    io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  if (r.shard?.alreadyDone) {
    io.stdout.write(`shard ${r.shard.index}/${r.shard.count} had finished already: ${r.rows} rows in ${r.out}\n`);
    return 0;
  }
  io.stdout.write(
    `${r.shard ? `shard ${r.shard.index}/${r.shard.count}: ` : ''}${r.rows} x ${r.dim} features (${r.model} at ${r.featureValue}) -> ${r.out}${r.index ? ` (rows: ${r.index})` : ''}\n`,
  );
  io.stdout.write(`${r.computed} computed, ${r.reused} from the cache\n`);
  if (r.shard) io.stdout.write(`when every shard has finished: graft merge ${options.out}\n`);
  if (r.skipped.length) {
    io.stdout.write(`${r.skipped.length} file(s) left out:\n`);
    for (const b of r.skipped.slice(0, 20)) io.stdout.write(`  ${b.path}  (${b.reason})\n`);
  }
  return 0;
}
