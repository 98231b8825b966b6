import { GraftError } from '../../errors.js';

/** One vocabulary entry as USE lite's vocab.json lists it: the piece and its log-probability. */
export type ScoredPiece = readonly [piece: string, score: number];

/** SentencePiece's word-boundary mark: a space becomes it, and every text starts with one. */
export const WORD_MARK = '\u2581';
/** White space, spelled out (JavaScript's \\s) so the Python reference script uses the very same set. */
const WHITE_SPACE = /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+/g;
/** SentencePiece scores an unknown character below every piece by this much. */
const UNKNOWN_PENALTY = 10;

/**
 * The text as the segmentation sees it: NFKC, every run of white space one space, no space at either end,
 * then spaces marked and one mark in front (SentencePiece's dummy prefix).
 */
export function sentencePieceText(text: string): string {
  const t = text.normalize('NFKC').replace(WHITE_SPACE, ' ').replace(/^ | $/g, '');
  return t ? WORD_MARK + t.replace(/ /g, WORD_MARK) : '';
}

/**
 * A SentencePiece unigram tokenizer: the highest-scoring segmentation of the text into vocabulary pieces
 * (Viterbi over the lattice of matching pieces), as SentencePiece's unigram model encodes. Characters no
 * piece covers become the unknown id, a run of them one unknown token. The pieces that are not text (the
 * unknown piece and reserved control ids, listed in `specialIds`) never match.
 */
export class SentencePieceTokenizer {
  readonly unknownId: number;
  private readonly root: TrieNode = new Map();
  private readonly unknownScore: number;

  readonly pieces: readonly ScoredPiece[];

  constructor(
    pieces: readonly ScoredPiece[],
    readonly maxTokens = 128,
    opts: { unknownId?: number; specialIds?: readonly number[] } = {},
  ) {
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new GraftError('CONFIG', 'The token limit must be a positive whole number', {
        found: String(maxTokens),
        fix: 'use e.g. --max-tokens 128',
      });
    }
    this.pieces = pieces = readScoredPieces(pieces);
    this.unknownId = opts.unknownId ?? 0;
    const special = new Set([this.unknownId, ...(opts.specialIds ?? leadingReserved(pieces))]);
    let min = Infinity;
    pieces.forEach(([piece, score], id) => {
      if (special.has(id) || piece === '') return;
      min = Math.min(min, score);
      let node = this.root;
      for (const ch of piece) {
        let next = node.get(ch);
        if (!next) node.set(ch, (next = new Map()));
        node = next as TrieNode;
      }
      // the first id of a piece listed twice wins, as a map from piece to id would have it
      if (!node.has(END)) node.set(END, id);
    });
    this.unknownScore = (Number.isFinite(min) ? min : 0) - UNKNOWN_PENALTY;
  }

  /** Piece ids of a text, at most maxTokens (the rest is cut off). */
  encode(text: string): Int32Array {
    const ids = this.segment(sentencePieceText(text));
    return Int32Array.from(ids.length > this.maxTokens ? ids.slice(0, this.maxTokens) : ids);
  }

  /** Piece strings of a text (for inspection; unknown runs show as the unknown piece). */
  pieceStrings(text: string): string[] {
    return this.segment(sentencePieceText(text)).map((id) => this.pieces[id]![0]);
  }

  private segment(normalized: string): number[] {
    const chars = Array.from(normalized);
    const n = chars.length;
    if (n === 0) return [];
    // best[i]: the best score of a segmentation of chars[0, i); from[i], via[i]: the last piece of it
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1).fill(-1);
    const via = new Int32Array(n + 1).fill(-1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === -Infinity) continue;
      let node: TrieNode | undefined = this.root;
      let single = false;
      for (let j = i; j < n && node; j++) {
        node = node.get(chars[j]!) as TrieNode | undefined;
        const id = node?.get(END) as number | undefined;
        if (id === undefined) continue;
        if (j === i) single = true;
        relax(j + 1, id, this.pieces[id]![1]);
      }
      if (!single) relax(i + 1, this.unknownId, this.unknownScore);
      function relax(end: number, id: number, score: number): void {
        // SentencePiece's arithmetic, which decides ties: a candidate is summed in double precision from
        // float32 scores and compared with the float32 best stored so far (a later equal path can win by
        // the rounding); the measured sample of scripts/fixtures/sentencepiece_reference.py agrees only so
        const s = best[i]! + Math.fround(score);
        if (s > best[end]!) {
          best[end] = Math.fround(s);
          from[end] = i;
          via[end] = id;
        }
      }
    }
    const out: number[] = [];
    for (let at = n; at > 0; at = from[at]!) out.push(via[at]!);
    out.reverse();
    // a run of unknown characters is one unknown token
    return out.filter((id, k) => !(id === this.unknownId && out[k - 1] === this.unknownId));
  }
}

const END = Symbol('end');
type TrieNode = Map<string | typeof END, TrieNode | number>;

/** The ids of the score-0 entries the vocabulary starts with (unknown, <s>, </s>, reserved): not text. */
function leadingReserved(pieces: readonly ScoredPiece[]): number[] {
  const ids: number[] = [];
  for (let i = 0; i < pieces.length && pieces[i]![1] === 0; i++) ids.push(i);
  return ids;
}

/**
 * A vocabulary as vocab.json holds it: [piece, score] pairs. A null score reads as 0: USE lite's vocab.json
 * has seven (pieces with ':'), and 0 is what TF.js's tokenizer makes of them (null + number in JavaScript).
 * Checked entry by entry; the file's contents are never echoed.
 */
export function readScoredPieces(v: unknown, file?: string): ScoredPiece[] {
  const bad = (what: string) =>
    new GraftError('BAD_INPUT', 'The SentencePiece vocabulary is not a list of [piece, score] pairs', {
      file,
      expected: 'a JSON array of [string, number] pairs (vocab.json)',
      found: what,
      fix: 'pass the vocab.json that comes with the model',
    });
  if (!Array.isArray(v) || v.length === 0) throw bad(Array.isArray(v) ? 'an empty list' : typeof v);
  if (v.length > 1_000_000) throw bad(`${v.length} entries (more than 1,000,000)`);
  return v.map((e: unknown, i) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] === null || Number.isFinite(e[1]))) {
      throw bad(`entry ${i} is not a [string, finite number] pair`);
    }
    if (e[0].length > 256) throw bad(`entry ${i} is a piece of ${e[0].length} characters`);
    return [e[0], (e[1] as number | null) ?? 0] as const;
  });
}
