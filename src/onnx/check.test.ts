import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { checkGraph } from './check.js';
import { Graph, Node } from './graph.js';
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
  bad(g, /before anything produces it/, { node: 'b', fix: 'call graph.toposort()' });
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
