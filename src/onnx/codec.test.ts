import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from './builder.js';
import protoPkg from 'onnx-proto';
import type { onnx as ProtoTypes } from 'onnx-proto';
import { GraftError } from '../errors.js';
import { decodeModel, decodeTensor, encodeModel } from './codec.js';
import { checkGraph } from './check.js';
import { Node, type Graph } from './graph.js';
import { Tensor } from './tensor.js';
import { modelDiff } from './test-utils/graph-diff.js';
import { protoDiff } from './test-utils/proto-diff.js';
import { Session, f32 } from '../runtime/session.js';

test('MLP built in code runs in onnxruntime and round-trips losslessly', async () => {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 4]);
  const w1 = b.initializer(
    'w1',
    Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)),
    [4, 8],
  );
  const b1 = b.initializer('b1', new Float32Array(8).fill(0.1), [8]);
  const h = b.op('Relu', [b.op('Gemm', [x, w1, b1])]);
  const w2 = b.initializer(
    'w2',
    Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)),
    [8, 3],
  );
  const y = b.op('MatMul', [h, w2], undefined, { outputs: ['logits'] });
  b.output(y, 'float32', ['N', 3]);
  const model = b.build();
  model.metadata.set('graft.labels', '["a","b","c"]');

  const bytes = encodeModel(model);
  const back = decodeModel(bytes);
  assert.deepEqual(encodeModel(back), bytes);
  assert.equal(back.metadata.get('graft.labels'), '["a","b","c"]');
  assert.deepEqual(back.graph.inputs[0]!.shape, ['N', 4]);

  const feeds = { x: f32([1, 2, 3, 4, -1, 0, 1, 2], [2, 4]) };
  const s1 = await Session.create(model);
  const s2 = await Session.create(back);
  const o1 = await s1.run(feeds);
  const o2 = await s2.run(feeds);
  assert.deepEqual(o1.logits!.data, o2.logits!.data);
  await s1.dispose();
  await s2.dispose();
});

test('int64 attributes beyond 2^53 round-trip exactly', () => {
  const b = new GraphBuilder('big');
  const x = b.input('x', 'float32', [1]);
  const huge = [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 5, -7];
  b.output(
    b.op('Identity', [x], {
      one: 2n ** 62n + 3n,
      neg: -(2n ** 60n) - 1n,
      small: 12,
      many: { type: 'ints', value: huge },
    }),
  );
  const back = decodeModel(encodeModel(b.build()));
  const n = back.graph.nodes[0]!;
  assert.deepEqual(n.attrs.one, { type: 'int', value: 2n ** 62n + 3n });
  assert.deepEqual(n.attrs.neg, { type: 'int', value: -(2n ** 60n) - 1n });
  assert.deepEqual(n.attrs.small, { type: 'int', value: 12 });
  assert.deepEqual(n.attrs.many, { type: 'ints', value: huge });
  assert.deepEqual(modelDiff(b.build(), back), []);
});

test('tensors stored in typed fields (int64_data, float_data) decode to the same values', () => {
  const { onnx } = protoPkg;
  const big = 2n ** 60n + 1n;
  const bigLong = { low: Number(big & 0xffffffffn), high: Number(big >> 32n), unsigned: false };
  const i64 = decodeTensor(
    onnx.TensorProto.create({ name: 'i', dataType: 7, dims: [3], int64Data: [bigLong, -2, 3] as never }),
  );
  assert.deepEqual([...(i64.toArray() as BigInt64Array)], [big, -2n, 3n]);
  const f = decodeTensor(onnx.TensorProto.create({ name: 'f', dataType: 1, dims: [2], floatData: [1.5, -2] }));
  assert.deepEqual([...f.toArray()], [1.5, -2]);
  assert.throws(
    () => decodeTensor(onnx.TensorProto.create({ name: 'short', dataType: 1, dims: [3], floatData: [1] })),
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL',
  );
});

