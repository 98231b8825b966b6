import { GraftError } from '../errors.js';
import { closestNames, didYouMean } from '../util/suggest.js';
import { COMMANDS, type AnyCommand } from './commands.js';
import type { AnyOptionTable } from './options.js';

export type ParsedCli =
  | {
      kind: 'run';
      command: AnyCommand;
      options: Record<string, unknown>;
      args: Record<string, string | undefined>;
      /** every value of a trailing variadic argument (FILES...), in order */
      rest: string[];
    }
  | { kind: 'help'; command?: AnyCommand; group?: string[] }
  | { kind: 'version' };

/**
 * Parses argv (without the node and script paths) against the command table. Pure: no environment, no
 * I/O. Unknown commands and flags, missing values and bad numbers are GraftError('BAD_INPUT') naming the
 * valid choices.
 */
export function parseCli(argv: readonly string[], commands: readonly AnyCommand[] = COMMANDS): ParsedCli {
  const words: string[] = [];
  let i = 0;
  for (; i < argv.length && !argv[i]!.startsWith('-'); i++) words.push(argv[i]!);
  const rest = argv.slice(i);
  if (words.length === 0) {
    if (rest.includes('--version') || rest.includes('-v')) return { kind: 'version' };
    if (rest.length === 0 || rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  }
  const command = longestMatch(words, commands);
  if (!command) {
    const group = commands.filter(
      (c) => words.length > 0 && c.path.length > words.length - 1 && c.path[0] === words[0],
    );
    if (words.length === 1 && group.length) return { kind: 'help', group: [words[0]!] };
    throw unknownCommand(words, argv, commands);
  }
  const positionals = words.slice(command.path.length);
  const table: AnyOptionTable = command.options;
  const byFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    byFlag.set(spec.flag, key);
    if (spec.short) byFlag.set(spec.short, key);
  }
  const options: Record<string, unknown> = {};
  let help = false;
  for (let j = 0; j < rest.length; j++) {
    const tok = rest[j]!;
    if (tok === '--') {
      positionals.push(...rest.slice(j + 1));
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      positionals.push(tok);
      continue;
    }
    if (tok === '--help' || tok === '-h') {
      help = true;
      continue;
    }
    const long = tok.startsWith('--');
    let name = long ? tok.slice(2) : tok.slice(1);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (long && eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let negated = false;
    let key = byFlag.get(name);
    if (
      key === undefined &&
      long &&
      name.startsWith('no-') &&
      table[byFlag.get(name.slice(3)) ?? '']?.type === 'boolean'
    ) {
      key = byFlag.get(name.slice(3));
      negated = true;
    }
    if (key === undefined) throw unknownFlag(tok, command, table);
    const spec = table[key]!;
    if (spec.type === 'boolean') {
      if (inline !== undefined && !/^(true|false)$/.test(inline)) {
        throw bad(command, `--${spec.flag}`, 'true or false (or no value)', inline);
      }
      options[key] = negated ? false : inline !== 'false';
      continue;
    }
    const value = inline ?? rest[++j];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw bad(command, `--${spec.flag}`, `a value (${spec.placeholder ?? spec.type})`, 'nothing');
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || (spec.integer && !Number.isInteger(n)) || (spec.min !== undefined && n < spec.min)) {
        const want = `${spec.integer ? 'an integer' : 'a number'}${spec.min !== undefined ? ` >= ${spec.min}` : ''}`;
        throw bad(command, `--${spec.flag}`, want, value);
      }
      options[key] = n;
    } else if (spec.type === 'enum') {
      if (!spec.choices!.includes(value)) {
        const near = closestNames(value, spec.choices!);
        throw bad(command, `--${spec.flag}`, `one of ${spec.choices!.join(', ')}`, value, didYouMean(near));
      }
      options[key] = value;
    } else options[key] = value;
  }
  if (help) return { kind: 'help', command };
  const args: Record<string, string | undefined> = {};
  command.args.forEach((a, k) => (args[a.name] = positionals[k]));
  const last = command.args[command.args.length - 1];
  const variadic = last?.variadic ? positionals.slice(command.args.length - 1) : [];
  const missing = command.args.find((a) => !a.optional && args[a.name] === undefined);
  if (missing) {
    throw new GraftError('BAD_INPUT', `'graft ${command.path.join(' ')}' needs ${missing.name}`, {
      expected: `${missing.name}: ${missing.description}`,
      found: 'nothing',
      fix: `run \`graft ${command.path.join(' ')} --help\``,
    });
  }
  if (positionals.length > command.args.length && !last?.variadic) {
    throw new GraftError('BAD_INPUT', `Too many arguments for 'graft ${command.path.join(' ')}'`, {
      expected: command.args.map((a) => a.name).join(' ') || 'no arguments',
      found: positionals.join(' '),
      fix: "quote globs ('mobilenet*') so the shell does not expand them",
    });
  }
  return { kind: 'run', command, options, args, rest: variadic };
}

function longestMatch(words: string[], commands: readonly AnyCommand[]): AnyCommand | undefined {
  let best: AnyCommand | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, k) => words[k] === w)) {
      if (!best || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}

function unknownCommand(words: string[], argv: readonly string[], commands: readonly AnyCommand[]): GraftError {
  const valid = [...new Set(commands.map((c) => c.path.join(' ')))];
  // the command is the first one to three words; what follows may be its arguments
  const suggestions = [1, 2, 3]
    .filter((n) => n <= words.length)
    .flatMap((n) =>
      closestNames(
        words.slice(0, n).join(' '),
        valid.filter((v) => v.split(' ').length === n),
      ),
    )
    .slice(0, 3)
    .map((v) => `graft ${v}`);
  const hint = didYouMean(suggestions);
  return new GraftError('BAD_INPUT', `Unknown command 'graft ${words.join(' ')}'${hint ? `: ${hint}` : ''}`, {
    found: words.join(' ') || argv.join(' '),
    choices: valid,
    fix: 'run `graft --help` for the list of commands',
  });
}

function unknownFlag(tok: string, command: AnyCommand, table: AnyOptionTable): GraftError {
  const flags = [...Object.values(table).map((s) => `--${s.flag}`), '--help'];
  const name = tok.replace(/=.*$/, '');
  const near = name.startsWith('--')
    ? closestNames(
        name.slice(2),
        flags.map((f) => f.slice(2)),
      ).map((f) => `--${f}`)
    : [];
  const hint = didYouMean(near, '');
  const usage = `graft ${command.path.join(' ')}`;
  return new GraftError('BAD_INPUT', `Unknown option ${name} for '${usage}'${hint ? `: ${hint}` : ''}`, {
    found: name,
    // the nearest flags when there are any; the whole table only when nothing is close
    choices: near.length ? near : flags,
    fix: `run \`${usage} --help\` for all its options`,
  });
}

function bad(command: AnyCommand, flag: string, expected: string, found: string, hint = ''): GraftError {
  return new GraftError(
    'BAD_INPUT',
    `Bad value for ${flag} of 'graft ${command.path.join(' ')}'${hint ? `: ${hint}` : ''}`,
    {
      expected,
      found,
      fix: `run \`graft ${command.path.join(' ')} --help\``,
    },
  );
}
