import { GraftError, isGraftError } from '../../errors.js';
import { base64Bytes } from './graphdef.js';
import type { ReadFile, TfjsModelJson } from './types.js';

/**
 * TF.js models shipped inside JavaScript bundles, as nsfwjs does: `model.min.js` is a browserify/UMD
 * module whose export is the model.json object written as a JS literal, and each weight shard
 * `group1-shard1of1.min.js` exports its bytes as one base64 string. The bundles are parsed, never run:
 * a small JS-literal reader takes the exported value out.
 *
 * Returns the model.json object and a ReadFile that serves the manifest's shard paths from the
 * `<path>.min.js` bundles beside it (or from plain `<path>` files when those exist).
 */
export async function readEmbeddedTfjsModel(
  readFile: ReadFile,
  modelFile = 'model.min.js',
): Promise<{ modelJson: TfjsModelJson; readFile: ReadFile }> {
  const text = new TextDecoder().decode(await readFile(modelFile));
  const value = extractExportedLiteral(text, modelFile);
  if (typeof value !== 'object' || value === null || !('modelTopology' in value)) {
    throw new GraftError('BAD_MODEL', `The bundle does not export a TF.js model.json object`, {
      file: modelFile,
      expected: 'module.exports = { modelTopology: ..., weightsManifest: [...] }',
      found: typeof value === 'object' && value ? `an object with keys ${Object.keys(value).join(', ')}` : typeof value,
      fix: 'pass the model.min.js bundle of the model (nsfwjs: dist/models/<name>/model.min.js)',
    });
  }
  const dir = modelFile.includes('/') ? modelFile.slice(0, modelFile.lastIndexOf('/') + 1) : '';
  const shardReader: ReadFile = async (path) => {
    const bundle = `${dir}${path}.min.js`;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(bundle);
    } catch (e) {
      if (isGraftError(e)) throw e;
      // not bundled: a plain shard file
      return readFile(`${dir}${path}`);
    }
    const shard = extractExportedLiteral(new TextDecoder().decode(bytes), bundle);
    if (typeof shard !== 'string') {
      throw new GraftError('BAD_MODEL', `The weight bundle does not export a base64 string`, {
        file: bundle,
        expected: 'module.exports = "<base64 weight bytes>"',
        found: typeof shard,
      });
    }
    return base64Bytes(shard);
  };
  return { modelJson: value as TfjsModelJson, readFile: shardReader };
}

/** The first object, array or string literal assigned to `<something>.exports` in a bundle. */
export function extractExportedLiteral(text: string, file = 'bundle.js'): unknown {
  const re = /\.exports\s*=\s*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const at = m.index + m[0].length;
    const c = text[at];
    if (c !== '{' && c !== '[' && c !== '"' && c !== "'") continue;
    return new LiteralReader(text, at, file).read();
  }
  throw new GraftError('BAD_MODEL', 'No exported literal found in the bundle', {
    file,
    expected: 'a CommonJS/UMD bundle assigning an object or string literal to module.exports',
    found: `${text.length} characters without one`,
    fix: 'pass the model bundle itself (e.g. model.min.js), not a loader script',
  });
}

