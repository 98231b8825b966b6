import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { checkGraph, checkModel, graphProblems, modelProblems } from './check.js';
import { Graph, Model, Node } from './graph.js';
import { MAX_ONNX_OPSET } from './op-versions.js';
import { Tensor } from './tensor.js';

function graph(nodes: Node[], extra: Partial<ConstructorParameters<typeof Graph>[0]> = {}): Graph {
  return new Graph({
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
    outputs: [{ name: 'y' }],
    nodes,
    ...extra,
  });
}

function bad(g: Graph, match: RegExp, fields: Record<string, unknown> = {}) {
  assert.throws(
    () => checkGraph(g),
    (e: unknown) => {
      assert.ok(e instanceof GraftError, String(e));
      assert.equal(e.code, 'BAD_GRAPH');
      assert.match(e.message, match);
      for (const [k, v] of Object.entries(fields)) assert.equal(e.fields[k as keyof typeof e.fields], v, k);
      return true;
    },
  );
}

test('a valid graph passes and is returned', () => {
  const g = graph([new Node({ name: 'r', opType: 'Relu', inputs: ['x'], outputs: ['y'] })]);
  assert.equal(checkGraph(g), g);
});

test('a dangling input names the node, the value and the input index', () => {
  const g = graph([new Node({ name: 'add', opType: 'Add', inputs: ['x', 'nowhere'], outputs: ['y'] })]);
  bad(g, /reads 'nowhere'/, { node: 'add', value: 'nowhere', fix: 'connect input #1 to an existing value' });
});

test('an unsorted graph is told to call toposort', () => {
  const g = graph([
    new Node({ name: 'b', opType: 'Neg', inputs: ['t'], outputs: ['y'] }),
    new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['t'] }),
  ]);
  bad(g, /before anything produces it/, { node: 'b', found: 'it is produced later (not topologically sorted)' });
  g.toposort();
  checkGraph(g);
});

test('a value produced twice, or shadowing an input or initializer, is rejected', () => {
  bad(
    graph([
      new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['y'] }),
      new Node({ name: 'b', opType: 'Neg', inputs: ['x'], outputs: ['y'] }),
    ]),
    /produced more than once/,
    { node: 'b', value: 'y' },
  );
  bad(graph([new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['x'] })]), /produced more than once/);
  bad(
    graph([new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['w'] })], {
      outputs: [{ name: 'w' }],
      initializers: new Map([['w', Tensor.from('w', [1], [1])]]),
    }),
    /produced more than once/,
  );
});

test('a graph output nothing produces is rejected', () => {
  const g = graph([new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['t'] })]);
  bad(g, /graph output 'y' is never produced/, { value: 'y' });
});

test('duplicate inputs, duplicate node names and misnamed initializers are rejected', () => {
  bad(
    graph([new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['y'] })], {
      inputs: [
        { name: 'x', dtype: 'float32' },
        { name: 'x', dtype: 'float32' },
      ],
    }),
    /declared twice/,
  );
  bad(
    graph([
      new Node({ name: 'a', opType: 'Relu', inputs: ['x'], outputs: ['t'] }),
      new Node({ name: 'a', opType: 'Neg', inputs: ['t'], outputs: ['y'] }),
    ]),
    /two nodes are named 'a'/,
  );
  bad(
    graph([new Node({ name: 'a', opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] })], {
      initializers: new Map([['w', Tensor.from('other', [1], [1])]]),
    }),
    /stored under 'w' is named 'other'/,
  );
});

test('an initializer may double as a graph input (an overridable default)', () => {
  const g = graph([new Node({ name: 'a', opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] })], {
    inputs: [
      { name: 'x', dtype: 'float32' },
      { name: 'w', dtype: 'float32', shape: [1] },
    ],
    initializers: new Map([['w', Tensor.from('w', [1], [1])]]),
  });
  checkGraph(g);
});

