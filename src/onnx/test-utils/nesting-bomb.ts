/**
 * Small model files that nest subgraphs (an If inside the then_branch of an If ...) or types (a sequence
 * of a sequence of ...) `depth` deep, written straight in protobuf's wire format so that no encoder's
 * own recursion limits the depth. 2,000 levels of If are 62 KB.
 */
export function nestingBomb(kind: 'subgraphs' | 'types', depth: number): Uint8Array {
  const text = (s: string) => new TextEncoder().encode(s);
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
    out.push(n);
    return out;
  };
  const field = (no: number, ...parts: Uint8Array[]) => {
    const inner = concat(parts);
    return concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(inner.length)]), inner]);
  };
  let graph: Uint8Array;
  if (kind === 'types') {
    // TypeProto.sequence_type(4) { elem_type(1): TypeProto }, innermost tensor_type(1) { elem_type: float }
    let type = field(1, Uint8Array.of(8, 1));
    for (let i = 0; i < depth; i++) type = field(4, field(1, type));
    const info = field(11, field(1, text('x')), field(2, type)); // GraphProto.input
    graph = concat([info, field(12, field(1, text('x')), field(2, type))]); // and .output
  } else {
    // GraphProto.node(1) { op_type(4) 'If', attribute(5) { name(1), type(20)=GRAPH, g(6): GraphProto } }
    graph = new Uint8Array();
    for (let i = 0; i < depth; i++) {
      const attr = field(5, field(1, text('then_branch')), Uint8Array.of(0xa0, 0x01, 5), field(6, graph));
      graph = field(1, field(4, text('If')), attr);
    }
  }
  // ModelProto { ir_version(1): 8, graph(7), opset_import(8) { version(2): 17 } }
  return concat([Uint8Array.of(8, 8), field(7, graph), field(8, Uint8Array.of(16, 17))]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
