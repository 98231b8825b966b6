import type { Attr, Graph, Model, ValueInfo } from '../graph.js';
import type { Tensor } from '../tensor.js';

/**
 * Field-by-field differences between two models, as readable paths ('graph.nodes[3].attrs.pads: ...').
 * Empty when the IR is identical: the check fixture round trips are held to.
 */
export function modelDiff(a: Model, b: Model): string[] {
  const out: string[] = [];
  const fields = ['irVersion', 'producerName', 'producerVersion', 'domain', 'modelVersion', 'docString'] as const;
  for (const f of fields) if (a[f] !== b[f]) out.push(`${f}: ${String(a[f])} != ${String(b[f])}`);
  same(out, 'opsetImports', JSON.stringify(a.opsetImports), JSON.stringify(b.opsetImports));
  same(out, 'metadata', JSON.stringify([...a.metadata]), JSON.stringify([...b.metadata]));
  const fa = a.opaque?.functions ?? [];
  const fb = b.opaque?.functions ?? [];
  same(
    out,
    'opaque.functions ops',
    fa.map((f) => `${f.domain}.${f.name}`).join(),
    fb.map((f) => `${f.domain}.${f.name}`).join(),
  );
  bytesList(
    out,
    'opaque.functions',
    fa.map((f) => f.bytes),
    fb.map((f) => f.bytes),
  );
  bytesList(out, 'opaque.trainingInfo', a.opaque?.trainingInfo, b.opaque?.trainingInfo);
  out.push(...graphDiff(a.graph, b.graph, 'graph'));
  return out;
}

export function graphDiff(a: Graph, b: Graph, path = 'graph'): string[] {
  const out: string[] = [];
  same(out, `${path}.name`, a.name, b.name);
  same(out, `${path}.docString`, a.docString ?? '', b.docString ?? '');
  infos(out, `${path}.inputs`, a.inputs, b.inputs);
  infos(out, `${path}.outputs`, a.outputs, b.outputs);
  infos(out, `${path}.valueInfo`, [...a.valueInfo.values()], [...b.valueInfo.values()]);
  same(out, `${path}.valueInfo keys`, [...a.valueInfo.keys()].join(','), [...b.valueInfo.keys()].join(','));
  same(out, `${path}.initializers`, [...a.initializers.keys()].join(','), [...b.initializers.keys()].join(','));
  for (const [k, t] of a.initializers) {
    const u = b.initializers.get(k);
    if (u) tensor(out, `${path}.initializers[${k}]`, t, u);
  }
  same(out, `${path}.nodes.length`, a.nodes.length, b.nodes.length);
  a.nodes.forEach((n, i) => {
    const m = b.nodes[i];
    if (!m) return;
    const p = `${path}.nodes[${i}](${n.name})`;
    same(out, `${p}.name`, n.name, m.name);
    same(out, `${p}.opType`, n.opType, m.opType);
    same(out, `${p}.domain`, n.domain, m.domain);
    same(out, `${p}.docString`, n.docString ?? '', m.docString ?? '');
    same(out, `${p}.inputs`, n.inputs.join(','), m.inputs.join(','));
    same(out, `${p}.outputs`, n.outputs.join(','), m.outputs.join(','));
    same(out, `${p}.attrs`, Object.keys(n.attrs).join(','), Object.keys(m.attrs).join(','));
    for (const [k, at] of Object.entries(n.attrs)) {
      const bt = m.attrs[k];
      if (bt) attr(out, `${p}.attrs.${k}`, at, bt);
    }
  });
  const sa = a.opaque?.sparseInitializers ?? [];
  const sb = b.opaque?.sparseInitializers ?? [];
  same(
    out,
    `${path}.opaque.sparseInitializers names`,
    sa.map((s) => s.name).join(','),
    sb.map((s) => s.name).join(','),
  );
  bytesList(
    out,
    `${path}.opaque.sparseInitializers`,
    sa.map((s) => s.bytes),
    sb.map((s) => s.bytes),
  );
  bytesList(
    out,
    `${path}.opaque.quantizationAnnotation`,
    a.opaque?.quantizationAnnotation,
    b.opaque?.quantizationAnnotation,
  );
  return out;
}

