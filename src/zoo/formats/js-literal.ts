import { GraftError } from '../../errors.js';

/**
 * Reads the value a browserify bundle exports (`{1:[function(e,a,n){a.exports=<literal>},{}]}`), as
 * nsfwjs ships its model.json and weight shards. The literal is parsed, never evaluated: package code
 * does not run. Accepts the subset of JavaScript that minifiers emit for data: objects (bare, quoted or
 * numeric keys), arrays, strings, numbers (.5, 1e-3, hex), !0 / !1, true, false, null, void 0.
 */
export function bundleExport(text: string, file: string): unknown {
  const m = /\{1:\[function\([^)]*\)\{\s*([A-Za-z_$][\w$]*)\.exports\s*=\s*/.exec(text);
  if (!m) {
    throw new GraftError('BAD_MODEL', 'Not a browserify bundle that exports a value', {
      file,
      expected: 'a .js file of the form {1:[function(e,a,n){a.exports=...}]}',
      found: `${text.slice(0, 60)}...`,
      fix: 'point the source at model.json (or the .min.js bundle nsfwjs ships) of a TF.js model',
    });
  }
  const p = new LiteralParser(text, m.index + m[0].length, file);
  return p.value(0);
}

/** Parses one JavaScript data literal starting at `start`. */
export function parseJsLiteral(text: string, file = 'literal', start = 0): unknown {
  const p = new LiteralParser(text, start, file);
  const v = p.value(0);
  p.ws();
  if (p.pos < text.length) p.fail('the end of the literal');
  return v;
}

const MAX_DEPTH = 512;

class LiteralParser {
  constructor(
    readonly text: string,
    public pos: number,
    readonly file: string,
  ) {}

  fail(expected: string): never {
    throw new GraftError('BAD_MODEL', 'Cannot read the data literal in a JavaScript bundle', {
      file: this.file,
      expected,
      found: `${JSON.stringify(this.text.slice(this.pos, this.pos + 30))} at offset ${this.pos}`,
      fix: "the bundle holds code, not only data; use the package's model.json instead",
    });
  }

  ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else if (c === 47 && t.charCodeAt(this.pos + 1) === 42) {
        const end = t.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('the end of a comment');
        this.pos = end + 2;
      } else return;
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting below ${MAX_DEPTH} levels`);
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"' || c === "'") return this.string();
    if (c === '!') {
      const d = this.text[this.pos + 1];
      if (d === '0' || d === '1') {
        this.pos += 2;
        return d === '0';
      }
      this.fail('!0 or !1');
    }
    if (c !== undefined && /[-+.0-9]/.test(c)) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['void 0', undefined],
      ['NaN', NaN],
      ['Infinity', Infinity],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail('a literal value');
  }

  private object(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      const key = this.key();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("':' after a key");
      this.pos++;
      // Own data property even for '__proto__', so a crafted file cannot change the prototype.
      Object.defineProperty(out, key, {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("',' or '}'");
      }
      this.ws();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
    }
  }

  private key(): string {
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.string();
    if (c !== undefined && /[-.0-9]/.test(c)) return String(this.number());
    const m = /^[A-Za-z_$][\w$]*/.exec(this.text.slice(this.pos, this.pos + 256));
    if (!m) this.fail('a property name');
    this.pos += m[0].length;
    return m[0];
  }

  private array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("',' or ']'");
      }
      this.ws();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return out;
      }
    }
  }

  private number(): number {
    const m = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(
      this.text.slice(this.pos, this.pos + 64),
    );
    if (!m) this.fail('a number');
    this.pos += m[0].length;
    const s = m[0];
    if (/0[xX]/.test(s)) return (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[-+]/, ''), 16);
    return Number(s);
  }

  private string(): string {
    const t = this.text;
    const q = t[this.pos]!;
    const start = ++this.pos;
    const end = t.indexOf(q, start);
    if (end < 0) this.fail('a closing quote');
    // Fast path for the multi-megabyte base64 shards: no escapes at all.
    if (t.indexOf('\\', start) < 0 || t.indexOf('\\', start) > end) {
      this.pos = end + 1;
      return t.slice(start, end);
    }
    let out = '';
    for (;;) {
      const c = t[this.pos];
      if (c === undefined) this.fail('a closing quote');
      if (c === q) {
        this.pos++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '0':
          out += '\0';
          break;
        case 'x':
          out += String.fromCharCode(this.hex(2));
          break;
        case 'u':
          if (t[this.pos] === '{') {
            const close = t.indexOf('}', this.pos);
            out += String.fromCodePoint(parseInt(t.slice(this.pos + 1, close), 16));
            this.pos = close + 1;
          } else out += String.fromCharCode(this.hex(4));
          break;
        case '\r':
          if (t[this.pos] === '\n') this.pos++;
          break;
        case '\n':
          break;
        default:
          if (e === undefined) this.fail('an escape sequence');
          out += e;
      }
    }
  }

  private hex(n: number): number {
    const s = this.text.slice(this.pos, this.pos + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(s)) this.fail(`${n} hex digits`);
    this.pos += n;
    return parseInt(s, 16);
  }
}

const B64 = (() => {
  const t = new Int16Array(128).fill(-1);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[chars.charCodeAt(i)] = i;
  t['-'.charCodeAt(0)] = 62;
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/** Decodes base64 (standard or URL alphabet, padding optional) without Node's Buffer. */
export function decodeBase64(s: string, file = 'base64'): Uint8Array {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61) len--;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64[c]! : -1;
    if (v < 0) {
      throw new GraftError('BAD_MODEL', 'A weight bundle holds a string that is not base64', {
        file,
        found: `character ${JSON.stringify(s[i])} at offset ${i}`,
        fix: 'the bundle may be damaged; fetch the package again',
      });
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.subarray(0, o);
}
