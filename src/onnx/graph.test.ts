import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import { checkGraph } from './check.js';
import { Graph, Node } from './graph.js';
import { Tensor } from './tensor.js';

/** A small diamond with a side branch: x -> a -> (b, c) -> d -> y, plus dead -> unused. */
function diamond(): Graph {
  const b = new GraphBuilder('diamond');
  const x = b.input('x', 'float32', [2, 3]);
  const a = b.op('Relu', [x], undefined, { outputs: ['a'] });
  const bb = b.op('Neg', [a], undefined, { outputs: ['b'] });
  const w = b.initializer('w', new Float32Array(6).fill(2), [2, 3]);
  const c = b.op('Mul', [a, w], undefined, { outputs: ['c'] });
  const d = b.op('Add', [bb, c], undefined, { outputs: ['d'] });
  b.initializer('unused_w', new Float32Array(4), [4]);
  b.op('Exp', [d], undefined, { outputs: ['dead'] });
  b.op('Sigmoid', ['unused_w'], undefined, { outputs: ['dead2'] });
  b.output(d, 'float32', [2, 3]);
  return b.graph;
}

/** Deterministic Fisher-Yates so a failing order can be reproduced from the printed seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('toposort orders shuffled nodes so every input is produced first', () => {
  const g = diamond();
  const original = g.nodes.map((n) => n.name);
  for (let seed = 1; seed <= 25; seed++) {
    g.nodes = shuffled(g.nodes, seed);
    g.touch().toposort();
    const seen = new Set(['x', 'w', 'unused_w', '']);
    for (const n of g.nodes) {
      for (const i of n.inputs) assert.ok(seen.has(i), `seed ${seed}: ${n.name} reads ${i} before it exists`);
      for (const o of n.outputs) seen.add(o);
    }
    assert.equal(g.nodes.length, original.length, `seed ${seed}`);
    checkGraph(g);
  }
});

test('toposort keeps an already sorted graph in its order', () => {
  const g = diamond();
  const before = g.nodes.map((n) => n.name);
  g.toposort();
  assert.deepEqual(
    g.nodes.map((n) => n.name),
    before,
  );
});

test('toposort reports a cycle and a value nothing produces', () => {
  const cyc = new Graph({
    name: 'cyc',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    outputs: [{ name: 'b' }],
    nodes: [
      new Node({ name: 'n1', opType: 'Add', inputs: ['x', 'b'], outputs: ['a'] }),
      new Node({ name: 'n2', opType: 'Relu', inputs: ['a'], outputs: ['b'] }),
    ],
  });
  assert.throws(
    () => cyc.toposort(),
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_GRAPH' && /cycle/.test(e.message),
  );
  const dangling = new Graph({
    name: 'dangling',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    nodes: [new Node({ name: 'n1', opType: 'Add', inputs: ['x', 'ghost'], outputs: ['a'] })],
  });
  assert.throws(
    () => dangling.toposort(),
    (e: unknown) => e instanceof GraftError && e.fields.node === 'n1' && /ghost/.test(e.fields.found ?? ''),
  );
});

test('toposort of a subgraph accepts names from the enclosing scope', () => {
  const body = new Graph({
    name: 'body',
    nodes: [
      new Node({ name: 's2', opType: 'Neg', inputs: ['t'], outputs: ['u'] }),
      new Node({ name: 's1', opType: 'Relu', inputs: ['outer_x'], outputs: ['t'] }),
    ],
    outputs: [{ name: 'u' }],
  });
  assert.throws(() => body.clone().toposort(), GraftError);
  body.toposort(['outer_x']);
  assert.deepEqual(
    body.nodes.map((n) => n.name),
    ['s1', 's2'],
  );
});

test('cleanup removes dead nodes and unread initializers, keeps outputs and inputs', () => {
  const g = diamond();
  g.inputs.push({ name: 'spare', dtype: 'float32', shape: [1] });
  g.valueInfo.set('dead', { name: 'dead', dtype: 'float32', shape: [2, 3] });
  g.valueInfo.set('c', { name: 'c', dtype: 'float32', shape: [2, 3] });
  g.cleanup();
  assert.deepEqual(g.nodes.map((n) => n.outputs[0]).sort(), ['a', 'b', 'c', 'd']);
  assert.deepEqual([...g.initializers.keys()], ['w']);
  assert.deepEqual(
    g.inputs.map((i) => i.name),
    ['x', 'spare'],
  );
  assert.deepEqual([...g.valueInfo.keys()], ['c']);
  assert.deepEqual(
    g.outputs.map((o) => o.name),
    ['d'],
  );
  checkGraph(g);
});

test('cleanup keeps producers listed after their consumers, and values read by subgraphs', () => {
  const g = new Graph({
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
    outputs: [{ name: 'y' }],
    initializers: new Map([['k', Tensor.from('k', [3], [1])]]),
    nodes: [
      new Node({
        name: 'if',
        opType: 'If',
        inputs: ['cond'],
        outputs: ['y'],
        attrs: {
          then_branch: {
            type: 'graph',
            value: new Graph({
              name: 'then',
              nodes: [new Node({ opType: 'Identity', inputs: ['k'], outputs: ['t'] })],
              outputs: [{ name: 't' }],
            }),
          },
          else_branch: {
            type: 'graph',
            value: new Graph({
              name: 'else',
              nodes: [new Node({ opType: 'Identity', inputs: ['x'], outputs: ['e'] })],
              outputs: [{ name: 'e' }],
            }),
          },
        },
      }),
      new Node({ name: 'cmp', opType: 'Greater', inputs: ['x', 'k'], outputs: ['cond'] }),
      new Node({ name: 'dead', opType: 'Neg', inputs: ['x'], outputs: ['z'] }),
    ],
  });
  g.cleanup();
  assert.deepEqual(
    g.nodes.map((n) => n.name),
    ['if', 'cmp'],
  );
  assert.ok(g.initializers.has('k'));
  g.toposort();
  checkGraph(g);
});

test('producer/consumer index follows edits made through graph methods', () => {
  const g = diamond();
  assert.equal(g.producer('c')?.opType, 'Mul');
  assert.deepEqual(
    g.consumers('a').map((n) => n.opType),
    ['Neg', 'Mul'],
  );
  g.replaceAllUses('c', 'b');
  assert.deepEqual(g.consumers('c'), []);
  assert.deepEqual(g.nodes.find((n) => n.opType === 'Add')!.inputs, ['b', 'b']);
  assert.equal(g.consumers('b').length, 1); // Add reads 'b' twice but is listed once
});

test('uniqueName never returns a value or node name already in use', () => {
  const g = diamond();
  const used = new Set([...g.allValueNames(), ...g.nodes.map((n) => n.name)]);
  for (const base of ['a', 'Relu', 'w', 'fresh']) {
    const n = g.uniqueName(base);
    assert.ok(!used.has(n), `${base} -> ${n}`);
    used.add(n);
    g.addNode(new Node({ name: n, opType: 'Identity', inputs: ['x'], outputs: [g.uniqueName(`${n}_o`)] }));
  }
});

test('clone is deep: editing the copy leaves the original untouched', () => {
  const g = diamond();
  const constNode = new Node({
    name: 'k',
    opType: 'Constant',
    inputs: [],
    outputs: ['kv'],
    attrs: { value: { type: 'tensor', value: Tensor.from('kv', [1, 2], [2]) }, perm: { type: 'ints', value: [1, 0] } },
  });
  g.addNode(constNode);
  const c = g.clone();
  c.nodes[0]!.inputs[0] = 'changed';
  c.inputs[0]!.shape![0] = 99;
  (c.initializers.get('w')!.toArray() as Float32Array)[0] = 5; // toArray is a copy
  c.initializers.get('w')!.setData(new Float32Array(6).fill(7));
  const cConst = c.nodes.find((n) => n.name === 'k')!;
  (cConst.attrs.value!.value as Tensor).setData(Float32Array.of(9, 9));
  (cConst.attrs.perm!.value as number[])[0] = 5;
  assert.equal(g.nodes[0]!.inputs[0], 'x');
  assert.equal(g.inputs[0]!.shape![0], 2);
  assert.deepEqual([...(g.initializers.get('w')!.toArray() as Float32Array)], [2, 2, 2, 2, 2, 2]);
  assert.deepEqual([...(constNode.attrs.value!.value as Tensor).toArray()], [1, 2]);
  assert.deepEqual(constNode.attrs.perm!.value, [1, 0]);
});

test('clone keeps external data lazy and independent', () => {
  let reads = 0;
  const file = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const t = new Tensor('w', 'float32', [2], {
    external: { location: 'w.bin', offset: 8, length: 8 },
    loader: () => {
      reads++;
      return file;
    },
  });
  const g = new Graph({ initializers: new Map([['w', t]]) });
  const c = g.clone();
  assert.equal(reads, 0);
  assert.equal(c.initializers.get('w')!.isLoaded, false);
  c.initializers.get('w')!.setData(Float32Array.of(8, 9));
  assert.deepEqual([...t.toArray()], [3, 4]);
  assert.equal(reads, 1);
});

test('Node typed attribute accessors convert and reject wrong types', () => {
  const n = new Node({
    name: 'n',
    opType: 'X',
    inputs: [],
    outputs: [],
    attrs: {
      big: { type: 'int', value: 2n ** 60n },
      k: { type: 'int', value: 3 },
      axes: { type: 'ints', value: [1n, -1] },
      alpha: { type: 'float', value: 0.5 },
      mode: { type: 'string', value: 'constant' },
    },
  });
  assert.equal(n.intAttr('big', 0), Number.MAX_SAFE_INTEGER);
  assert.equal(n.intAttr('k', 0), 3);
  assert.equal(n.intAttr('absent', 7), 7);
  assert.deepEqual(n.intsAttr('axes'), [1, -1]);
  assert.equal(n.floatAttr('alpha', 1), 0.5);
  assert.equal(n.floatAttr('k', 1), 3);
  assert.equal(n.stringAttr('mode', ''), 'constant');
  assert.throws(
    () => n.intAttr('mode', 0),
    (e: unknown) => e instanceof GraftError && e.fields.expected === 'int' && e.fields.found === 'string',
  );
  assert.throws(() => n.intsAttr('k'), GraftError);
});
