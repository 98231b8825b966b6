import { untilStopSignal } from '../io.js';
import { startServer } from '../../serve/server.js';
import { limitsFromOptions } from '../../data/limits.js';
import type { CommandContext, ServeCliSettings } from '../commands.js';

export async function run({ app, options, args, io }: CommandContext<ServeCliSettings>): Promise<number> {
  const prepared = await app.prepareServe({
    model: args.MODEL!,
    host: options.host,
    port: options.port,
    token: options.token,
    maxBatch: options.maxBatch,
    maxDelayMs: options.maxDelayMs,
    maxQueue: options.maxQueue,
    maxBodyMb: options.maxBody,
    bodyTimeout: options.bodyTimeout,
    top: options.top,
    session: { device: options.device, intraOpThreads: options.threads },
    limits: limitsFromOptions({ maxPixels: options.maxPixels, maxInputPixels: options.maxInputPixels }),
    env: io.env,
    cwd: io.cwd,
  });
  const server = await startServer(prepared);
  const { model, config } = prepared;
  if (options.json) {
    const info = {
      url: server.url,
      model: model.path,
      kind: model.kind,
      classes: model.labels.length,
      maxBatch: config.maxBatch,
      maxQueue: config.maxQueue,
      maxBodyBytes: config.maxBodyBytes,
      token: config.token !== undefined,
    };
    io.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    io.stdout.write(
      `serving ${model.path} (${model.kind}, ${model.labels.length} classes) at ${server.url}\n` +
        `  POST ${server.url}/predict   GET ${server.url}/healthz   GET ${server.url}/metrics\n`,
    );
    if (!options.quiet) {
      io.stderr.write(
        `  batches of up to ${config.maxBatch}, at most ${config.maxQueue} requests at once, bodies up to ${config.maxBodyBytes} bytes${config.token ? ', token required' : ''}; Ctrl-C stops\n`,
      );
    }
  }
  // until SIGINT or SIGTERM: then stop taking requests, answer those in flight, release the model
  await untilStopSignal();
  await server.close();
  if (!options.quiet && !options.json) io.stderr.write('stopped\n');
  return 0;
}
