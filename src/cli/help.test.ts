import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { COMMANDS } from './commands.js';
import { graftCommand } from './commands/demo.js';
import { DEFAULT_HELP_WIDTH, columns, commandHelp, generalHelp, helpWidth, wrap, wrapCommand } from './help.js';
import { memoryIo } from './io.js';
import { parseCli } from './parse.js';
import { runCli } from './run.js';

/** Lines wider than `width`, except a lone word that is wider by itself (a path in a description). */
const tooWide = (text: string, width: number) =>
  text.split('\n').filter((l) => l.length > width && l.trim().includes(' '));

test('help fits the width: every command, at 60, 80, 100 and 120 columns', () => {
  for (const width of [60, 80, 100, 120]) {
    assert.deepEqual(tooWide(generalHelp(COMMANDS, undefined, width), width), [], `graft --help at ${width}`);
    for (const c of COMMANDS) {
      assert.deepEqual(tooWide(commandHelp(c, width), width), [], `graft ${c.path.join(' ')} --help at ${width}`);
    }
  }
});

test('graft train --help: continuation lines align under the description, nothing is lost', () => {
  const train = COMMANDS.find((c) => c.path.join(' ') === 'train')!;
  const help = commandHelp(train, 80);
  const options = help.slice(help.indexOf('Options:\n') + 9, help.indexOf('\n\nExamples:')).split('\n');
  const first = options.find((l) => l.startsWith('  --json'))!;
  const column = first.indexOf('print results');
  assert.ok(column > 10);
  for (const line of options) {
    if (line.startsWith('  -')) {
      // a flag line: its description starts at the column (or, for a flag wider than it, on the next line)
      if (/\S {2,}\S/.test(line.slice(2))) assert.match(line.slice(column - 2, column + 1), /^ {2}\S$/, line);
    } else {
      assert.match(line, new RegExp(`^ {${column}}\\S`), `continuation not aligned: '${line}'`);
    }
  }
  // every word of every description is still there
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  const text = words(options.join(' '));
  for (const spec of Object.values(train.options as Record<string, { description: string }>)) {
    for (const w of words(spec.description)) assert.ok(text.includes(w), `'${w}' of '${spec.description}' is missing`);
  }
  // a long list of enum choices becomes a placeholder: the description already names each strategy
  assert.match(help, /^ {2}-s, --strategy STRATEGY +default linear-probe \(text: feature-extract\)\./m);
  assert.match(help, /--bn inference\|frozen\|train/, 'short choice lists stay inline');
});

test('helpWidth: the terminal (at most 120), else $COLUMNS, else 100', () => {
  assert.equal(helpWidth({ isTTY: true, columns: 90 }, {}), 90);
  assert.equal(helpWidth({ isTTY: true, columns: 250 }, {}), 120);
  assert.equal(helpWidth({ isTTY: true, columns: 20 }, {}), 40);
  assert.equal(helpWidth({ isTTY: false, columns: 250 }, {}), DEFAULT_HELP_WIDTH);
  assert.equal(helpWidth({}, { COLUMNS: '72' }), 72);
  assert.equal(helpWidth({}, { COLUMNS: 'wide' }), 100);
});

test('wrap, columns and wrapCommand', () => {
  assert.deepEqual(wrap('aa bb cc dd', 5), ['aa bb', 'cc dd']);
  assert.deepEqual(wrap('a verylongword b', 4), ['a', 'verylongword', 'b']);
  assert.deepEqual(columns([['--x', 'one two three four five six']], 27), [
    '  --x  one two three four',
    '       five six',
  ]);
  assert.deepEqual(columns([['--a-very-long-flag-name-beyond-thirty NAME', 'text']], 80), [
    '  --a-very-long-flag-name-beyond-thirty NAME',
    `${' '.repeat(28)}text`,
  ]);
  const cmd = 'graft compare photos/ --strategies scratch,linear-probe,fine-tune --fractions 1,5,10 --seeds 3 --out x';
  const lines = wrapCommand(cmd, 60);
  assert.ok(lines.length > 1 && lines.every((l) => l.length <= 60));
  assert.ok(
    lines.slice(0, -1).every((l) => l.endsWith(' \\')),
    'shell continuations',
  );
  assert.ok(!lines.some((l) => /--seeds$|--seeds \\$/.test(l)), 'a flag keeps its value on its line');
  assert.equal(
    lines
      .join('\n')
      .replace(/ \\\n +/g, ' ')
      .trim(),
    cmd,
    'the lines paste back into the command',
  );
  assert.deepEqual(wrapCommand(`graft predict "my photo.jpg" ${'x'.repeat(80)}`, 60).length, 1, 'quoted spaces');
});

test('graft train --help through runCli fits the width help chose', async () => {
  const io = memoryIo();
  assert.equal(await runCli(['train', '--help'], io), 0);
  assert.deepEqual(tooWide(io.out, helpWidth()), []);
});

function usageError(argv: string[]): GraftError {
  try {
    parseCli(argv);
  } catch (e) {
    if (e instanceof GraftError) return e;
    throw e;
  }
  assert.fail(`parseCli(${argv.join(' ')}) did not throw`);
}

test('a misspelt flag, command or value names the nearest instead of listing everything', () => {
  const flag = usageError(['train', 'x', '--stratgy', 'knn']);
  assert.match(flag.message, /^Unknown option --stratgy for 'graft train': did you mean --strategy\?/);
  assert.deepEqual(flag.fields.choices, ['--strategy']);
  assert.match(usageError(['train', 'x', '--strat', 'knn']).message, /did you mean --strategy\?/, 'a prefix');
  assert.match(usageError(['zoo', 'pull', 'x', '--ofline']).message, /did you mean --offline\?/);
  const secret = usageError(['train', 'x', '--stratgy=s3cr3t']);
  assert.ok(!secret.message.includes('s3cr3t'), 'the value of an unknown flag is not echoed');

  assert.match(
    usageError(['trian', 'photos/']).message,
    /^Unknown command 'graft trian photos\/': did you mean 'graft train'\?/,
  );
  assert.match(usageError(['zoo', 'lsit']).message, /did you mean 'graft zoo list'\?/);
  assert.match(usageError(['inpsect', 'm.onnx']).message, /did you mean 'graft inspect'\?/);

  const value = usageError(['train', 'x', '--strategy', 'fintune']);
  assert.match(value.message, /^Bad value for --strategy of 'graft train': did you mean 'fine-tune'\?/);
  assert.match(value.message, /expected: one of feature-extract, linear-probe/);
  assert.match(usageError(['train', 'x', '--strategy', 'linear_probe']).message, /did you mean 'linear-probe'\?/);
});

test('nothing close: no guess, and the valid choices are listed', () => {
  const flag = usageError(['train', 'x', '--frobnicate']);
  assert.doesNotMatch(flag.message, /did you mean/);
  assert.ok(flag.fields.choices!.includes('--strategy') && flag.fields.choices!.length > 30);
  const cmd = usageError(['xyz']);
  assert.doesNotMatch(cmd.message, /did you mean/);
  assert.ok(cmd.fields.choices!.includes('train'));
  assert.doesNotMatch(usageError(['train', 'x', '--strategy', 'zzz']).message, /did you mean/);
});

test("the demo's closing hint names a command that runs where the demo ran", () => {
  assert.equal(graftCommand({ npm_lifecycle_event: 'demo' }), 'npm run graft --');
  assert.equal(graftCommand({ npm_lifecycle_event: 'graft' }), 'npm run graft --');
  assert.equal(graftCommand({}), 'npx graft');
  assert.equal(graftCommand({ npm_lifecycle_event: 'npx' }), 'npx graft');
});
