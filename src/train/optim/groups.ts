import { GraftError } from '../../errors.js';
import type { ParamGroupSpec, ParamInfo, ParamSelector } from './types.js';

export interface ResolvedParam {
  info: ParamInfo;
  size: number;
  group: string;
  /** undefined: follows the optimizer's lr hyper-parameter times lrMultiplier */
  lr: number | undefined;
  lrMultiplier: number;
  /** undefined: follows the optimizer's weightDecay hyper-parameter (or 0 for 1-d params, by default) */
  weightDecay: number | undefined;
  isOneD: boolean;
}

/** Assigns every parameter to the first group that selects it; checks that every group selects something. */
export function resolveGroups(params: readonly ParamInfo[], groups: readonly ParamGroupSpec[]): ResolvedParam[] {
  const names = params.map((p) => p.name);
  const matchers = groups.map((g, i) => {
    const label = g.name ?? `group ${i}`;
    checkGroupNumbers(g, label);
    if (Array.isArray(g.params)) {
      const missing = (g.params as readonly string[]).filter((n) => !names.includes(n));
      if (missing.length) {
        throw new GraftError('CONFIG', `Parameter group '${label}' names parameters that are not trainable`, {
          expected: 'names of trainable parameters',
          found: missing.join(', '),
          choices: names.slice(0, 50),
          fix: 'check the spelling, or make the parameters trainable first',
        });
      }
    }
    return { label, spec: g, test: selectorTest(g.params) };
  });
  const used = new Set<string>();
  const resolved = params.map((info): ResolvedParam => {
    const m = matchers.find((x) => x.test(info.name));
    if (m) used.add(m.label);
    return {
      info,
      size: info.dims.reduce((a, b) => a * b, 1),
      group: m?.label ?? 'default',
      lr: m?.spec.lr,
      lrMultiplier: m?.spec.lrMultiplier ?? 1,
      weightDecay: m?.spec.weightDecay,
      isOneD: info.dims.length <= 1,
    };
  });
  for (const m of matchers) {
    if (!used.has(m.label)) {
      throw new GraftError('CONFIG', `Parameter group '${m.label}' selects no parameter`, {
        expected: 'a selector matching at least one trainable parameter not claimed by an earlier group',
        found: describeSelector(m.spec.params),
        choices: names.slice(0, 50),
        fix: 'fix the pattern or drop the group',
      });
    }
  }
  return resolved;
}

function selectorTest(sel: ParamSelector): (name: string) => boolean {
  if (typeof sel === 'function') return sel;
  if (sel instanceof RegExp) return (n) => new RegExp(sel.source, sel.flags.replace('g', '')).test(n);
  if (typeof sel === 'string') {
    const re = globToRegExp(sel);
    return (n) => re.test(n);
  }
  const set = new Set(sel);
  return (n) => set.has(n);
}

/** `*` matches any run of characters (dots and slashes included: ONNX names use both), `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}

export function describeSelector(sel: ParamSelector): string {
  if (typeof sel === 'function') return '(predicate)';
  if (sel instanceof RegExp) return String(sel);
  if (typeof sel === 'string') return sel;
  return `[${sel.join(', ')}]`;
}

function checkGroupNumbers(g: ParamGroupSpec, label: string): void {
  const bad = (what: string, v: number) =>
    new GraftError('CONFIG', `Parameter group '${label}' has an invalid ${what}`, {
      expected: `${what} >= 0`,
      found: String(v),
    });
  if (g.lr !== undefined && !(g.lr >= 0)) throw bad('lr', g.lr);
  if (g.lrMultiplier !== undefined && !(g.lrMultiplier >= 0)) throw bad('lrMultiplier', g.lrMultiplier);
  if (g.weightDecay !== undefined && !(g.weightDecay >= 0)) throw bad('weightDecay', g.weightDecay);
}
