import type { CommandContext, ZooPullSettings } from '../commands.js';
import { formatBytes, progressRenderer } from '../progress.js';

export async function run({ app, options, args, io }: CommandContext<ZooPullSettings>): Promise<number> {
  const r = await app.pullZooModel(args.NAME!, {
    modelsFile: options.modelsFile,
    cacheDir: options.cacheDir,
    offline: options.offline,
    refresh: options.refresh,
    maxWords: options.maxWords,
    env: io.env,
    cwd: io.cwd,
    onEvent: options.quiet ? undefined : progressRenderer(io),
  });
  for (const w of r.warnings) io.stderr.write(`warning: ${w}\n`);
  if (options.json) {
    const { entry: _entry, ...rest } = r;
    io.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    return 0;
  }
  const how = r.cached
    ? 'from the cache (no network)'
    : `${r.downloadedBytes ? `downloaded ${formatBytes(r.downloadedBytes)}` : 'no download'}${r.converted ? ', converted to ONNX' : ''}`;
  io.stdout.write(`${r.name}: ${how}\n`);
  io.stdout.write(`  model   ${r.modelPath}\n  sha256  ${r.sha256}\n  size    ${formatBytes(r.size)}\n`);
  if (r.labels) io.stdout.write(`  labels  ${r.labels.length} classes\n`);
  return 0;
}