test('subgraphs are checked too, with the enclosing scope visible', () => {
  const branch = (nodes: Node[], out: string) => new Graph({ name: 'branch', nodes, outputs: [{ name: out }] });
  const ifNode = (thenNodes: Node[], thenOut: string) =>
    new Node({
      name: 'if',
      opType: 'If',
      inputs: ['c'],
      outputs: ['y'],
      attrs: {
        then_branch: { type: 'graph', value: branch(thenNodes, thenOut) },
        else_branch: {
          type: 'graph',
          value: branch([new Node({ opType: 'Neg', inputs: ['x'], outputs: ['e'] })], 'e'),
        },
      },
    });
  const cmp = new Node({ name: 'c', opType: 'Identity', inputs: ['flag'], outputs: ['c'] });
  const withFlag = (n: Node) =>
    graph([cmp, n], {
      inputs: [
        { name: 'x', dtype: 'float32' },
        { name: 'flag', dtype: 'bool', shape: [] },
      ],
    });
  checkGraph(withFlag(ifNode([new Node({ opType: 'Relu', inputs: ['x'], outputs: ['t'] })], 't')));
  // unsorted inside the branch
  bad(
    withFlag(
      ifNode(
        [
          new Node({ name: 's2', opType: 'Neg', inputs: ['t0'], outputs: ['t'] }),
          new Node({ name: 's1', opType: 'Relu', inputs: ['x'], outputs: ['t0'] }),
        ],
        't',
      ),
    ),
    /not defined in scope|before anything produces it/,
  );
  // reads an outer value that does not exist
  bad(
    withFlag(ifNode([new Node({ opType: 'Relu', inputs: ['ghost'], outputs: ['t'] })], 't')),
    /reads 'ghost', which is not defined in scope/,
    { node: 'if' },
  );
  // branch output not produced
  bad(
    withFlag(ifNode([new Node({ opType: 'Relu', inputs: ['x'], outputs: ['t'] })], 'missing')),
    /not defined in scope|never produced/,
  );
});

test('a cycle is told apart from an unsorted list and names its nodes', () => {
  const g = graph([
    new Node({ name: 'a', opType: 'Add', inputs: ['x', 'c'], outputs: ['t'] }),
    new Node({ name: 'b', opType: 'Relu', inputs: ['t'], outputs: ['u'] }),
    new Node({ name: 'c', opType: 'Neg', inputs: ['u'], outputs: ['c'] }),
    new Node({ name: 'd', opType: 'Relu', inputs: ['u'], outputs: ['y'] }),
  ]);
  bad(g, /nodes form a cycle: a -> b -> c -> a/, { node: 'a', value: 'c' });
  const problems = graphProblems(g);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.throws(() => g.toposort(), /cycle/);
});

test('graphProblems lists every problem, not only the first', () => {
  const g = graph([
    new Node({ name: 'a', opType: 'Add', inputs: ['x', 'ghost'], outputs: ['t'] }),
    new Node({ name: 'b', opType: 'Mul', inputs: ['t', 'phantom'], outputs: ['t'] }),
  ]);
  const problems = graphProblems(g);
  assert.deepEqual(
    problems.map((p) => [p.message, p.node, p.value]),
    [
      ["node reads 'ghost', which nothing produces", 'a', 'ghost'],
      ["node reads 'phantom', which nothing produces", 'b', 'phantom'],
      ["value 't' is produced more than once", 'b', 't'],
      ["graph output 'y' is never produced", undefined, 'y'],
    ],
  );
  assert.equal(graphProblems(g, { limit: 2 }).length, 2);
});

function model(nodes: Node[], opsetImports = [{ domain: '', version: 17 }], extra: Partial<Graph> = {}): Model {
  return new Model(graph(nodes, extra), { opsetImports });
}

const relu = () => new Node({ name: 'r', opType: 'Relu', inputs: ['x'], outputs: ['y'] });

test('modelProblems: a valid model has none', () => {
  assert.deepEqual(modelProblems(model([relu()])), []);
  assert.deepEqual(
    modelProblems(
      model([new Node({ name: 'g', opType: 'Gelu', inputs: ['x'], outputs: ['y'] })], [{ domain: '', version: 20 }]),
    ),
    [],
  );
});

test('modelProblems: an opset newer than onnxruntime loads, or none at all', () => {
  const [p] = modelProblems(model([relu()], [{ domain: '', version: 999 }]));
  assert.equal(p?.code, 'BAD_MODEL');
  assert.match(p!.message, /opset 999 is not one Graft can run/);
  assert.match(p!.expected!, new RegExp(`from 1 to ${MAX_ONNX_OPSET}`));
  assert.deepEqual(modelProblems(model([relu()], [{ domain: '', version: MAX_ONNX_OPSET }])), []);
  assert.match(modelProblems(model([relu()], []))[0]!.message, /imports no ONNX opset/);
  assert.match(
    modelProblems(
      model(
        [relu()],
        [
          { domain: '', version: 13 },
          { domain: 'ai.onnx', version: 17 },
        ],
      ),
    )[0]!.message,
    /imports the domain 'ai.onnx' twice/,
  );
});

