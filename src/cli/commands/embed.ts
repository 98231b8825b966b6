import { limitsFromOptions } from '../../data/limits.js';
import { GraftError } from '../../errors.js';
import type { CommandContext, EmbedSettings } from '../commands.js';
import { progressRenderer } from '../progress.js';
import { countRenderer } from './run-progress.js';
import { resolve } from 'node:path';

export async function run({ app, options, args, io }: CommandContext<EmbedSettings>): Promise<number> {
  if (!options.out) {
    throw new GraftError('BAD_INPUT', "'graft embed' needs --out FILE", {
      expected: 'an output file ending in .npy, .jsonl or .csv',
      found: 'no --out',
      fix: `run e.g. \`graft embed ${args.DATA} --out features.npy\``,
    });
  }
  if ((await app.detectDataKind(resolve(io.cwd, args.DATA!), options.textField)) === 'text') {
    return embedTexts({ app, options, args, io });
  }
  for (const [key, flag] of [
    ['textField', 'text-field'],
    ['labelField', 'label-field'],
    ['maxTokens', 'max-tokens'],
  ] as const) {
    if (options[key] !== undefined) {
      throw new GraftError('BAD_INPUT', `--${flag} only applies to text data, and this data set holds images`, {
        found: `--${flag}`,
        fix: `drop --${flag}`,
      });
    }
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

/** Text data: one embedding per text from a text backbone (GloVe by default, or use_lite.en). */
async function embedTexts({ app, options, args, io }: CommandContext<EmbedSettings>): Promise<number> {
  for (const [key, flag] of [
    ['cut', 'cut'],
    ['resize', 'resize'],
  ] as const) {
    if (options[key] !== undefined) {
      throw new GraftError('BAD_INPUT', `--${flag} only applies to image data, and this data set holds texts`, {
        found: `--${flag}`,
        fix: `drop --${flag}`,
      });
    }
  }
  const bar = options.quiet ? undefined : countRenderer(io, 'embedding', 'texts');
  const r = await app.embedTexts({
    data: args.DATA!,
    out: options.out!,
    format: options.format,
    model: options.model,
    textField: options.textField,
    labelField: options.labelField,
    maxTokens: options.maxTokens,
    batchSize: options.extractBatch,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    modelsFile: options.modelsFile,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions(options),
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
  io.stdout.write(`${r.rows} x ${r.dim} embeddings (${r.model}) -> ${r.out}${r.index ? ` (rows: ${r.index})` : ''}\n`);
  io.stdout.write(`${r.textsPerSecond.toFixed(1)} texts/s, ${r.tokensPerSecond.toFixed(0)} tokens/s\n`);
  if (r.skipped.length) {
    io.stdout.write(`${r.skipped.length} text(s) left out:\n`);
    for (const b of r.skipped.slice(0, 20)) io.stdout.write(`  ${b.path}  (${b.reason})\n`);
  }
  return 0;
}
