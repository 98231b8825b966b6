import { GraftError } from '../../errors.js';
import { knnHead } from './knn.js';
import { linearHead } from './linear.js';
import { mlpHead } from './mlp.js';
import { prototypeHead } from './prototype.js';
import type { ClosedFormFit, GradientFit, HeadKind } from './types.js';

/** Every head kind `--head` knows, one line each. */
export const HEAD_KINDS = [linearHead, mlpHead, knnHead, prototypeHead] as const;

/** A head as parsed from `--head`: the union of what the head kinds parse. */
export type HeadChoice = ReturnType<(typeof HEAD_KINDS)[number]['parse']>;
export type HeadKindName = HeadChoice['kind'];

export { DEFAULT_KNN_K } from './knn.js';
export { DEFAULT_MLP_HIDDEN } from './mlp.js';
export type { HeadKind, HeadTrainingDefaults } from './types.js';

/**
 * The registry entry of a head kind. Typed over the whole union: each entry only ever sees choices of its own
 * kind (they are looked up by `kind`), which TypeScript cannot follow through the lookup.
 */
export function headKind(name: HeadKindName): HeadKind<HeadChoice> {
  const k = HEAD_KINDS.find((h) => h.name === name);
  if (!k) throw new GraftError('BAD_INPUT', `Unknown head kind '${name}'`, { choices: HEAD_KINDS.map((h) => h.name) });
  return k as unknown as HeadKind<HeadChoice>;
}

/** How users write heads, for help and error messages. */
export const HEAD_SYNTAX: readonly string[] = HEAD_KINDS.flatMap((h) => h.syntax);

/** Parses a head as users write it: `linear`, `mlp:256`, `mlp:512,128`, `knn:5`, `prototype`. */
export function parseHeadChoice(text: string): HeadChoice {
  const [name, arg, ...extra] = text.trim().toLowerCase().split(':');
  const bad = (why: string): never => {
    throw new GraftError('BAD_INPUT', `Cannot read the head '${text}': ${why}`, {
      found: text,
      choices: HEAD_SYNTAX,
      fix: 'write e.g. --head mlp:256 (hidden sizes separated by commas) or --head knn:5',
    });
  };
  if (extra.length) bad('too many colons');
  const kind = HEAD_KINDS.find((h) => h.name === name || h.aliases?.includes(name!));
  if (!kind) return bad(`unknown head kind '${name}'`);
  return (kind as unknown as HeadKind<HeadChoice>).parse(arg, bad);
}

export function formatHeadChoice(h: HeadChoice): string {
  return headKind(h.kind).format(h);
}

/** The training side of a gradient head, or undefined for a closed-form one. */
export function gradientFit(h: HeadChoice): GradientFit<HeadChoice> | undefined {
  const fit = headKind(h.kind).fit;
  return fit.kind === 'gradient' ? fit : undefined;
}

/** The building side of a closed-form head, or undefined for a gradient one. */
export function closedFormFit(h: HeadChoice): ClosedFormFit<HeadChoice> | undefined {
  const fit = headKind(h.kind).fit;
  return fit.kind === 'closed-form' ? fit : undefined;
}

/** Hidden layer sizes of a gradient head ([] for linear and for closed-form heads). */
export function hiddenLayers(h: HeadChoice): number[] {
  return gradientFit(h)?.hidden(h) ?? [];
}

/** The dropout a gradient head trains with: the given rate for heads that have dropout, else 0. */
export function headDropout(h: HeadChoice, given?: number): number {
  const fit = gradientFit(h);
  return fit && fit.defaults.dropout > 0 ? (given ?? fit.defaults.dropout) : 0;
}
