// A digest of a graph's content, independent of how the codec serialises it: used to show that the
// training graphs built for the CPU are exactly what they were (provider-specific formulations must not
// leak into them).
import { createHash } from 'node:crypto';
import type { Attr, Graph, Model, ValueInfo } from '../../onnx/graph.js';

function attrText(a: Attr): string {
  switch (a.type) {
    case 'tensor':
      return `tensor ${a.value.dtype} [${a.value.dims.join(',')}] ${sha(a.value.bytes)}`;
    case 'graph':
      return `graph ${graphText(a.value)}`;
    case 'graphs':
      return `graphs ${a.value.map(graphText).join('|')}`;
    case 'tensors':
      return `tensors ${a.value.map((t) => sha(t.bytes)).join(',')}`;
    case 'opaque':
      return `opaque ${sha(a.value)}`;
    default:
      return `${a.type} ${JSON.stringify(a.value, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`;
  }
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const info = (v: ValueInfo) => `${v.name}:${v.dtype ?? '?'}[${(v.shape ?? []).join(',')}]`;

function graphText(g: Graph): string {
  const lines: string[] = [];
  lines.push(`inputs ${g.inputs.map(info).join(' ')}`);
  lines.push(`outputs ${g.outputs.map(info).join(' ')}`);
  for (const name of [...g.initializers.keys()].sort()) {
    const t = g.initializers.get(name)!;
    lines.push(`init ${name} ${t.dtype} [${t.dims.join(',')}] ${sha(t.bytes)}`);
  }
  for (const n of g.nodes) {
    const attrs = Object.keys(n.attrs)
      .sort()
      .map((k) => `${k}=${attrText(n.attrs[k]!)}`);
    lines.push(
      `node ${n.name} ${n.domain}:${n.opType} (${n.inputs.join(',')}) -> (${n.outputs.join(',')}) ${attrs.join(' ')}`,
    );
  }
  return lines.join('\n');
}

/** sha256 of the graph's inputs, outputs, initializers (by content) and nodes in order with their attributes. */
export function graphDigest(model: Model): string {
  return sha(`opset ${model.opset}\n${graphText(model.graph)}`);
}
