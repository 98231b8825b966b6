import { GraftError } from '../../errors.js';

/**
 * How raw text becomes word tokens for a word-vector model. It approximates the Stanford tokenizer GloVe
 * was trained on: lower-case, words of letters and digits (inner hyphens, dots, commas and apostrophes
 * kept so the vocabulary can decide), clitics split off ("don't" -> "do" "n't"), and every other symbol a
 * token of its own ("$", "!"). Stored in the exported model so prediction tokenizes exactly as training did.
 */
export interface WordTokenizerConfig {
  /** GloVe's vocabulary is lower-case */
  lowercase: boolean;
  /**
   * Raw e-mail messages: keep the header block, drop it, or keep only its Subject line. Headers carry
   * routing data (mailing-list addresses, relay hosts) that a classifier learns instead of the message.
   */
  emailHeaders: 'keep' | 'drop' | 'subject';
  /** replace HTML tags with spaces and decode common entities before splitting */
  stripHtml: boolean;
  /** punctuation and symbols become tokens ("$", "!", "%"); off: they only separate words */
  punctuation: boolean;
  /** known tokens kept per text (the first ones); the rest is cut off */
  maxTokens: number;
}

export const DEFAULT_WORD_TOKENIZER: Readonly<WordTokenizerConfig> = Object.freeze({
  lowercase: true,
  emailHeaders: 'keep',
  stripHtml: false,
  punctuation: true,
  maxTokens: 512,
});

const EMAIL_HEADER_MODES = ['keep', 'drop', 'subject'] as const;

/** A complete, checked tokenizer config from a partial one (user flags, or JSON read from a model). */
export function wordTokenizerConfig(partial: Partial<WordTokenizerConfig> = {}): WordTokenizerConfig {
  const c = { ...DEFAULT_WORD_TOKENIZER, ...stripUndefined(partial) };
  if (!EMAIL_HEADER_MODES.includes(c.emailHeaders)) {
    throw new GraftError('CONFIG', 'Unknown e-mail header mode', {
      value: 'emailHeaders',
      found: String(c.emailHeaders),
      choices: EMAIL_HEADER_MODES,
      fix: "use 'keep', 'drop' or 'subject'",
    });
  }
  if (!Number.isInteger(c.maxTokens) || c.maxTokens < 1) {
    throw new GraftError('CONFIG', 'The token limit must be a positive whole number', {
      value: 'maxTokens',
      expected: 'an integer >= 1',
      found: String(c.maxTokens),
      fix: 'use e.g. --max-tokens 512',
    });
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// A word: letters/marks/digits, joined by single inner hyphens, dots, commas or apostrophes.
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:[-'’.,][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;
const CLITIC = /^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$/;
const HEADER_LINE = /^[!-9;-~]+:/;

/**
 * Drops the header block of a raw e-mail (everything up to the first empty line) when the text starts like
 * one: an mbox "From " line or a "Name: value" line. With `keepSubject` the Subject value stays.
 * Text that does not start with headers is returned as is.
 */
export function stripEmailHeaders(text: string, keepSubject = false): string {
  const lines = text.split(/\r?\n/);
  if (lines.length === 0 || !(lines[0]!.startsWith('From ') || HEADER_LINE.test(lines[0]!))) return text;
  let end = lines.findIndex((l) => l.trim() === '');
  if (end < 0) end = lines.length;
  let subject = '';
  if (keepSubject) {
    for (let i = 0; i < end; i++) {
      if (!/^subject:/i.test(lines[i]!)) continue;
      const parts = [lines[i]!.slice(8).trim()];
      // folded header: continuation lines start with white space
      for (let j = i + 1; j < end && /^[ \t]/.test(lines[j]!); j++) parts.push(lines[j]!.trim());
      subject = parts.join(' ');
      break;
    }
  }
  const body = lines.slice(end + 1).join('\n');
  return subject ? `${subject}\n${body}` : body;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Tags (and comments, scripts, styles) become spaces; common and numeric entities become characters. */
export function stripHtmlTags(text: string): string {
  return text
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<\/?[a-zA-Z][^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** The text as the tokenizer sees it: headers, HTML and case handled as configured. */
export function normalizeText(text: string, c: WordTokenizerConfig): string {
  let t = text;
  if (c.emailHeaders !== 'keep') t = stripEmailHeaders(t, c.emailHeaders === 'subject');
  if (c.stripHtml) t = stripHtmlTags(t);
  // GloVe has plain apostrophes only
  t = t.replace(/’/g, "'");
  return c.lowercase ? t.toLowerCase() : t;
}

/**
 * Word tokens of a text, before vocabulary lookup. Compound tokens ("e-mail", "3.5", "www.example.com")
 * are kept whole; `Vocabulary.lookup` splits them when the whole is unknown. No length limit here: the
 * limit counts known tokens and is applied after lookup.
 */
export function tokenizeWords(text: string, c: WordTokenizerConfig): string[] {
  const out: string[] = [];
  for (const m of normalizeText(text, c).matchAll(TOKEN)) {
    const tok = m[0];
    const ch = tok.charCodeAt(0);
    const isWord = tok.length > 1 || /[\p{L}\p{M}\p{N}]/u.test(tok);
    if (!isWord) {
      if (c.punctuation && ch > 0x20) out.push(tok);
      continue;
    }
    if (tok.includes("'")) {
      const cl = CLITIC.exec(tok);
      if (cl) {
        out.push(cl[1]!, cl[2]!);
        continue;
      }
    }
    out.push(tok);
  }
  return out;
}
