// Hostile and broken ONNX model files (issue 10, items 5 and 8): `graft inspect` validates the model and
// exits 1 listing the problems (also in --json); an initializer declaring 1e5 x 1e5 x 1e5 elements is a
// GraftError naming it, in inspect and in predict, before anything is allocated.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protoPkg from 'onnx-proto';
import sharp from 'sharp';
import { encodeModel } from '../../onnx/codec.js';
import { Graph, Model, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { nestingBomb } from '../../onnx/test-utils/nesting-bomb.js';
import type { AdversarialCase, AdversarialContext, AdversarialResult, AdversarialRun } from './types.js';

const { onnx } = protoPkg;

/** A model file from nodes built without any check (the point is that they are broken). */
function writeModel(ctx: AdversarialContext, nodes: Node[], opset = 17, extra: Partial<Graph> = {}): string {
  const graph = new Graph({
    name: 'broken',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
    nodes,
    ...extra,
  });
  const file = join(ctx.dir, 'model.onnx');
  writeFileSync(file, encodeModel(new Model(graph, { opsetImports: [{ domain: '', version: opset }] })));
  return file;
}

interface InspectJson {
  valid: boolean;
  problems: { code: string; message: string; node?: string; value?: string; fix: string }[];
}

/**
 * `graft inspect FILE` and `graft inspect FILE --json`: both exit 1 and list the problem (text: with its fix;
 * JSON: in `problems`, the first matching `first`).
 */
function inspectRuns(file: string, message: RegExp, first: Partial<InspectJson['problems'][number]>): AdversarialRun[] {
  return [
    {
      argv: ['inspect', file],
      expect: {
        exit: 1,
        stderr: /is not a valid model: \d+ problem/,
        stdout: new RegExp(`${message.source}[\\s\\S]*fix: `),
      },
    },
    {
      argv: ['inspect', file, '--json'],
      expect: {
        exit: 1,
        stderr: /is not a valid model/,
        check: (r: AdversarialResult) => {
          const report = JSON.parse(r.stdout) as InspectJson;
          assert.equal(report.valid, false);
          assert.ok(report.problems.length >= 1, r.stdout);
          assert.match(report.problems[0]!.message, message);
          for (const [k, v] of Object.entries(first)) assert.equal(report.problems[0]![k as 'code'], v, k);
        },
      },
    },
  ];
}

/** A classifier-looking model (Graft's metadata, one image input) whose weight declares 1e5^3 elements. */
async function initializerBomb(ctx: AdversarialContext): Promise<{ model: string; image: string }> {
  const graph = new Graph({
    name: 'classifier',
    inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', 2] }],
    initializers: new Map([['fc.w', Tensor.from('fc.w', new Float32Array(6), [3, 2])]]),
    nodes: [
      new Node({ name: 'pool', opType: 'GlobalAveragePool', inputs: ['pixel_values'], outputs: ['p'] }),
      new Node({ name: 'flat', opType: 'Flatten', inputs: ['p'], outputs: ['f'] }),
      new Node({ name: 'fc', opType: 'MatMul', inputs: ['f', 'fc.w'], outputs: ['logits'] }),
    ],
  });
  const model = new Model(graph);
  model.metadata.set('graft.labels', JSON.stringify(['cat', 'dog']));
  model.metadata.set(
    'graft.preprocessing',
    JSON.stringify({
      size: [8, 8],
      resize: 'squash',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      layout: 'NCHW',
      channels: 3,
    }),
  );
  // Graft's encoder cannot write such a tensor (its Tensor refuses the dims): swap it in at the proto level,
  // with no data at all, as the file that once ended in "Invalid typed array length" had.
  const proto = onnx.ModelProto.decode(encodeModel(model));
  proto.graph!.initializer = [onnx.TensorProto.create({ name: 'fc.w', dataType: 1, dims: [100000, 100000, 100000] })];
  const file = join(ctx.dir, 'bomb.onnx');
  writeFileSync(file, onnx.ModelProto.encode(proto).finish());
  const image = join(ctx.dir, 'cat.png');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
    .png()
    .toFile(image);
  return { model: file, image };
}

const names = (what: RegExp) => ({ exit: 1, stderr: what });

export const ONNX_CASES: readonly AdversarialCase[] = [
  {
    name: 'onnx-cyclic-graph',
    item: 8,
    setup: (ctx) =>
      inspectRuns(
        writeModel(ctx, [
          new Node({ name: 'a', opType: 'Add', inputs: ['x', 'c'], outputs: ['t'] }),
          new Node({ name: 'b', opType: 'Relu', inputs: ['t'], outputs: ['c'] }),
          new Node({ name: 'out', opType: 'Identity', inputs: ['c'], outputs: ['y'] }),
        ]),
        /nodes form a cycle: a -> b -> a/,
        { code: 'BAD_GRAPH', node: 'a', value: 'c' },
      ),
  },
  {
    name: 'onnx-dangling-input',
    item: 8,
    setup: (ctx) =>
      inspectRuns(
        writeModel(ctx, [new Node({ name: 'add', opType: 'Add', inputs: ['x', 'nowhere'], outputs: ['y'] })]),
        /node reads 'nowhere', which nothing produces/,
        { code: 'BAD_GRAPH', node: 'add', value: 'nowhere' },
      ),
  },
  {
    name: 'onnx-unknown-op',
    item: 8,
    setup: (ctx) =>
      inspectRuns(
        writeModel(ctx, [new Node({ name: 'frob', opType: 'Frobnicate', inputs: ['x'], outputs: ['y'] })]),
        /op 'Frobnicate' is not an ONNX operator/,
        { code: 'UNSUPPORTED_OP', node: 'frob' },
      ),
  },
  {
    name: 'onnx-opset-999',
    item: 8,
    setup: (ctx) =>
      inspectRuns(
        writeModel(ctx, [new Node({ name: 'r', opType: 'Relu', inputs: ['x'], outputs: ['y'] })], 999),
        /the model's ONNX opset 999 is not one Graft can run/,
        { code: 'BAD_MODEL' },
      ),
  },
  {
    name: 'onnx-declared-input-1e5-cubed',
    item: 5,
    setup: (ctx) =>
      inspectRuns(
        writeModel(ctx, [new Node({ name: 'r', opType: 'Relu', inputs: ['x'], outputs: ['y'] })], 17, {
          inputs: [{ name: 'x', dtype: 'float32', shape: [100000, 100000, 100000] }],
        }),
        /value 'x' declares an impossible shape/,
        { code: 'BAD_MODEL', value: 'x' },
      ),
  },
  {
    name: 'onnx-initializer-1e5-cubed',
    item: 5,
    async setup(ctx) {
      const { model, image } = await initializerBomb(ctx);
      const what = /Tensor 'fc\.w' declares more elements than Graft can hold/;
      return [
        { argv: ['inspect', model], expect: names(what) },
        {
          argv: ['inspect', model, '--json'],
          expect: {
            ...names(what),
            check: (r) => {
              const { error } = JSON.parse(r.stdout) as { error: { code: string; value: string } };
              assert.equal(error.code, 'BAD_MODEL');
              assert.equal(error.value, 'fc.w');
            },
          },
        },
        // predict reads the file first (before the Graft metadata or any image): the same refusal
        { argv: ['predict', model, image], expect: names(what) },
        { argv: ['predict', model, image, '--json'], expect: names(what) },
      ];
    },
  },
  {
    name: 'onnx-nesting-bomb',
    item: 5,
    setup(ctx) {
      // 62 KB of If inside If, 2,000 deep: once a stack overflow ('unexpected failure')
      const subgraphs = join(ctx.dir, 'nested-if.onnx');
      writeFileSync(subgraphs, nestingBomb('subgraphs', 2000));
      const types = join(ctx.dir, 'nested-seq.onnx');
      writeFileSync(types, nestingBomb('types', 2000));
      return [
        { argv: ['inspect', subgraphs], expect: names(/nests subgraphs more than \d+ deep/) },
        { argv: ['inspect', types, '--json'], expect: names(/nests types more than \d+ deep/) },
      ];
    },
  },
];
