// Every flag of every command, driven through runCli against a recording App: a flag the command parses
// but never hands to its recipe (or uses itself) fails here. Generated from the command tables, so a new
// flag is covered the day it is added.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../app/index.js';
import { type DataKind, STRATEGIES, type Strategy, strategyNames } from '../transfer/strategies/index.js';
import { type AnyCommand, COMMANDS } from './commands.js';
import { memoryIo } from './io.js';
import type { AnyOptionTable } from './options.js';
import { runCli } from './run.js';
import { DATA_KIND_OPTIONS } from './train-flags.js';

interface Call {
  recipe: string;
  args: unknown[];
}

class Stop extends Error {}

/** An App whose recipes record their call and stop the command (detectDataKind answers from the path). */
function recordingApp(calls: Call[]): App {
  return new Proxy({} as App, {
    get:
      (_t, recipe: string) =>
      async (...args: unknown[]) => {
        calls.push({ recipe, args });
        if (recipe === 'detectDataKind') return String(args[0]).endsWith('.csv') ? 'text' : 'image';
        if (recipe === 'classifierKind') return String(args[0]).includes('text-model') ? 'text' : 'image';
        throw new Stop('recorded');
      },
  });
}

async function callsOf(argv: string[]): Promise<{ calls: Call[]; err: string; out: string }> {
  const calls: Call[] = [];
  const io = memoryIo({ HOME: '/nonexistent' }, '/work-dir');
  await runCli(argv, io, COMMANDS, recordingApp(calls));
  return {
    calls: calls.filter((c) => c.recipe !== 'detectDataKind' && c.recipe !== 'classifierKind'),
    err: io.err,
    out: io.out,
  };
}

/** Flags the CLI itself acts on rather than passing them to a recipe, with how their effect shows. */
const CLI_LEVEL = new Set(['json', 'quiet']);

/** String flags the CLI parses itself: a valid text, and a value of what it becomes. */
const PARSED: Record<string, { text: string; value: unknown }> = {
  fractions: { text: '5,37', value: 0.37 },
  strategies: { text: 'knn,prototype', value: 'prototype' },
  // a count of seeds becomes the seeds 0..N-1
  seeds: { text: '8', value: 7 },
  // MiB become the byte caps of image and text files
  maxFileMb: { text: '3', value: 3 * 1024 * 1024 },
};

/** A value the flag accepts that no default equals, and that can be found again in what the recipe got. */
function sentinel(spec: AnyOptionTable[string], key: string): { argv: string[]; value: unknown } {
  const parsed = PARSED[key];
  if (parsed) return { argv: [`--${spec.flag}`, parsed.text], value: parsed.value };
  switch (spec.type) {
    case 'boolean':
      return { argv: [`--${spec.flag}`], value: true };
    case 'number': {
      // fractions (val/test splits, dropout) must stay below 1; counts must be whole numbers above their minimum
      const v = spec.integer ? Math.max(spec.min ?? 0, 0) + 7 : (spec.min ?? 0) + 0.37;
      return { argv: [`--${spec.flag}`, String(v)], value: v };
    }
    case 'enum': {
      const v = spec.choices![spec.choices!.length - 1]!;
      return { argv: [`--${spec.flag}`, v], value: v };
    }
    case 'string': {
      const v = `sentinel-${key}`;
      return { argv: [`--${spec.flag}`, v], value: v };
    }
  }
}

/** Whether `value` occurs anywhere in what the recipes received (keys may be renamed on the way). */
function reaches(calls: Call[], value: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (v: unknown): boolean => {
    if (v === value) return true;
    if (typeof value === 'string' && typeof v === 'string' && v.includes(value)) return true;
    if (v === null || typeof v !== 'object' || seen.has(v)) return false;
    seen.add(v);
    return Object.values(v as Record<string, unknown>).some(walk);
  };
  return calls.some((c) => c.args.some(walk));
}

/** Flags of predict, eval and embed that only text models or text data read. */
const TEXT_ONLY: Record<string, readonly string[]> = {
  predict: ['text', 'textField'],
  eval: ['textField', 'labelField'],
  embed: ['textField', 'labelField', 'maxTokens'],
};

/** The positional arguments a command needs, and for graft train the data and strategy a flag applies to. */
function invocation(c: AnyCommand, key: string): string[] {
  const path = c.path.join(' ');
  // flags only text models or text data take: predict, eval and export dispatch on the model, embed on the data
  const text = TEXT_ONLY[path]?.includes(key) ?? false;
  const positional = c.args
    .filter((a) => !a.optional || a.name === 'DATA' || a.variadic)
    .map((a) =>
      a.name === 'DATA'
        ? text
          ? 'texts.csv'
          : 'photos'
        : a.name === 'MODEL' && text
          ? 'text-model.onnx'
          : `x-${a.name}`,
    );
  if (path !== 'train') return [...c.path, ...positional];
  // a resumed run takes its data and settings from the run folder
  if (key === 'resume') return ['train'];
  const kind: DataKind =
    DATA_KIND_OPTIONS.text.includes(key) ||
    key === 'fineTuneEmbeddings' ||
    key === 'keepTopWords' ||
    key === 'newWordMinCount'
      ? 'text'
      : 'image';
  const data = kind === 'text' ? 'texts.csv' : 'photos';
  const taker = STRATEGIES.find((s) => (s.options as Strategy['options'])[kind]?.includes(key));
  const strategy = key === 'strategy' || !taker ? [] : ['--strategy', taker.name];
  return ['train', data, ...strategy];
}

for (const c of COMMANDS) {
  const path = c.path.join(' ');
  test(`graft ${path}: every flag reaches its recipe`, async () => {
    for (const [key, spec] of Object.entries(c.options)) {
      if (CLI_LEVEL.has(key)) continue;
      const base = invocation(c, key);
      const required = path !== 'train' && key !== 'out' && 'out' in c.options ? ['--out', 'sentinel-out-dir'] : [];
      const trainOut = path === 'train' && key !== 'out' && key !== 'resume' ? ['--out', 'sentinel-run'] : [];
      const { argv, value } = sentinel(spec, key);
      const r = await callsOf([...base, ...required, ...trainOut, ...argv]);
      assert.ok(r.calls.length > 0, `graft ${path} --${spec.flag}: no recipe was called\n${r.err}`);
      assert.ok(
        reaches(r.calls, value),
        `graft ${path} --${spec.flag} ${String(value)}: the value never reached ${r.calls.map((x) => x.recipe).join(', ')}\n${JSON.stringify(
          r.calls.map((x) => x.args),
          null,
          1,
        ).slice(0, 1500)}`,
      );
    }
  });
}

test('--json and --quiet: JSON on stdout, and stderr holds only the error, for every command that has them', async () => {
  for (const c of COMMANDS) {
    if (!('json' in c.options)) continue;
    const base = invocation(c, 'json');
    const out = 'out' in c.options ? ['--out', 'sentinel-out-dir'] : [];
    const r = await callsOf([...base, ...out, '--json', '--quiet']);
    // the recording recipe stops the command with an unexpected error: --json still prints it as JSON
    assert.doesNotThrow(() => JSON.parse(r.out), `graft ${c.path.join(' ')} --json: ${r.out}`);
    const stray = r.err.split('\n').filter((l) => l && !/^error: |^ {2}hint: /.test(l));
    assert.deepEqual(stray, [], `graft ${c.path.join(' ')} --quiet printed more than the error`);
  }
});

test('the strategy choices of graft train are the registry', () => {
  const train = COMMANDS.find((c) => c.path.join(' ') === 'train')!;
  assert.deepEqual(train.options.strategy!.choices, strategyNames());
});