test('an If node with subgraphs round-trips and runs the same in onnxruntime', async () => {
  const thenB = new GraphBuilder('then');
  const k = thenB.initializer('k', Float32Array.of(10, 20), [2]);
  const t = thenB.op('Add', ['x', k], undefined, { outputs: ['then_out'] });
  thenB.output(t, 'float32', [2]);
  const elseB = new GraphBuilder('else');
  elseB.output(elseB.op('Neg', ['x'], undefined, { outputs: ['else_out'] }), 'float32', [2]);

  const b = new GraphBuilder('with_if');
  b.input('x', 'float32', [2]);
  b.input('c', 'bool', []);
  const y = b.op('If', ['c'], { then_branch: thenB.graph, else_branch: elseB.graph }, { outputs: ['y'] });
  b.output(y, 'float32', [2]);
  const model = b.build();

  const bytes = encodeModel(model);
  const back = decodeModel(bytes);
  assert.deepEqual(modelDiff(model, back), []);
  assert.deepEqual(encodeModel(back), bytes);
  const thenBack = back.graph.nodes[0]!.attrs.then_branch!.value as Graph;
  assert.deepEqual([...thenBack.initializers.get('k')!.toArray()], [10, 20]);

  const s = await Session.create(back);
  const x = f32([1, 2], [2]);
  const yes = await s.run({ x, c: { dtype: 'bool', dims: [], data: Uint8Array.of(1) } });
  const no = await s.run({ x, c: { dtype: 'bool', dims: [], data: Uint8Array.of(0) } });
  await s.dispose();
  assert.deepEqual([...yes.y!.data], [11, 22]);
  assert.deepEqual([...no.y!.data], [-1, -2]);
});

test('external initializer data is read lazily through the loader', () => {
  const file = new Uint8Array(new Float32Array([0, 1.5, 2.5, -3]).buffer);
  const b = new GraphBuilder('ext');
  const x = b.input('x', 'float32', [2]);
  b.graph.initializers.set(
    'w',
    new Tensor('w', 'float32', [2], { external: { location: 'sub/w.bin', offset: 4, length: 8, extra: { k: 'v' } } }),
  );
  b.output(b.op('Add', [x, 'w']));
  const bytes = encodeModel(b.build(), { keepExternal: true });

  const asked: string[] = [];
  const m = decodeModel(bytes, {
    externalData: (loc) => {
      asked.push(loc);
      return file;
    },
  });
  const w = m.graph.initializers.get('w')!;
  assert.equal(w.isLoaded, false);
  assert.deepEqual(w.external, { location: 'sub/w.bin', offset: 4, length: 8, extra: { k: 'v' } });
  assert.deepEqual(asked, []);
  assert.deepEqual([...w.toArray()], [1.5, 2.5]);
  assert.deepEqual(asked, ['sub/w.bin']);
  // untouched external tensors are written back as references; loaded ones inline
  const again = decodeModel(encodeModel(decodeModel(bytes), { keepExternal: true }));
  assert.deepEqual(again.graph.initializers.get('w')!.external?.location, 'sub/w.bin');
  const inline = decodeModel(encodeModel(m));
  assert.equal(inline.graph.initializers.get('w')!.external, undefined);
  assert.deepEqual([...inline.graph.initializers.get('w')!.toArray()], [1.5, 2.5]);

  const noLoader = decodeModel(bytes, { file: 'm.onnx' });
  assert.throws(
    () => noLoader.graph.initializers.get('w')!.bytes,
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && /loadOnnxFile/.test(e.fields.fix ?? ''),
  );
  const short = decodeModel(bytes, { externalData: () => file.subarray(0, 8) });
  assert.throws(
    () => short.graph.initializers.get('w')!.bytes,
    (e: unknown) => e instanceof GraftError && /runs past the end/.test(e.message),
  );
});

test('bytes that are not a model give BAD_MODEL naming the file', () => {
  assert.throws(
    () => decodeModel(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), { file: 'junk.onnx' }),
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && e.fields.file === 'junk.onnx',
  );
});

