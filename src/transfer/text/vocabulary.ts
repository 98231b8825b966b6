import { GraftError } from '../../errors.js';
import type { Model } from '../../onnx/graph.js';
import { type WordTokenizerConfig, tokenizeWords } from './tokenizer.js';

/** Metadata key of the word list of word-vector models (the zoo's word-vector converter writes it). */
export const VOCABULARY_KEY = 'graft.vocabulary';

/**
 * Words <-> rows of an embedding table. Lookup falls back to the parts of a compound token the table
 * does not know ("spam-filter" -> "spam" "filter", "www.example.com" -> "www" "example" "com"); tokens
 * still unknown get no id.
 */
export class Vocabulary {
  readonly words: readonly string[];
  private readonly index: ReadonlyMap<string, number>;

  constructor(words: readonly string[]) {
    const index = new Map<string, number>();
    words.forEach((w, i) => {
      // a duplicate keeps its first (most frequent) row
      if (!index.has(w)) index.set(w, i);
    });
    this.words = words;
    this.index = index;
  }

  get size(): number {
    return this.words.length;
  }

  id(word: string): number | undefined {
    return this.index.get(word);
  }

  /** Appends the ids of `token` to `out`; returns how many tokens it had no id for (0 or more). */
  lookup(token: string, out: number[]): number {
    const id = this.index.get(token);
    if (id !== undefined) {
      out.push(id);
      return 0;
    }
    if (!/[-.,]/.test(token)) return 1;
    let unknown = 0;
    for (const part of token.split(/[-.,]+/)) {
      if (part === '') continue;
      const p = this.index.get(part);
      if (p === undefined) unknown++;
      else out.push(p);
    }
    return unknown;
  }

  /** Token ids of a text, at most `c.maxTokens` of them; unknown tokens are left out. */
  encode(text: string, c: WordTokenizerConfig): Int32Array {
    const ids: number[] = [];
    for (const tok of tokenizeWords(text, c)) {
      this.lookup(tok, ids);
      if (ids.length >= c.maxTokens) break;
    }
    return Int32Array.from(ids.length > c.maxTokens ? ids.slice(0, c.maxTokens) : ids);
  }
}

/** The vocabulary a word-vector model carries in its metadata (as written by the zoo's converter). */
export function vocabularyOf(model: Model, file?: string): Vocabulary {
  const raw = model.metadata.get(VOCABULARY_KEY);
  if (raw === undefined) {
    throw new GraftError('BAD_MODEL', 'The model carries no vocabulary', {
      file,
      expected: `a word-vector model with '${VOCABULARY_KEY}' in its metadata (e.g. glove.6b.100d from the zoo)`,
      found: `metadata keys: ${[...model.metadata.keys()].join(', ') || 'none'}`,
      fix: 'pull the word vectors with `graft zoo pull glove.6b.100d`, or use a sentence encoder with its tokenizer.json',
    });
  }
  let words: unknown;
  try {
    words = JSON.parse(raw);
  } catch (e) {
    words = e;
  }
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) {
    throw new GraftError('BAD_MODEL', 'The model vocabulary is not a JSON list of words', {
      file,
      value: VOCABULARY_KEY,
      expected: 'a JSON array of strings',
      found: raw.slice(0, 60),
      fix: 'pull or convert the model again',
    });
  }
  return new Vocabulary(words as string[]);
}

export interface VocabularyUsage {
  /** how often each row of the vocabulary is used by the texts (within the token limit) */
  rows: Map<number, number>;
  /** tokens (and parts of compounds) with no row, by count */
  unknown: Map<string, number>;
}

/** Which rows of `vocab` the texts use, and which tokens it lacks: the input to trimming a vocabulary. */
export function vocabularyUsage(texts: Iterable<string>, vocab: Vocabulary, c: WordTokenizerConfig): VocabularyUsage {
  const rows = new Map<number, number>();
  const unknown = new Map<string, number>();
  const ids: number[] = [];
  for (const t of texts) {
    let known = 0;
    for (const tok of tokenizeWords(t, c)) {
      ids.length = 0;
      if (vocab.lookup(tok, ids) > 0) {
        // the parts of a compound the vocabulary lacks, or the whole token
        const parts = /[-.,]/.test(tok) ? tok.split(/[-.,]+/).filter((p) => p && vocab.id(p) === undefined) : [tok];
        for (const p of parts) unknown.set(p, (unknown.get(p) ?? 0) + 1);
      }
      for (const id of ids) {
        if (known++ >= c.maxTokens) break;
        rows.set(id, (rows.get(id) ?? 0) + 1);
      }
      if (known >= c.maxTokens) break;
    }
  }
  return { rows, unknown };
}
