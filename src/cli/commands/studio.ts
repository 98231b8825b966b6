import { untilStopSignal } from '../io.js';
import type { CommandContext, StudioCliSettings } from '../commands.js';

export async function run({ app, options, io }: CommandContext<StudioCliSettings>): Promise<number> {
  const studio = await app.startStudio({
    host: options.host,
    port: options.port,
    open: options.open,
    cacheDir: options.cacheDir,
    modelsFile: options.modelsFile,
    env: io.env,
    cwd: io.cwd,
  });
  if (options.json) {
    const info = {
      url: studio.url,
      host: studio.host,
      port: studio.port,
      tokenRequired: studio.tokenRequired,
      models: studio.models.map((m) => m.name),
    };
    io.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    io.stdout.write(`Graft Studio: ${studio.url}\n`);
    if (!options.quiet) {
      const models = studio.models.length
        ? `cached models offered: ${studio.models.map((m) => m.name).join(', ')}`
        : 'no zoo model is cached yet (graft zoo pull NAME); the page also takes an .onnx file';
      io.stderr.write(
        `  ${models}\n  ${studio.tokenRequired ? 'requests without the token in this URL are refused; ' : ''}images stay in the browser; Ctrl-C stops\n`,
      );
    }
  }
  // until SIGINT or SIGTERM
  await untilStopSignal();
  await studio.close();
  if (!options.quiet && !options.json) io.stderr.write('stopped\n');
  return 0;
}
