// Tensors whose declared dims do not fit their data, or that declare absurd sizes, are refused with a
// GraftError naming the tensor before anything is allocated from the dims (issue 10, item 5); so is
// nesting deeper than the code after decoding can recurse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import protoPkg from 'onnx-proto';
import type { onnx as ProtoTypes } from 'onnx-proto';
import { GraftError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import { MAX_NESTING, decodeModel, decodeTensor, encodeModel } from './codec.js';
import { MAX_TENSOR_ELEMENTS, Tensor } from './tensor.js';
import { nestingBomb } from './test-utils/nesting-bomb.js';

const { onnx } = protoPkg;

function refused(fn: () => unknown, match: RegExp, name: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GraftError, `not a GraftError: ${String(e)}`);
    assert.equal(e.code, 'BAD_MODEL');
    assert.equal(e.fields.value, name);
    assert.match(e.message, match);
    return true;
  });
}

/** A model whose one initializer is the given TensorProto (with a node reading it). */
function modelWith(t: ProtoTypes.ITensorProto): Uint8Array {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1]);
  const w = b.initializer(t.name ?? 'w', new Float32Array(1), [1]);
  b.output(b.op('Add', [x, w]), 'float32', [1]);
  const proto = onnx.ModelProto.decode(encodeModel(b.build()));
  proto.graph!.initializer = [onnx.TensorProto.create(t)];
  return onnx.ModelProto.encode(proto).finish();
}

const HUGE = [100000, 100000, 100000];

test('1e5 x 1e5 x 1e5 initializers are refused by name, whatever holds their data', () => {
  const file = 'bomb.onnx';
  // no data at all (the typed-field path once allocated 4e15 bytes here)
  refused(() => decodeModel(modelWith({ name: 'w', dataType: 1, dims: HUGE }), { file }), /more elements/, 'w');
  // a few bytes of raw data
  refused(
    () => decodeModel(modelWith({ name: 'w', dataType: 1, dims: HUGE, rawData: new Uint8Array(16) }), { file }),
    /more elements/,
    'w',
  );
  // strings
  refused(
    () => decodeModel(modelWith({ name: 's', dataType: 8, dims: HUGE, stringData: [] }), { file }),
    /more elements/,
    's',
  );
  // external data
  const ext = {
    name: 'e',
    dataType: 1,
    dims: HUGE,
    dataLocation: 1,
    externalData: [{ key: 'location', value: 'w.bin' }],
  };
  refused(() => decodeModel(modelWith(ext), { file, externalData: () => new Uint8Array(4) }), /more elements/, 'e');
  // and the message names the file and the shape
  assert.throws(
    () => decodeModel(modelWith({ name: 'w', dataType: 1, dims: HUGE }), { file }),
    (e: unknown) =>
      e instanceof GraftError && e.fields.file === file && /100000, 100000, 100000/.test(e.fields.found ?? ''),
  );
});

test('negative dims, dims beyond 2^53 and element counts beyond 2^31 are refused', () => {
  refused(() => decodeTensor({ name: 'neg', dataType: 1, dims: [-1, 4] }), /invalid dimension \(-1\)/, 'neg');
  const big = { low: 0, high: 0x40000000, unsigned: false }; // 2^62
  refused(() => decodeTensor({ name: 'big', dataType: 1, dims: [0, big] as never }), /invalid dimension/, 'big');
  refused(() => decodeTensor({ name: 'over', dataType: 1, dims: [2 ** 31, 2] }), /more elements/, 'over');
  assert.throws(() => new Tensor('t', 'float32', [-2], {}), /invalid dimension/);
  assert.throws(() => new Tensor('t', 'float32', [MAX_TENSOR_ELEMENTS, 2], {}), /more elements/);
  // zero-sized tensors with large other dims are fine (no data, no allocation)
  assert.equal(decodeTensor({ name: 'empty', dataType: 1, dims: [0, 1000000000] }).size, 0);
});

