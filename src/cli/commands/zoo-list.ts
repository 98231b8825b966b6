import type { CommandContext } from '../commands.js';
import type { ZooListSettings } from '../commands.js';
import { table } from './text.js';

export async function run({ app, options, args, io }: CommandContext<ZooListSettings>): Promise<number> {
  const models = await app.listZooModels(args.GLOB ?? '*', {
    modelsFile: options.modelsFile,
    env: io.env,
    cwd: io.cwd,
  });
  if (options.json) {
    const rows = models.map((m) => ({
      name: m.name,
      task: m.task,
      format: m.format,
      license: m.license,
      sources: m.sources.map((s) => s.uri),
      needsInternet: m.needsInternet,
      origin: m.origin,
      description: m.description,
    }));
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (models.length === 0) {
    io.stderr.write(`no model matches '${args.GLOB}' (try \`graft zoo list\`)\n`);
    return 1;
  }
  io.stdout.write(
    table(
      ['NAME', 'TASK', 'FORMAT', 'FROM', 'DESCRIPTION'],
      models.map((m) => [
        m.name,
        m.task,
        m.format,
        `${m.sources[0]!.uri.split(':')[0]}${m.needsInternet ? ' (internet)' : ''}`,
        m.description,
      ]),
    ),
  );
  return 0;
}
