import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { Model } from '../../onnx/graph.js';

export interface WordVectors {
  /** words by id, most frequent first */
  words: string[];
  dims: number;
  /** words.length x dims, row-major */
  vectors: Float32Array;
}

/**
 * Reads wink's word-embedding JSON (`{"dimensions":100, "l2NormIndex":100, "wordIndex":101, "words":[...],
 * "vectors":{"word":[v0..v99, l2norm, index]}}`) straight from bytes: the file is 307 MB, too large to turn
 * into one JavaScript string and an object per word. `maxWords` keeps the most frequent words only (the
 * file lists them by frequency).
 */
export function readWinkVectors(bytes: Uint8Array, file: string, maxWords = Infinity): WordVectors {
  const s = new ByteScanner(bytes, file);
  const dims = s.headerNumber('dimensions');
  const wordIndexAt = s.headerNumber('wordIndex');
  const words = s.stringArray('words');
  const n = Math.min(words.length, maxWords);
  const vectors = new Float32Array(n * dims);
  const filled = new Uint8Array(n);
  s.seekKey('vectors', s.pos);
  s.expect(0x7b);
  const row = new Float64Array(wordIndexAt + 1);
  let count = 0;
  while (!s.tryByte(0x7d)) {
    if (count > 0) s.expect(0x2c);
    s.skipString();
    s.expect(0x3a);
    const len = s.numberArray(row);
    count++;
    if (len <= wordIndexAt) s.fail(`${wordIndexAt + 1} numbers per word (vector, norm, index)`, `${len}`);
    const id = row[wordIndexAt]!;
    if (id < n) {
      vectors.set(row.subarray(0, dims), id * dims);
      filled[id] = 1;
    }
  }
  const missing = filled.indexOf(0);
  if (missing >= 0) s.fail(`a vector for every kept word`, `none for the word with id ${missing}`);
  return { words: words.slice(0, n), dims, vectors };
}

/**
 * An ONNX lookup model: `token_ids` (int64 [N, T]) -> `vectors` (float32 [N, T, dims]) through a Gather.
 * Row `words.length` is all zeros and stands for unknown words; the vocabulary travels in the metadata.
 */
export function wordVectorsModel(v: WordVectors, name = 'word_vectors'): Model {
  const b = new GraphBuilder(name);
  const table = new Float32Array((v.words.length + 1) * v.dims);
  table.set(v.vectors);
  const ids = b.input('token_ids', 'int64', ['N', 'T']);
  const emb = b.initializer('embeddings', table, [v.words.length + 1, v.dims]);
  const out = b.op('Gather', [emb, ids], { axis: 0 }, { outputs: ['vectors'], name: 'lookup' });
  b.output(out, 'float32', ['N', 'T', v.dims]);
  const model = new Model(b.graph, { opsetImports: [{ domain: '', version: 17 }] });
  model.metadata.set('graft.vocabulary', JSON.stringify(v.words));
  model.metadata.set('graft.unknown_id', String(v.words.length));
  return model;
}

const QUOTE = 0x22;

/** A forward-only JSON scanner over bytes, just enough for the word-vector file. */
class ByteScanner {
  pos = 0;
  private dec = new TextDecoder();
  constructor(
    private b: Uint8Array,
    private file: string,
  ) {}

  fail(expected: string, found?: string): never {
    throw new GraftError('BAD_MODEL', 'Cannot read the word-vector file', {
      file: this.file,
      expected,
      found: found ?? `something else at byte ${this.pos} of ${this.b.length}`,
      fix: 'the source must be wink word-embedding JSON (words, vectors, dimensions); fetch it again if it is truncated',
    });
  }

  ws(): void {
    const b = this.b;
    while (
      this.pos < b.length &&
      (b[this.pos] === 0x20 || b[this.pos] === 0x0a || b[this.pos] === 0x0d || b[this.pos] === 0x09)
    )
      this.pos++;
  }

  expect(c: number): void {
    this.ws();
    if (this.b[this.pos] !== c) this.fail(`'${String.fromCharCode(c)}'`);
    this.pos++;
  }