test('data that does not match the dims is refused before it is copied', () => {
  refused(
    () => decodeTensor({ name: 'short', dataType: 1, dims: [1000, 1000], floatData: [1, 2, 3] }),
    /holds 3 values but its shape needs 1000000/,
    'short',
  );
  refused(
    () => decodeTensor({ name: 'raw', dataType: 1, dims: [3], rawData: new Uint8Array(8) }),
    /wrong number of bytes/,
    'raw',
  );
  refused(
    () => decodeTensor({ name: 'strs', dataType: 8, dims: [3], stringData: [Uint8Array.of(1)] }),
    /wrong number of strings/,
    'strs',
  );
  refused(() => decodeTensor({ name: 'none', dataType: 7, dims: [5] }), /holds 0 values but its shape needs 5/, 'none');
});

test('external data references are checked against the dims, before and after reading', () => {
  const ref = (kv: Record<string, string>, dims = [4]) => ({
    name: 'w',
    dataType: 1,
    dims,
    dataLocation: 1,
    externalData: Object.entries(kv).map(([key, value]) => ({ key, value })),
  });
  let reads = 0;
  const loader = (bytes: number) => () => {
    reads++;
    return new Uint8Array(bytes);
  };
  refused(() => decodeTensor(ref({ location: 'w.bin', length: '12' })), /wrong length/, 'w');
  refused(() => decodeTensor(ref({ location: 'w.bin', offset: '-4' })), /invalid external data offset/, 'w');
  refused(() => decodeTensor(ref({ location: 'w.bin', length: '1e9' })), /invalid external data length/, 'w');
  refused(
    () => decodeTensor(ref({ location: 'w.bin', offset: '99999999999999999999' })),
    /invalid external data offset/,
    'w',
  );
  // no length: the dims say how much to read, and the file must hold it
  const short = decodeTensor(ref({ location: 'w.bin', offset: '8' }), { externalData: loader(16) });
  refused(() => short.bytes, /runs past the end/, 'w');
  const ok = decodeTensor(ref({ location: 'w.bin', offset: '8' }), { externalData: loader(24) });
  assert.equal(ok.bytes.byteLength, 16);
  assert.equal(reads, 2);
});

test('subgraphs and types nested past MAX_NESTING are refused at decode (2,000 levels overflowed the stack)', () => {
  for (const kind of ['subgraphs', 'types'] as const) {
    decodeModel(nestingBomb(kind, MAX_NESTING - 1));
    for (const depth of [MAX_NESTING + 1, 2000]) {
      assert.throws(
        () => decodeModel(nestingBomb(kind, depth), { file: 'nest.onnx' }),
        (e: unknown) =>
          e instanceof GraftError &&
          e.code === 'BAD_MODEL' &&
          e.fields.file === 'nest.onnx' &&
          e.message.includes(`nests ${kind} more than ${MAX_NESTING} deep`),
        `${kind} ${depth}`,
      );
    }
  }
});

test('sparse tensors (kept encoded, made dense by onnxruntime) have their dense dims checked too', () => {
  const sparse = (dims: number[]) => ({
    values: { name: 'sp', dataType: 1, dims: [1], floatData: [1] },
    indices: { name: 'sp_idx', dataType: 7, dims: [1], int64Data: [0] },
    dims,
  });
  const withSparse = (dims: number[]) => {
    const proto = onnx.ModelProto.decode(modelWith({ name: 'w', dataType: 1, dims: [1], floatData: [0] }));
    proto.graph!.sparseInitializer = [onnx.SparseTensorProto.create(sparse(dims))];
    return onnx.ModelProto.encode(proto).finish();
  };
  assert.deepEqual(decodeModel(withSparse([4])).graph.sparseInitializerNames, ['sp']);
  refused(() => decodeModel(withSparse(HUGE)), /more elements/, 'sp');
  // a Constant's sparse_value
  const proto = onnx.ModelProto.decode(modelWith({ name: 'w', dataType: 1, dims: [1], floatData: [0] }));
  proto.graph!.node!.push(
    onnx.NodeProto.create({
      opType: 'Constant',
      output: ['c'],
      attribute: [
        { name: 'sparse_value', type: onnx.AttributeProto.AttributeType.SPARSE_TENSOR, sparseTensor: sparse(HUGE) },
      ],
    }),
  );
  refused(() => decodeModel(onnx.ModelProto.encode(proto).finish()), /more elements/, 'sp');
});