/** A ModelProto using every part of the format Graft carries without interpreting, written with protobufjs. */
function everythingModel(): Uint8Array {
  const { onnx } = protoPkg;
  const T = onnx.AttributeProto.AttributeType;
  const f32 = (name: string, dims: number[], values: number[]) =>
    onnx.TensorProto.create({ name, dataType: 1, dims, floatData: values });
  const tensorType = (elemType: number, dims?: (number | string | null)[], denotation?: string) =>
    onnx.TypeProto.create({
      denotation,
      tensorType: {
        elemType,
        shape: dims && {
          dim: dims.map((d, i) =>
            onnx.TensorShapeProto.Dimension.create({
              ...(typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {}),
              denotation: i === 0 ? 'DATA_BATCH' : undefined,
            }),
          ),
        },
      },
    });
  const seq = (elemType: ProtoTypes.ITypeProto) => onnx.TypeProto.create({ sequenceType: { elemType } });
  const sparse = onnx.SparseTensorProto.create({
    values: f32('sp', [2], [1.5, -2]),
    indices: onnx.TensorProto.create({ name: 'sp_idx', dataType: 7, dims: [2], int64Data: [0, 3] }),
    dims: [4],
  });
  const attr = (a: Record<string, unknown>) => onnx.AttributeProto.create(a as ProtoTypes.IAttributeProto);
  const graph = onnx.GraphProto.create({
    name: 'everything',
    docString: 'graph doc',
    input: [
      { name: 'x', type: tensorType(1, ['N', 4], 'TENSOR'), docString: 'x doc' },
      { name: 'xs', type: seq(tensorType(1, [null, 4])) },
      { name: 'maybe', type: onnx.TypeProto.create({ optionalType: { elemType: seq(tensorType(7, [])) } }) },
      {
        name: 'table',
        type: onnx.TypeProto.create({ mapType: { keyType: 7, valueType: tensorType(1) }, denotation: 'MAP' }),
      },
      {
        name: 'sparse_in',
        type: onnx.TypeProto.create({ sparseTensorType: { elemType: 1, shape: { dim: [{ dimValue: 8 }] } } }),
      },
      { name: 'untyped' },
    ],
    output: [
      { name: 'y', type: tensorType(1, ['N', 4]) },
      { name: 'xs_out', type: seq(tensorType(1)) },
    ],
    valueInfo: [{ name: 'h', type: tensorType(1, ['N', 4]), docString: 'h doc' }],
    initializer: [
      onnx.TensorProto.create({ ...f32('w', [4], [1, 2, 3, 4]), docString: 'w doc' }),
      onnx.TensorProto.create({
        name: 'words',
        dataType: 8,
        dims: [2],
        stringData: [Uint8Array.of(0xff, 0), Uint8Array.of()],
      }),
    ],
    sparseInitializer: [sparse],
    quantizationAnnotation: [{ tensorName: 'w', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'w' }] }],
    node: [
      {
        name: 'add',
        opType: 'Add',
        input: ['x', 'w'],
        output: ['h'],
        docString: 'node doc',
        attribute: [
          attr({ name: 'note', type: T.STRING, s: Uint8Array.of(0xef, 0xbb, 0xbf, 0x41), docString: 'attr doc' }),
          attr({ name: 'bytes', type: T.STRING, s: Uint8Array.of(0xc3, 0x28) }),
          attr({ name: 'mixed', type: T.STRINGS, strings: [Uint8Array.of(0x61), Uint8Array.of(0xff)] }),
          attr({ name: '__proto__', type: T.INT, i: 7 }),
          attr({ name: 'ref', type: T.FLOAT, refAttrName: 'alpha' }),
          attr({ name: 'tp', type: T.TYPE_PROTO, tp: seq(tensorType(1)) }),
          attr({ name: 'sp', type: T.SPARSE_TENSOR, sparseTensor: sparse }),
          attr({ name: 'zero', type: T.FLOAT, f: -0 }),
        ],
      },
      { name: 'call', opType: 'MyRelu', domain: 'my.functions', input: ['h'], output: ['y'] },
      { name: 'id', opType: 'Identity', input: ['xs'], output: ['xs_out'] },
    ],
  });
  const fn = onnx.FunctionProto.create({
    name: 'MyRelu',
    domain: 'my.functions',
    input: ['a'],
    output: ['b'],
    node: [{ opType: 'Relu', input: ['a'], output: ['b'] }],
    opsetImport: [{ domain: '', version: 17 }],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'my.functions', version: 1 },
      ],
      producerName: 'hand',
      producerVersion: '1',
      domain: 'test.graft',
      modelVersion: 3,
      docString: 'model doc',
      graph,
      metadataProps: [
        { key: 'b', value: '2' },
        { key: 'a', value: '1' },
      ],
      functions: [fn],
      trainingInfo: [{ algorithm: { name: 'algo' } }],
    }),
  ).finish();
}