test('modelProblems: unknown ops, ops newer than the opset, deprecated ops, domains not imported', () => {
  const one = (n: Node, opset = 17, imports?: { domain: string; version: number }[]) => {
    const problems = modelProblems(model([n], imports ?? [{ domain: '', version: opset }]));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    return problems[0]!;
  };
  const foo = one(new Node({ name: 'f', opType: 'Frobnicate', inputs: ['x'], outputs: ['y'] }));
  assert.equal(foo.code, 'UNSUPPORTED_OP');
  assert.equal(foo.node, 'f');
  assert.match(foo.message, /'Frobnicate' is not an ONNX operator/);
  const gelu = one(new Node({ name: 'g', opType: 'Gelu', inputs: ['x'], outputs: ['y'] }));
  assert.match(gelu.message, /'Gelu' does not exist at the model's opset 17/);
  assert.match(gelu.fix, /opset 20 or newer/);
  const up = one(new Node({ name: 'u', opType: 'Upsample', inputs: ['x', 'x'], outputs: ['y'] }), 13);
  assert.match(up.message, /removed from ONNX at opset 10/);
  assert.match(up.fix, /Resize/);
  assert.deepEqual(
    modelProblems(
      model(
        [new Node({ name: 'u', opType: 'Upsample', inputs: ['x', 'x'], outputs: ['y'] })],
        [{ domain: '', version: 9 }],
      ),
    ),
    [],
  );
  const custom = new Node({ name: 'c', opType: 'Frobnicate', domain: 'com.example', inputs: ['x'], outputs: ['y'] });
  assert.match(one(custom).message, /domain 'com.example', which the model does not import/);
  assert.deepEqual(
    modelProblems(
      model(
        [custom],
        [
          { domain: '', version: 17 },
          { domain: 'com.example', version: 1 },
        ],
      ),
    ),
    [],
  );
  // a model-local function defines its op
  const m = model([new Node({ name: 'f', opType: 'MyOp', domain: '', inputs: ['x'], outputs: ['y'] })]);
  m.opaque = { functions: [{ domain: '', name: 'MyOp', bytes: new Uint8Array() }] };
  assert.deepEqual(modelProblems(m), []);
});

test('modelProblems: ops inside subgraphs are checked at the model opset too', () => {
  const body = new Graph({
    name: 'body',
    nodes: [new Node({ name: 'inner', opType: 'Frobnicate', inputs: ['x'], outputs: ['t'] })],
    outputs: [{ name: 't' }],
  });
  const n = new Node({
    name: 'if',
    opType: 'If',
    inputs: ['x'],
    outputs: ['y'],
    attrs: { then_branch: { type: 'graph', value: body }, else_branch: { type: 'graph', value: body.clone() } },
  });
  const [p] = modelProblems(model([n]));
  assert.equal(p?.node, 'inner');
  assert.equal(p?.graph, 'body');
});

test('modelProblems: impossible declared shapes name the value', () => {
  const m = model([relu()], undefined, {
    inputs: [{ name: 'x', dtype: 'float32', shape: [100000, 100000, 100000] }],
  });
  const [p] = modelProblems(m);
  assert.equal(p?.value, 'x');
  assert.match(p!.message, /impossible shape/);
  assert.match(p!.found!, /1\.00e\+15 elements/);
  const neg = model([relu()], undefined, { outputs: [{ name: 'y', dtype: 'float32', shape: ['N', -3] }] });
  assert.match(modelProblems(neg)[0]!.found!, /negative/);
  const seq = model([relu()], undefined, {
    inputs: [{ name: 'x', type: { kind: 'sequence', elem: { kind: 'tensor', shape: [-1] } } }],
  });
  assert.equal(modelProblems(seq)[0]?.value, 'x');
  // symbolic and unknown dims are fine
  assert.deepEqual(
    modelProblems(
      model([relu()], undefined, { inputs: [{ name: 'x', dtype: 'float32', shape: ['N', undefined, 3] }] }),
    ),
    [],
  );
});

test('checkModel throws the first problem as a GraftError with its fields', () => {
  assert.throws(
    () => checkModel(model([relu()], [{ domain: '', version: 999 }]), { file: 'm.onnx' }),
    (e: unknown) =>
      e instanceof GraftError && e.code === 'BAD_MODEL' && e.fields.file === 'm.onnx' && e.fields.opset === 999,
  );
});