function attr(out: string[], path: string, a: Attr, b: Attr): void {
  same(out, `${path}.docString`, a.docString ?? '', b.docString ?? '');
  if (a.type !== b.type) {
    out.push(`${path}.type: ${a.type} != ${b.type}`);
    return;
  }
  switch (a.type) {
    case 'tensor':
      tensor(out, path, a.value, b.value as Tensor);
      return;
    case 'tensors': {
      const bs = b.value as Tensor[];
      same(out, `${path}.length`, a.value.length, bs.length);
      a.value.forEach((t, i) => bs[i] && tensor(out, `${path}[${i}]`, t, bs[i]!));
      return;
    }
    case 'graph':
      out.push(...graphDiff(a.value, b.value as Graph, path));
      return;
    case 'graphs': {
      const bs = b.value as Graph[];
      same(out, `${path}.length`, a.value.length, bs.length);
      a.value.forEach((g, i) => bs[i] && out.push(...graphDiff(g, bs[i]!, `${path}[${i}]`)));
      return;
    }
    case 'opaque':
      bytesList(out, path, [a.value], [b.value as Uint8Array]);
      return;
    default:
      // Object.is tells -0 from 0 and NaN from NaN, which plain equality would hide.
      if (Array.isArray(a.value)) {
        const bv = b.value as unknown[];
        const eq = a.value.length === bv.length && a.value.every((v, i) => Object.is(v, bv[i]));
        if (!eq) out.push(`${path}: [${a.value.join(',')}] != [${bv.join(',')}]`);
      } else if (!Object.is(a.value, b.value)) out.push(`${path}: ${String(a.value)} != ${String(b.value)}`);
  }
}

function tensor(out: string[], path: string, a: Tensor, b: Tensor): void {
  same(out, `${path}.name`, a.name, b.name);
  same(out, `${path}.dtype`, a.dtype, b.dtype);
  same(out, `${path}.dims`, a.dims.join(','), b.dims.join(','));
  same(out, `${path}.docString`, a.docString ?? '', b.docString ?? '');
  if (a.dtype === 'string') {
    bytesList(out, `${path}.strings`, a.stringData, b.stringData);
    return;
  }
  if (!equalBytes(a.bytes, b.bytes)) out.push(`${path}.bytes differ`);
}

function infos(out: string[], path: string, a: ValueInfo[], b: ValueInfo[]): void {
  same(out, `${path}.length`, a.length, b.length);
  a.forEach((v, i) => {
    const w = b[i];
    if (!w) return;
    const p = `${path}[${i}](${v.name})`;
    same(out, `${p}.name`, v.name, w.name);
    same(out, `${p}.dtype`, String(v.dtype), String(w.dtype));
    same(out, `${p}.shape`, JSON.stringify(v.shape ?? null), JSON.stringify(w.shape ?? null));
    same(out, `${p}.docString`, v.docString ?? '', w.docString ?? '');
    same(out, `${p}.denotation`, v.denotation ?? '', w.denotation ?? '');
    same(
      out,
      `${p}.dimDenotations`,
      JSON.stringify(v.dimDenotations ?? null),
      JSON.stringify(w.dimDenotations ?? null),
    );
    same(out, `${p}.type`, canonical(v.type), canonical(w.type));
  });
}

/** JSON with object keys sorted and undefined members left out, so equal types print equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

function bytesList(out: string[], path: string, a: Uint8Array[] = [], b: Uint8Array[] = []): void {
  same(out, `${path}.length`, a.length, b.length);
  a.forEach((x, i) => b[i] && !equalBytes(x, b[i]!) && out.push(`${path}[${i}] differs`));
}

function same(out: string[], path: string, a: string | number, b: string | number): void {
  if (a !== b) out.push(`${path}: ${a} != ${b}`);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
