import { GraftError } from '../errors.js';
import type { DType } from '../onnx/dtype.js';
import type { Node } from '../onnx/graph.js';
import type { Emitter } from './emitter.js';
import { coversOpset, gradientEntry, isDifferentiableInput, ruleOpsets, supportedOps } from './registry.js';
import type { GradContext, GradEntry, GradTable } from './types.js';

export interface BackwardSpec {
  /** dL/dv for the values the loss is computed from: value -> name of its gradient */
  seeds: ReadonlyMap<string, string>;
  /** values to differentiate with respect to (trainable parameters, or any value) */
  wrt: readonly string[];
  /** entries used instead of the registry's (to try a rule before registering it, or in tests) */
  overrides?: GradTable;
}

export interface BackwardResult {
  /** wrt value -> its gradient, or null when the value does not influence the seeds */
  grads: Map<string, string | null>;
  /** forward nodes the gradient flowed through, in the order they were differentiated */
  differentiated: Node[];
}

/**
 * Oldest default-domain opset training graphs are built for: gradient code relies on ops and type support
 * added up to opset 11 (Where, Range, float Equal, Gemm without C). Exporters have defaulted to newer
 * opsets since 2019.
 */
export const MIN_TRAINING_OPSET = 11;

const FLOAT_TYPES: ReadonlySet<DType> = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * Appends the reverse-mode pass to the emitter's graph. Only nodes on a path from a `wrt` value to a seed
 * are differentiated (frozen branches and everything after the seeds get no gradient work), and inputs
 * that lead to no `wrt` value get no gradient nodes. Gradients reaching a value along several edges are
 * summed when its producer is reached (reverse topological order guarantees all have arrived).
 */
export function appendBackward(e: Emitter, spec: BackwardSpec): BackwardResult {
  const graph = e.graph;
  const opset = e.opset;
  if (opset < MIN_TRAINING_OPSET) {
    throw new GraftError('BAD_MODEL', 'The model is too old to train: its default-domain opset predates 11', {
      opset,
      expected: `opset ${MIN_TRAINING_OPSET} or later`,
      found: `opset ${opset}`,
      fix: 're-export the model with a newer opset (e.g. torch.onnx.export(..., opset_version=17))',
    });
  }
  const lookup = (n: Node): GradEntry | undefined => {
    const o = spec.overrides?.[n.opType];
    if (o && (n.domain === '' || n.domain === 'ai.onnx')) {
      return (Array.isArray(o) ? (o as GradEntry[]) : [o as GradEntry]).find((x) => coversOpset(x, opset));
    }
    return gradientEntry(n.opType, opset, n.domain);
  };
  // Reverse topological order is what guarantees every consumer's contribution has arrived before a
  // value's producer is differentiated.
  graph.toposort();
  const forward = [...graph.nodes];
  const isFloat = (v: string) => {
    const d = e.dtype(v);
    return d === undefined || FLOAT_TYPES.has(d);
  };
  const diffInputs = (n: Node, live: ReadonlySet<string>) =>
    n.inputs.filter((v, i) => v && live.has(v) && isDifferentiableInput(n.opType, i));

  // Values that depend differentiably on a wrt value.
  const active = new Set<string>(spec.wrt);
  for (const n of forward) {
    if (lookup(n)?.kind === 'zero') continue;
    if (diffInputs(n, active).length === 0) continue;
    for (const o of n.outputs) if (o && isFloat(o)) active.add(o);
  }

  // Nodes between the wrt values and the seeds, latest first.
  const needed = new Set<string>([...spec.seeds.keys()].filter((v) => active.has(v)));
  const onPath: Node[] = [];
  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k]!;
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    const ins = diffInputs(n, active);
    if (ins.length === 0) continue;
    onPath.push(n);
    for (const v of ins) needed.add(v);
  }

  for (const n of onPath) {
    const entry = lookup(n);
    if (entry?.kind === 'rule' && entry.prepare) {
      entry.prepare(n, (base) => e.freshName(base), opset, e.formulations);
      graph.touch();
      e.env.infer(n);
    }
  }

  const pending = new Map<string, string[]>();
  for (const [v, g] of spec.seeds) if (needed.has(v)) pending.set(v, [g]);
  const total = (v: string): string | null => {
    const parts = pending.get(v);
    if (!parts || parts.length === 0) return null;
    if (parts.length === 1) return parts[0]!;
    const sum = e.emit(parts.length === 2 ? 'Add' : 'Sum', parts);
    pending.set(v, [sum]);
    return sum;
  };

  const differentiated: Node[] = [];
  for (const n of onPath) {
    e.prefix = `grad/${n.name || n.opType}`;
    const go = n.outputs.map((o) => (o ? total(o) : null));
    if (go.every((g) => g === null)) continue;
    const entry = lookup(n);
    if (!entry || entry.kind === 'notDifferentiable') throw noGradient(n, opset, entry !== undefined);
    if (entry.kind === 'zero') continue;
    const needs = n.inputs.map(
      (v, i) => !!v && active.has(v) && needed.has(v) && isDifferentiableInput(n.opType, i) && isFloat(v),
    );
    const grads = entry.rule(context(e, n, go, needs));
    if (grads.length > n.inputs.length) {
      throw new GraftError('BAD_GRAPH', `The gradient rule of ${n.opType} returned too many gradients`, {
        node: n.label,
        op: n.opType,
        opset,
        expected: `at most ${n.inputs.length} (one per input)`,
        found: String(grads.length),
      });
    }
    grads.forEach((g, i) => {
      if (!g || !needs[i]) return;
      const v = n.inputs[i]!;
      const list = pending.get(v);
      if (list) list.push(g);
      else pending.set(v, [g]);
    });
    differentiated.push(n);
  }
  e.prefix = 'grad';
  const grads = new Map<string, string | null>();
  for (const w of spec.wrt) grads.set(w, total(w));
  return { grads, differentiated };
}