  tryByte(c: number): boolean {
    this.ws();
    if (this.b[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  /**
   * Moves just past the next `"key":` from `from`. A word in the lists may equal a key ("vectors" is a
   * word), but only a key is followed by a colon.
   */
  seekKey(key: string, from = 0): void {
    const needle = new TextEncoder().encode(`"${key}"`);
    for (let at = indexOf(this.b, needle, from); at >= 0; at = indexOf(this.b, needle, at + 1)) {
      this.pos = at + needle.length;
      if (this.tryByte(0x3a)) return;
    }
    this.fail(`a "${key}" field`, 'none');
  }

  /** A small number field near the top of the file. */
  headerNumber(key: string): number {
    this.seekKey(key);
    this.ws();
    const start = this.pos;
    while (this.pos < this.b.length && /[-+.eE0-9]/.test(String.fromCharCode(this.b[this.pos]!))) this.pos++;
    const v = Number(this.dec.decode(this.b.subarray(start, this.pos)));
    if (!Number.isInteger(v) || v < 0) this.fail(`"${key}" as a non-negative integer`);
    return v;
  }

  stringArray(key: string): string[] {
    this.seekKey(key);
    this.expect(0x5b);
    const out: string[] = [];
    if (this.tryByte(0x5d)) return out;
    for (;;) {
      out.push(this.string());
      if (this.tryByte(0x5d)) return out;
      this.expect(0x2c);
    }
  }

  string(): string {
    this.ws();
    if (this.b[this.pos] !== QUOTE) this.fail('a string');
    const start = this.pos;
    this.skipString();
    const raw = this.b.subarray(start, this.pos);
    return raw.includes(0x5c) ? (JSON.parse(this.dec.decode(raw)) as string) : this.dec.decode(raw.subarray(1, -1));
  }

  skipString(): void {
    this.ws();
    if (this.b[this.pos] !== QUOTE) this.fail('a string');
    let i = this.pos + 1;
    const b = this.b;
    while (i < b.length && b[i] !== QUOTE) i += b[i] === 0x5c ? 2 : 1;
    if (i >= b.length) this.fail('a closing quote', 'the end of the file');
    this.pos = i + 1;
  }

  /** Parses `[n, n, ...]` into `out` (extra numbers are counted, not stored); returns the count. */
  numberArray(out: Float64Array): number {
    this.expect(0x5b);
    let k = 0;
    if (this.tryByte(0x5d)) return 0;
    for (;;) {
      this.ws();
      const v = this.number();
      if (k < out.length) out[k] = v;
      k++;
      if (this.tryByte(0x5d)) return k;
      this.expect(0x2c);
    }
  }

  /** A JSON number, parsed by hand: 34 million of them make substring + parseFloat too slow. */
  number(): number {
    const b = this.b;
    let i = this.pos;
    let neg = false;
    if (b[i] === 0x2d) {
      neg = true;
      i++;
    }
    let mant = 0;
    let digits = 0;
    let exp = 0;
    while (b[i]! >= 0x30 && b[i]! <= 0x39) {
      if (digits < 17) {
        mant = mant * 10 + (b[i]! - 0x30);
        digits++;
      } else exp++;
      i++;
    }
    if (b[i] === 0x2e) {
      i++;
      while (b[i]! >= 0x30 && b[i]! <= 0x39) {
        if (digits < 17) {
          mant = mant * 10 + (b[i]! - 0x30);
          digits++;
          exp--;
        }
        i++;
      }
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      let eneg = false;
      if (b[i] === 0x2b || b[i] === 0x2d) eneg = b[i++] === 0x2d;
      let e = 0;
      while (b[i]! >= 0x30 && b[i]! <= 0x39) e = e * 10 + (b[i++]! - 0x30);
      exp += eneg ? -e : e;
    }
    if (i === this.pos || (neg && i === this.pos + 1)) this.fail('a number');
    this.pos = i;
    const v = exp < 0 ? mant / 10 ** -exp : mant * 10 ** exp;
    return neg ? -v : v;
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    let ok = true;
    for (let j = 1; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) {
        ok = false;
        break;
      }
    }
    if (ok) return i;
  }
  return -1;
}
