import { GraftError } from '../../errors.js';
import type { Graph } from '../../onnx/graph.js';
import { freeze, globToRegExp } from '../../surgery/freeze.js';
import type { Block } from './blocks.js';

/**
 * Which part of the backbone trains (the new head always does):
 * `all`, `none` (head only), `last:N` (the top N blocks), `from:BLOCK` (that block and everything above),
 * `block:GLOB[,GLOB]` (blocks by name), `params:GLOB[,GLOB]` (parameters by name).
 */
export type UnfreezeSelector =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'last'; count: number }
  | { kind: 'from'; block: string }
  | { kind: 'block'; patterns: string[] }
  | { kind: 'params'; patterns: string[] };

/**
 * How BatchNormalization layers behave while fine-tuning. 'inference' (default): every BN normalises with
 * its stored running statistics, frozen or not, so small batches cannot wreck the pretrained statistics
 * (the Keras trap); scale and shift train with their block. 'frozen': the same, and scale and shift stay
 * fixed too. 'train': BNs of trainable blocks normalise with batch statistics and their running
 * statistics are re-estimated on the training data after training.
 */
export type BatchNormMode = 'inference' | 'frozen' | 'train';
export const BATCH_NORM_MODES: readonly BatchNormMode[] = ['inference', 'frozen', 'train'];

const SYNTAX = ['all', 'none', 'last:N', 'from:BLOCK', 'block:GLOB[,GLOB]', 'params:GLOB[,GLOB]'];

export function parseUnfreeze(text: string): UnfreezeSelector {
  const t = text.trim();
  const colon = t.indexOf(':');
  const kind = (colon < 0 ? t : t.slice(0, colon)).toLowerCase();
  const arg = colon < 0 ? undefined : t.slice(colon + 1).trim();
  const bad = (why: string): never => {
    throw new GraftError('BAD_INPUT', `Cannot read --unfreeze '${text}': ${why}`, {
      found: text,
      choices: SYNTAX,
      fix: 'write e.g. --unfreeze last:3, --unfreeze block:stack_6*,top or --unfreeze all',
    });
  };
  const list = () => {
    const items = (arg ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) bad(`'${kind}:' needs at least one name pattern`);
    return items;
  };
  switch (kind) {
    case 'all':
    case 'none':
      if (arg !== undefined) bad(`'${kind}' takes no argument`);
      return { kind };
    case 'last': {
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 0) bad('last:N needs a whole number of blocks');
      return { kind: 'last', count: n };
    }
    case 'from':
      if (!arg) bad("'from:' needs a block name");
      return { kind: 'from', block: arg! };
    case 'block':
    case 'blocks':
      return { kind: 'block', patterns: list() };
    case 'params':
    case 'pattern':
      return { kind: 'params', patterns: list() };
    default:
      return bad(`unknown kind '${kind}'`);
  }
}

export function formatUnfreeze(s: UnfreezeSelector): string {
  switch (s.kind) {
    case 'all':
    case 'none':
      return s.kind;
    case 'last':
      return `last:${s.count}`;
    case 'from':
      return `from:${s.block}`;
    case 'block':
      return `block:${s.patterns.join(',')}`;
    case 'params':
      return `params:${s.patterns.join(',')}`;
  }
}

export interface FreezePlanOptions {
  unfreeze: UnfreezeSelector;
  /** parameter globs kept frozen even inside unfrozen blocks (freeze wins) */
  freeze?: readonly string[];
  bn?: BatchNormMode;
}

export interface PlannedBlock {
  block: Block;
  /** the block's trainable parameters */
  trainable: string[];
  trainableCount: number;
  /** how its BatchNormalization nodes run ('none' when it has none) */
  bn: 'inference' | 'training' | 'none';
}

export interface FreezePlan {
  blocks: PlannedBlock[];
  trainable: string[];
  frozen: string[];
  trainableCount: number;
  totalCount: number;
  /** index of the first block with a trainable parameter */
  firstTrainable: number;
  /**
   * The value the trainable part begins at (the input of the first trainable block): activations there
   * do not change during training and can be computed once.
   */
  boundary: string;
  bnMode: BatchNormMode;
  /** labels of BatchNormalization nodes that run on batch statistics */
  trainingBatchNorms: string[];
  selector: UnfreezeSelector;
}

/**
 * Decides which parameters train. Backbone blocks are chosen by the selector; blocks of kind 'head'
 * always train. Pure: nothing in the graph changes.
 */