function context(e: Emitter, node: Node, go: (string | null)[], needs: boolean[]): GradContext {
  return {
    node,
    opset: e.opset,
    formulations: e.formulations,
    I: (i) => node.inputs[i] ?? '',
    O: (i) => node.outputs[i] ?? '',
    GO: (i) => go[i] ?? null,
    needsGrad: (i) => needs[i] ?? false,
    shape: (v) => e.shape(v),
    dtype: (v) => e.dtype(v),
    emit: (op, inputs, attrs, opts) => e.emit(op, inputs, attrs, opts),
    emitN: (op, inputs, attrs, opts) => e.emitN(op, inputs, attrs, opts),
    ints: (values) => e.ints(values),
    scalar: (value, like) => e.scalar(value, like),
    unbroadcast: (grad, target) => e.unbroadcast(grad, target),
    constant: (v) => e.constant(v),
    producer: (v) => e.graph.producer(v),
    shapeOf: (v) => e.shapeOf(v),
  };
}

function noGradient(n: Node, opset: number, declared: boolean): GraftError {
  const domain = n.domain && n.domain !== 'ai.onnx' ? ` (domain ${n.domain})` : '';
  return new GraftError(
    'NO_GRADIENT',
    `No gradient for ${n.opType}${domain}, which lies between a trainable parameter and the loss`,
    {
      node: n.label,
      op: n.opType,
      opset,
      expected: 'an op with a gradient rule',
      found: declared
        ? `${n.opType} is not differentiable`
        : `no rule for ${n.opType} at opset ${opset}${ruleOpsets(n.opType).length ? ` (rules exist for opsets ${ruleOpsets(n.opType).join(', ')})` : ''}`,
      choices: supportedOps(opset),
      fix: 'freeze the parameters that feed this node so no gradient has to pass through it, or replace the op',
    },
  );
}