const DOUBLE_STOP = /["\\]/g;
const SINGLE_STOP = /['\\]/g;

/**
 * Reads one JavaScript literal: objects (identifier, string or number keys), arrays, strings, numbers and
 * the forms minifiers write for constants (!0, !1, void 0, 1/0).
 */
class LiteralReader {
  private pos: number;

  constructor(
    private readonly src: string,
    start: number,
    private readonly file: string,
  ) {
    this.pos = start;
  }

  read(): unknown {
    const v = this.value();
    return v;
  }

  private fail(what: string): never {
    const around = this.src.slice(Math.max(0, this.pos - 30), this.pos + 30);
    throw new GraftError('BAD_MODEL', `Cannot read the literal in the bundle: ${what}`, {
      file: this.file,
      found: `at offset ${this.pos}: …${around}…`,
      fix: 'the bundle is not a plain data module; export the model as model.json instead',
    });
  }

  private skip(): void {
    const s = this.src;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else if (c === 47 && s[this.pos + 1] === '/') {
        const e = s.indexOf('\n', this.pos);
        this.pos = e < 0 ? s.length : e + 1;
      } else if (c === 47 && s[this.pos + 1] === '*') {
        const e = s.indexOf('*/', this.pos + 2);
        if (e < 0) this.fail('unterminated comment');
        this.pos = e + 2;
      } else return;
    }
  }

  private value(): unknown {
    this.skip();
    const c = this.src[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"' || c === "'") return this.string();
    if (c === '!') {
      this.pos++;
      const v = this.value();
      return !v;
    }
    if (c === '-' || c === '+') {
      this.pos++;
      const v = this.value();
      if (typeof v !== 'number') this.fail('sign before a non-number');
      return c === '-' ? -v : v;
    }
    if (c !== undefined && /[0-9.]/.test(c)) {
      const n = this.number();
      this.skip();
      // minifiers write Infinity as 1/0 and NaN as 0/0
      if (this.src[this.pos] === '/' && /[0-9.]/.test(this.src[this.pos + 1] ?? '')) {
        this.pos++;
        return n / this.number();
      }
      return n;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(this.src.slice(this.pos, this.pos + 64))?.[0];
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
        this.value();
        return undefined;
    }
    return this.fail(word ? `'${word}' is code, not data` : `unexpected '${c ?? 'end of input'}'`);
  }

  private number(): number {
    const m = /^(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(
      this.src.slice(this.pos, this.pos + 64),
    );
    if (!m) this.fail('malformed number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private string(): string {
    const q = this.src[this.pos]!;
    this.pos++;
    let out = '';
    let run = this.pos;
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === q) {
        out += s.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c !== '\\') {
        // jump to the next quote or backslash (weight shards are megabytes of base64)
        const stop = q === '"' ? DOUBLE_STOP : SINGLE_STOP;
        stop.lastIndex = this.pos;
        this.pos = stop.exec(s)?.index ?? s.length;
        continue;
      }
      out += s.slice(run, this.pos);
      const e = s[this.pos + 1];
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
          out += String.fromCharCode(parseInt(s.slice(this.pos, this.pos + 2), 16));
          this.pos += 2;
          break;
        case 'u':
          if (s[this.pos] === '{') {
            const end = s.indexOf('}', this.pos);
            out += String.fromCodePoint(parseInt(s.slice(this.pos + 1, end), 16));
            this.pos = end + 1;
          } else {
            out += String.fromCharCode(parseInt(s.slice(this.pos, this.pos + 4), 16));
            this.pos += 4;
          }
          break;
        case '\r':
          if (s[this.pos] === '\n') this.pos++;
          break;
        case '\n':
          break;
        default:
          out += e ?? '';
      }
      run = this.pos;
    }
  }

  private array(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.src[this.pos] === ']') {
        this.pos++;
        return out;
      }
      out.push(this.value());
      this.skip();
      const c = this.src[this.pos];
      if (c === ',') this.pos++;
      else if (c !== ']') this.fail("expected ',' or ']'");
    }
  }

  private object(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skip();
      const c = this.src[this.pos];
      if (c === '}') {
        this.pos++;
        return out;
      }
      let key: string;
      if (c === '"' || c === "'") key = this.string();
      else if (c !== undefined && /[0-9.]/.test(c)) key = String(this.number());
      else {
        const m = /^[A-Za-z_$][\w$]*/.exec(this.src.slice(this.pos, this.pos + 256));
        if (!m) this.fail('expected a property name');
        key = m[0];
        this.pos += key.length;
      }
      this.skip();
      if (this.src[this.pos] !== ':') this.fail("expected ':' (getters, methods and spreads are code, not data)");
      this.pos++;
      // defineProperty keeps '__proto__' an ordinary key
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skip();
      const d = this.src[this.pos];
      if (d === ',') this.pos++;
      else if (d !== '}') this.fail("expected ',' or '}'");
    }
  }
}
