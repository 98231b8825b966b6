import type { AnyCommand } from './commands.js';
import type { AnyOptionTable } from './options.js';

export function generalHelp(commands: readonly AnyCommand[], group?: string[]): string {
  const shown = group ? commands.filter((c) => group.every((w, i) => c.path[i] === w)) : commands;
  const width = Math.max(...shown.map((c) => usageLine(c).length));
  const lines = [
    'graft — transfer learning on ONNX models',
    '',
    `Usage: graft ${group ? `${group.join(' ')} ` : ''}<command> [options]`,
    '',
    'Commands:',
    ...shown.map((c) => `  ${usageLine(c).padEnd(width)}  ${c.summary}`),
    '',
    'Run `graft <command> --help` for its options. Exit codes: 0 success, 1 failure, 2 bad usage.',
    'Set GRAFT_DEBUG=1 to see stack traces of unexpected errors.',
  ];
  return `${lines.join('\n')}\n`;
}

export function commandHelp(c: AnyCommand): string {
  const table = c.options as AnyOptionTable;
  const flags = Object.values(table).map((s) => {
    const names = `${s.short ? `-${s.short}, ` : ''}--${s.flag}${s.type === 'boolean' ? '' : ` ${s.placeholder ?? (s.type === 'enum' ? s.choices!.join('|') : s.type.toUpperCase())}`}`;
    return { names, text: `${s.description}${s.env ? ` [env ${s.env}]` : ''}` };
  });
  flags.push({ names: '-h, --help', text: 'show this help' });
  const w = Math.max(...flags.map((f) => f.names.length));
  const aw = Math.max(0, ...c.args.map((a) => a.name.length));
  const lines = [
    `Usage: ${usageLine(c)} [options]`,
    '',
    c.summary,
    ...(c.args.length ? ['', 'Arguments:', ...c.args.map((a) => `  ${a.name.padEnd(aw)}  ${a.description}`)] : []),
    '',
    'Options:',
    ...flags.map((f) => `  ${f.names.padEnd(w)}  ${f.text}`),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.map((e) => `  ${e}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function usageLine(c: AnyCommand): string {
  const arg = (a: AnyCommand['args'][number]) => {
    const name = a.variadic ? `${a.name}...` : a.name;
    return a.optional ? `[${name}]` : name;
  };
  return ['graft', ...c.path, ...c.args.map(arg)].join(' ');
}
