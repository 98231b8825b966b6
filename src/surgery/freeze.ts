import { GraftError } from '../errors.js';
import type { Graph } from '../onnx/graph.js';
import { parameterNames } from './params.js';

/** Which parameters train: name globs/regexes to train and to freeze (freeze wins), or a predicate. */
export interface FreezeSelector {
  /** parameters matching any of these train (default: all) */
  train?: (string | RegExp)[];
  /** parameters matching any of these are frozen, even if `train` matches */
  freeze?: (string | RegExp)[];
  predicate?: (name: string) => boolean;
}

/** Glob with * and ? (and ** which also crosses '/' and '.') to a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '.*';
    } else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const matches = (name: string, pats: (string | RegExp)[]) =>
  pats.some((p) => (typeof p === 'string' ? globToRegExp(p).test(name) : p.test(name)));

/**
 * Splits the graph's parameters into trainable and frozen. Pure: nothing in the graph changes; the
 * trainable names are what the training-graph builder turns into inputs.
 */
export function freeze(graph: Graph, sel: FreezeSelector = {}): { trainable: string[]; frozen: string[] } {
  const params = parameterNames(graph);
  for (const p of [...(sel.train ?? []), ...(sel.freeze ?? [])]) {
    if (typeof p === 'string' && !params.some((n) => globToRegExp(p).test(n))) {
      throw new GraftError('NOT_FOUND', `Freeze pattern '${p}' matches no parameter`, {
        choices: params.slice(0, 20),
        fix: 'check the pattern against the parameter names (`graft inspect MODEL` lists them)',
      });
    }
  }
  const trainable: string[] = [];
  const frozen: string[] = [];
  for (const name of params) {
    let train = sel.train ? matches(name, sel.train) : true;
    if (sel.freeze && matches(name, sel.freeze)) train = false;
    if (sel.predicate) train = train && sel.predicate(name);
    (train ? trainable : frozen).push(name);
  }
  return { trainable, frozen };
}