test('decode -> encode keeps every part of the format: value types, denotations, doc strings, odd attributes', () => {
  const original = everythingModel();
  const model = decodeModel(original);
  const reencoded = encodeModel(model);
  assert.deepEqual(protoDiff(original, reencoded), []);
  assert.deepEqual(modelDiff(model, decodeModel(reencoded)), []);
  assert.deepEqual(modelDiff(model, model.clone()), []);
  assert.deepEqual(protoDiff(original, encodeModel(model.clone())), []);

  const g = model.graph;
  assert.deepEqual(g.inputs[0], {
    name: 'x',
    docString: 'x doc',
    dtype: 'float32',
    shape: ['N', 4],
    denotation: 'TENSOR',
    dimDenotations: ['DATA_BATCH', undefined],
  });
  assert.deepEqual(g.inputs[2]!.type, {
    kind: 'optional',
    elem: { kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64', shape: [] } },
  });
  assert.deepEqual(g.inputs[3]!.type, {
    kind: 'map',
    key: 'int64',
    value: { kind: 'tensor', dtype: 'float32' },
    denotation: 'MAP',
  });
  assert.equal(g.inputs[3]!.dtype, undefined);
  assert.deepEqual(g.sparseInitializerNames, ['sp']);
  const attrs = g.nodes[0]!.attrs;
  assert.deepEqual(attrs.note, { type: 'string', value: '\ufeffA', docString: 'attr doc' });
  assert.equal(attrs.bytes!.type, 'opaque');
  assert.equal(attrs.mixed!.type, 'opaque');
  assert.equal(attrs.ref!.type, 'opaque');
  assert.deepEqual(Object.getOwnPropertyDescriptor(attrs, '__proto__')?.value, { type: 'int', value: 7 });
  assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
  // sparse initializers define values: ordering and checks see them
  g.nodes.push(new Node({ opType: 'Add', inputs: ['h', 'sp'], outputs: ['h2'] }));
  g.touch().toposort();
  checkGraph(g);
});

test('a sparse initializer survives the round trip and onnxruntime runs both models the same', async () => {
  const { onnx } = protoPkg;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'sparse',
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
      sparseInitializer: [
        {
          values: { name: 'w', dataType: 1, dims: [2], floatData: [10, 20] },
          indices: { name: 'w_idx', dataType: 7, dims: [2], int64Data: [1, 3] },
          dims: [4],
        },
      ],
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
    },
  });
  const original = onnx.ModelProto.encode(model).finish();
  const reencoded = encodeModel(decodeModel(original));
  assert.deepEqual(protoDiff(original, reencoded), []);
  const feeds = { x: f32([1, 2, 3, 4], [4]) };
  const outputs: number[][] = [];
  for (const bytes of [original, reencoded]) {
    const s = await Session.create(bytes);
    outputs.push([...(await s.run(feeds)).y!.data] as number[]);
    await s.dispose();
  }
  assert.deepEqual(outputs, [
    [1, 12, 3, 24],
    [1, 12, 3, 24],
  ]);
});
