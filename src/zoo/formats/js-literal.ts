import { GraftError } from '../../errors.js';

/**
 * Reads the value a browserify bundle exports (`{1:[function(e,a,n){a.exports=<literal>},{}]}`), as
 * nsfwjs ships its model.json and weight shards. The literal is parsed, never evaluated: package code
 * does not run. Accepts the subset of JavaScript that minifiers emit for data (see LiteralParser).
 */
export function bundleExport(text: string, file: string): unknown {
  const m = /\{1:\[function\([^)]*\)\{\s*([A-Za-z_$][\w$]*)\.exports\s*=\s*/.exec(text);
  if (!m) {
    throw new GraftError('BAD_MODEL', 'Not a browserify bundle that exports a value', {
      file,
      expected: 'a .js file of the form {1:[function(e,a,n){a.exports=...}]}',
      found: `${text.length} characters without that wrapper`,
      fix: 'point the source at model.json (or the .min.js bundle nsfwjs ships) of a TF.js model',
    });
  }
  const p = new LiteralParser(text, m.index + m[0].length, file);
  return p.value(0);
}

/**
 * The first object, array or string literal assigned to `<something>.exports` in a bundle: looser than
 * bundleExport about the wrapper, for CommonJS/UMD bundles that are not browserify's.
 */
export function extractExportedLiteral(text: string, file = 'bundle.js'): unknown {
  const re = /\.exports\s*=\s*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const at = m.index + m[0].length;
    const c = text[at];
    if (c !== '{' && c !== '[' && c !== '"' && c !== "'") continue;
    return new LiteralParser(text, at, file).value(0);
  }
  throw new GraftError('BAD_MODEL', 'No exported literal found in the bundle', {
    file,
    expected: 'a CommonJS/UMD bundle assigning an object or string literal to module.exports',
    found: `${text.length} characters without one`,
    fix: 'pass the model bundle itself (e.g. model.min.js), not a loader script',
  });
}

/** Parses one JavaScript data literal starting at `start`. */
export function parseJsLiteral(text: string, file = 'literal', start = 0): unknown {
  const p = new LiteralParser(text, start, file);
  const v = p.value(0);
  p.ws();
  if (p.pos < text.length) p.fail('the end of the literal');
  return v;
}

// Bounds recursion so a crafted bundle cannot overflow the stack.
const MAX_DEPTH = 512;
const DOUBLE_STOP = /["\\]/g;
const SINGLE_STOP = /['\\]/g;

/**
 * Reads one JavaScript literal: objects (identifier, string or number keys), arrays, strings, numbers
 * (.5, 1e-3, hex, octal, binary) and the forms minifiers write for constants (!0, !1, void 0, 1/0, 0/0).
 */
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
      found: `something else at offset ${this.pos} of ${this.text.length}`,
      fix: "the bundle holds code, not only data; use the package's model.json instead",
    });
  }

  ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else if (c === 47 && t.charCodeAt(this.pos + 1) === 47) {
        const end = t.indexOf('\n', this.pos);
        this.pos = end < 0 ? t.length : end + 1;
      } else if (c === 47 && t.charCodeAt(this.pos + 1) === 42) {
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
      this.pos++;
      return !this.value(depth + 1);
    }
    if (c === '-' || c === '+') {
      this.pos++;
      const v = this.value(depth + 1);
      if (typeof v !== 'number') this.fail('a number after a sign');
      return c === '-' ? -v : v;
    }
    if (c !== undefined && /[0-9.]/.test(c)) {
      const n = this.number();
      this.ws();
      // minifiers write Infinity as 1/0 and NaN as 0/0
      if (this.text[this.pos] === '/' && /[0-9.]/.test(this.text[this.pos + 1] ?? '')) {
        this.pos++;
        return n / this.number();
      }
      return n;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(this.text.slice(this.pos, this.pos + 64))?.[0];
    switch (word) {
      case 'true':
        this.pos += 4;
        return true;
      case 'false':
        this.pos += 5;
        return false;
      case 'null':
        this.pos += 4;
        return null;
      case 'undefined':
        this.pos += 9;
        return undefined;
      case 'NaN':
        this.pos += 3;
        return NaN;
      case 'Infinity':
        this.pos += 8;
        return Infinity;
      case 'void':
        this.pos += 4;
        this.value(depth + 1);
        return undefined;
    }
    // the identifier itself is not quoted: the text may not be a bundle at all
    return this.fail(word ? 'a literal value (an identifier there is code, not data)' : 'a literal value');
  }

  private object(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const key = this.key();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("':' after a key (getters, methods and spreads are code, not data)");
      this.pos++;
      // Own data property even for '__proto__', so a crafted file cannot change the prototype.
      Object.defineProperty(out, key, {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== '}') this.fail("',' or '}'");
    }
  }

  private key(): string {
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.string();
    if (c !== undefined && /[0-9.]/.test(c)) return String(this.number());
    const m = /^[A-Za-z_$][\w$]*/.exec(this.text.slice(this.pos, this.pos + 256));
    if (!m) this.fail('a property name');
    this.pos += m[0].length;
    return m[0];
  }

  private array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return out;
      }
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== ']') this.fail("',' or ']'");
    }
  }

  /** An unsigned number; value() applies a sign. */
  private number(): number {
    const m = /^(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(
      this.text.slice(this.pos, this.pos + 64),
    );
    if (!m) this.fail('a number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private string(): string {
    const t = this.text;
    const q = t[this.pos]!;
    const stop = q === '"' ? DOUBLE_STOP : SINGLE_STOP;
    this.pos++;
    let out = '';
    for (;;) {
      // Jump to the next quote or backslash: weight shards are megabytes of base64 without escapes.
      stop.lastIndex = this.pos;
      const at = stop.exec(t)?.index;
      if (at === undefined) {
        this.pos = t.length;
        this.fail('a closing quote');
      }
      out += t.slice(this.pos, at);
      this.pos = at;
      if (t[at] === q) {
        this.pos++;
        return out;
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
            if (close < 0) this.fail("'}' closing a \\u{...} escape");
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
        found: `a character outside the base64 alphabet at offset ${i}`,
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
