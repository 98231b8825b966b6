import { GraftError } from '../errors.js';

/**
 * Class names <-> indices. Names are sorted by code point (not locale), so the same folders give the same
 * indices on every machine; the order is stored with the exported model.
 */
export class LabelMap {
  readonly names: readonly string[];
  private readonly index: ReadonlyMap<string, number>;

  constructor(names: readonly string[]) {
    const seen = new Map<string, number>();
    names.forEach((n, i) => {
      if (seen.has(n)) {
        throw new GraftError('BAD_INPUT', `Class name '${n}' appears twice in a label map`, {
          fix: 'class names must be unique',
        });
      }
      seen.set(n, i);
    });
    this.names = Object.freeze([...names]);
    this.index = seen;
  }

  /** A label map over the distinct names, sorted by code point. */
  static fromLabels(labels: Iterable<string>): LabelMap {
    return new LabelMap([...new Set(labels)].sort(compareCodePoints));
  }

  get size(): number {
    return this.names.length;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  indexOf(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) {
      throw new GraftError('NOT_FOUND', `Unknown class '${name}'`, {
        choices: this.names.length <= 50 ? this.names : [...this.names.slice(0, 50), '...'],
        fix: 'use one of the classes the model was trained on',
      });
    }
    return i;
  }

  nameOf(i: number): string {
    const n = this.names[i];
    if (n === undefined) {
      throw new GraftError('NOT_FOUND', `Class index ${i} is out of range`, {
        expected: `0..${this.names.length - 1}`,
        found: String(i),
      });
    }
    return n;
  }

  encode(labels: readonly string[]): Int32Array {
    return Int32Array.from(labels, (l) => this.indexOf(l));
  }
}

export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