export function planFreeze(graph: Graph, blocks: readonly Block[], opts: FreezePlanOptions): FreezePlan {
  const sel = opts.unfreeze;
  const bnMode = opts.bn ?? 'inference';
  const backbone = blocks.filter((b) => b.kind !== 'head');
  const names = blocks.map((b) => b.name);
  const chosen = new Set<Block>(blocks.filter((b) => b.kind === 'head'));
  const paramPatterns: RegExp[] = [];
  switch (sel.kind) {
    case 'all':
      for (const b of backbone) chosen.add(b);
      break;
    case 'none':
      break;
    case 'last':
      if (sel.count > backbone.length) {
        throw new GraftError('BAD_INPUT', `--unfreeze last:${sel.count} asks for more blocks than the backbone has`, {
          expected: `at most ${backbone.length} (the freeze report lists the blocks)`,
          found: String(sel.count),
          fix: 'use --unfreeze all to train every block',
        });
      }
      for (const b of backbone.slice(backbone.length - sel.count)) chosen.add(b);
      break;
    case 'from': {
      const at = backbone.findIndex((b) => b.name === sel.block);
      if (at < 0) throw unknownBlock(sel.block, names);
      for (const b of backbone.slice(at)) chosen.add(b);
      break;
    }
    case 'block':
      for (const p of sel.patterns) {
        const re = globToRegExp(p);
        const hit = backbone.filter((b) => re.test(b.name));
        if (hit.length === 0) throw unknownBlock(p, names);
        for (const b of hit) chosen.add(b);
      }
      break;
    case 'params':
      for (const p of sel.patterns) paramPatterns.push(globToRegExp(p));
      break;
  }
  const blockParams = new Set(blocks.flatMap((b) => b.params));
  const bnParams = bnParamNames(graph);
  const selected = new Set<string>();
  for (const b of chosen) for (const p of b.params) selected.add(p);
  if (paramPatterns.length) {
    for (const re of paramPatterns) {
      const hit = [...blockParams].filter((p) => re.test(p));
      if (hit.length === 0) {
        throw new GraftError('NOT_FOUND', `--unfreeze params:${re.source} matches no parameter`, {
          choices: [...blockParams].slice(0, 20),
          fix: 'check the pattern against the parameter names (`graft inspect MODEL` lists them)',
        });
      }
      for (const p of hit) selected.add(p);
    }
  }
  const split = freeze(graph, {
    freeze: opts.freeze ? [...opts.freeze] : undefined,
    predicate: (p) => blockParams.has(p) && selected.has(p) && !(bnMode === 'frozen' && bnParams.has(p)),
  });
  const trainable = new Set(split.trainable);
  const planned: PlannedBlock[] = blocks.map((b) => {
    const t = b.params.filter((p) => trainable.has(p));
    const trains = t.length > 0;
    return {
      block: b,
      trainable: t,
      trainableCount: t.reduce((a, p) => a + (graph.initializers.get(p)?.size ?? 0), 0),
      bn: b.batchNorms.length === 0 ? 'none' : trains && bnMode === 'train' ? 'training' : 'inference',
    };
  });
  const firstTrainable = planned.findIndex((p) => p.trainable.length > 0);
  const ordered = planned.flatMap((p) => p.trainable);
  const all = blocks.flatMap((b) => b.params);
  return {
    blocks: planned,
    trainable: ordered,
    frozen: all.filter((p) => !trainable.has(p)),
    trainableCount: planned.reduce((a, p) => a + p.trainableCount, 0),
    totalCount: blocks.reduce((a, b) => a + b.paramCount, 0),
    firstTrainable,
    boundary: firstTrainable >= 0 ? blocks[firstTrainable]!.input : (blocks[blocks.length - 1]?.output ?? ''),
    bnMode,
    trainingBatchNorms: planned.filter((p) => p.bn === 'training').flatMap((p) => p.block.batchNorms),
    selector: sel,
  };
}

/** Scale and shift inputs of BatchNormalization nodes. */
function bnParamNames(graph: Graph): Set<string> {
  const out = new Set<string>();
  for (const n of graph.nodes) {
    if (n.opType !== 'BatchNormalization') continue;
    if (n.inputs[1]) out.add(n.inputs[1]);
    if (n.inputs[2]) out.add(n.inputs[2]);
  }
  return out;
}

function unknownBlock(name: string, names: readonly string[]): GraftError {
  return new GraftError('NOT_FOUND', `No block matches '${name}'`, {
    value: name,
    choices: names.slice(0, 40),
    fix: 'use a block name from the freeze report (`graft train ... --dry-run` prints it)',
  });
}

/**
 * The freeze report printed before training: one line per block with its trainable / total parameter
 * counts and how its BatchNormalization layers run, then the totals and where the trainable part begins.
 */
export function freezeReport(plan: FreezePlan): string[] {
  const w = Math.max(5, ...plan.blocks.map((p) => p.block.name.length));
  const lines = [`  ${'block'.padEnd(w)}  ${'trainable'.padStart(11)}  ${'params'.padStart(10)}  BN`];
  for (const p of plan.blocks) {
    const b = p.block;
    const bn = p.bn === 'none' ? '-' : `${b.batchNorms.length} x ${p.bn}`;
    const mark = p.trainable.length === 0 ? 'frozen' : p.trainable.length < b.params.length ? 'partly' : 'train';
    lines.push(
      `  ${b.name.padEnd(w)}  ${(p.trainable.length ? fmt(p.trainableCount) : '-').padStart(11)}  ${fmt(b.paramCount).padStart(10)}  ${bn.padEnd(14)} ${mark}`,
    );
  }
  const pct = plan.totalCount ? ((100 * plan.trainableCount) / plan.totalCount).toFixed(1) : '0';
  lines.push(
    `  trainable ${fmt(plan.trainableCount)} of ${fmt(plan.totalCount)} parameters (${pct}%), ${plan.trainable.length} tensors; unfreeze ${formatUnfreeze(plan.selector)}`,
  );
  const bns = plan.blocks.reduce((a, p) => a + p.block.batchNorms.length, 0);
  lines.push(
    bns === 0
      ? '  BatchNormalization: none in the graph (folded into the convolutions), nothing to keep in inference mode'
      : `  BatchNormalization: ${bns} layers; ${plan.trainingBatchNorms.length} on batch statistics (--bn ${plan.bnMode}), the rest on their running statistics`,
  );
  if (plan.firstTrainable >= 0) {
    lines.push(
      `  trainable part begins at block ${plan.blocks[plan.firstTrainable]!.block.name} (value ${plan.boundary})`,
    );
  }
  return lines;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
