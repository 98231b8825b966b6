import { limitsFromOptions } from '../../data/limits.js';
import { GraftError } from '../../errors.js';
import type { CommandContext, ExportSettings } from '../commands.js';

export async function run({ app, options, args, io }: CommandContext<ExportSettings>): Promise<number> {
  if (!options.out) {
    throw new GraftError('BAD_INPUT', "'graft export' needs --out PATH", {
      expected: 'the folder to write (or the file, for --format onnx)',
      found: 'no --out',
      fix: `run e.g. \`graft export ${args.MODEL} --out web/model\``,
    });
  }
  const text = (await app.classifierKind(args.MODEL!, io.cwd)) === 'text';
  const r = text
    ? await app.exportTextClassifier(args.MODEL!, options.out, options.format ?? 'onnx', io.cwd)
    : await app.exportClassifier(
        args.MODEL!,
        options.out,
        options.format ?? 'transformers.js',
        io.cwd,
        limitsFromOptions(options),
      );
  if (options.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else {
    io.stdout.write(`exported (${r.format}) to ${r.out}\n`);
    for (const f of r.files) io.stdout.write(`  ${f}\n`);
  }
  return 0;
}
