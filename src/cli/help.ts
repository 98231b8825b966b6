import type { AnyCommand } from './commands.js';
import type { AnyOptionTable } from './options.js';

/** Help is wrapped to this many columns when stdout is not a terminal (a pipe, a file, a test). */
export const DEFAULT_HELP_WIDTH = 100;
/** Wider terminals still get lines no longer than this: long lines are hard to read. */
export const MAX_HELP_WIDTH = 120;
const MIN_HELP_WIDTH = 40;
/** Flags longer than this (or than 30% of the width) start their description on the next line. */
const MAX_NAME_COLUMN = 30;

/** The width help wraps to: the terminal's columns (at most MAX_HELP_WIDTH), else $COLUMNS, else 100. */
export function helpWidth(
  out: { isTTY?: boolean; columns?: number } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const fromEnv = Number(env.COLUMNS);
  const columns = out.isTTY && out.columns ? out.columns : Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 0;
  if (!columns) return DEFAULT_HELP_WIDTH;
  return Math.max(MIN_HELP_WIDTH, Math.min(MAX_HELP_WIDTH, columns));
}

export function generalHelp(commands: readonly AnyCommand[], group?: string[], width = helpWidth()): string {
  const shown = group ? commands.filter((c) => group.every((w, i) => c.path[i] === w)) : commands;
  const lines = [
    'graft — transfer learning on ONNX models',
    '',
    `Usage: graft ${group ? `${group.join(' ')} ` : ''}<command> [options]`,
    '',
    'Commands:',
    ...columns(
      shown.map((c) => [usageLine(c), c.summary]),
      width,
    ),
    '',
    ...wrap('Run `graft <command> --help` for its options. Exit codes: 0 success, 1 failure, 2 bad usage.', width),
    ...wrap('Set GRAFT_DEBUG=1 to see stack traces of unexpected errors.', width),
  ];
  return `${lines.join('\n')}\n`;
}

export function commandHelp(c: AnyCommand, width = helpWidth()): string {
  const table = c.options as AnyOptionTable;
  const flags: [string, string][] = Object.values(table).map((s) => {
    const text = `${s.description}${s.env ? ` [env ${s.env}]` : ''}`;
    if (s.type === 'boolean') return [`${s.short ? `-${s.short}, ` : ''}--${s.flag}`, text];
    let value = s.placeholder ?? s.type.toUpperCase();
    let described = text;
    if (s.type === 'enum' && !s.placeholder) {
      const choices = s.choices!;
      value = choices.join('|');
      // a long list of choices would push every description far right: name it, and list the choices in
      // the description unless it already names each of them
      if (value.length > MAX_NAME_COLUMN - s.flag.length - 3) {
        value = s.flag.toUpperCase().replace(/-/g, '_');
        if (!choices.every((ch) => text.includes(ch))) described = `${text} (one of: ${choices.join(', ')})`;
      }
    }
    return [`${s.short ? `-${s.short}, ` : ''}--${s.flag} ${value}`, described];
  });
  flags.push(['-h, --help', 'show this help']);
  const lines = [
    ...wrap(`Usage: ${usageLine(c)} [options]`, width),
    '',
    ...wrap(c.summary, width),
    ...(c.args.length
      ? [
          '',
          'Arguments:',
          ...columns(
            c.args.map((a) => [a.name, a.description]),
            width,
          ),
        ]
      : []),
    '',
    'Options:',
    ...columns(flags, width),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.flatMap((e) => wrapCommand(e, width))] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Two columns, indented by two: names on the left, descriptions wrapped to `width` on the right with
 * continuation lines aligned under the description. A name wider than the column gets a line of its own.
 */
export function columns(rows: readonly (readonly [string, string])[], width: number): string[] {
  const nameWidth = Math.min(
    MAX_NAME_COLUMN,
    Math.floor(width * 0.3),
    Math.max(0, ...rows.map(([name]) => name.length)),
  );
  const indent = 2 + nameWidth + 2;
  const textWidth = Math.max(20, width - indent);
  const out: string[] = [];
  for (const [name, text] of rows) {
    const wrapped = wrap(text, textWidth);
    if (name.length > nameWidth) {
      out.push(`  ${name}`);
      for (const line of wrapped) out.push(`${' '.repeat(indent)}${line}`);
      continue;
    }
    wrapped.forEach((line, i) =>
      out.push(i === 0 ? `  ${name.padEnd(nameWidth)}  ${line}` : `${' '.repeat(indent)}${line}`),
    );
  }
  return out;
}

/** Word-wraps `text` to lines of at most `width` characters (a single longer word keeps its own line). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

/**
 * An example command, indented by two, broken before `width` with shell line continuations so that the
 * lines still paste as one command. One with a quoted argument containing spaces stays on one line.
 */
export function wrapCommand(command: string, width: number): string[] {
  if (2 + command.length <= width || /(['"])[^'"]*\s[^'"]*\1/.test(command)) return [`  ${command}`];
  // a flag and its value stay together
  const words: string[] = [];
  for (const w of command.split(' ').filter(Boolean)) {
    const prev = words[words.length - 1];
    if (prev?.startsWith('-') && !prev.includes(' ') && !w.startsWith('-')) words[words.length - 1] = `${prev} ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let line = `  ${words.shift()!}`;
  for (const word of words) {
    // room for ' \' after the word on every line but the last
    if (line.length + 1 + word.length + 2 > width && line.trim()) {
      lines.push(`${line} \\`);
      line = `      ${word}`;
    } else line = `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

function usageLine(c: AnyCommand): string {
  const arg = (a: AnyCommand['args'][number]) => {
    const name = a.variadic ? `${a.name}...` : a.name;
    return a.optional ? `[${name}]` : name;
  };
  return ['graft', ...c.path, ...c.args.map(arg)].join(' ');
}
