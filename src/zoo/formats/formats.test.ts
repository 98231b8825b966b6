import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../../errors.js';
import { Session } from '../../runtime/session.js';
import { encodeModel } from '../../onnx/codec.js';
import { bundleExport, decodeBase64, parseJsLiteral } from './js-literal.js';
import { parseLabels, parseTfjsModelJson, shardReader } from './tfjs-files.js';
import { readWinkVectors, wordVectorsModel } from './word-vectors.js';

const enc = new TextEncoder();

test('JS literals parse like the engine would, without evaluating anything', () => {
  const src = `{a:1,"b":[.5,-.25,1e-3,0x1F,!0,!1,null,void 0],'c':"x\\ny\\u0041\\x42",3:{},d:[],e:"",}`;
  assert.deepEqual(parseJsLiteral(src), {
    a: 1,
    b: [0.5, -0.25, 0.001, 31, true, false, null, undefined],
    c: 'x\nyAB',
    3: {},
    d: [],
    e: '',
  });
  const proto = parseJsLiteral('{__proto__:{polluted:1}}') as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(proto), ['__proto__']);
  assert.throws(
    () => parseJsLiteral('{a:foo()}'),
    (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL',
  );
  assert.throws(() => parseJsLiteral('['.repeat(600)), /nesting/);
  assert.throws(() => parseJsLiteral('!'.repeat(600) + '0'), /nesting/);
  // forms the embedded-bundle importer met in the wild
  assert.deepEqual(parseJsLiteral('[1/0,-1/0,-0x10,0o17,0b101,undefined,void "x",!"",// c\n 2]'), [
    Infinity,
    -Infinity,
    -16,
    15,
    5,
    undefined,
    undefined,
    true,
    2,
  ]);
  assert.ok(Number.isNaN(parseJsLiteral('0/0')));
});

test('browserify bundles: model.json object and base64 shards come out; code bundles are refused', () => {
  const weights = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 255);
  const wrap = (lit: string) =>
    `!function(e){module.exports=e()}(function(){return function e(a,n,i){}({1:[function(e,a,n){a.exports=${lit}},{}]},{},[1])(1)});`;
  const model = wrap(`{modelTopology:{class_name:"Model"},weightsManifest:[{paths:["group1-shard1of1"],weights:[]}]}`);
  const mj = parseTfjsModelJson(enc.encode(model), 'model.min.js');
  assert.deepEqual(mj.weightsManifest![0]!.paths, ['group1-shard1of1']);
  const shard = wrap(`"${Buffer.from(weights).toString('base64')}"`);
  const read = shardReader(async () => enc.encode(shard), new Map([['group1-shard1of1', 'group1-shard1of1.min.js']]));
  return read('group1-shard1of1').then((bytes) => {
    assert.deepEqual(bytes, weights);
    assert.throws(() => bundleExport('module.exports = require("x")', 'x.js'), /Not a browserify bundle/);
  });
});

test('base64 decoding matches Node for every padding length and rejects junk', () => {
  for (let n = 0; n < 20; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 91 + 7) & 255);
    assert.deepEqual(decodeBase64(Buffer.from(b).toString('base64')), b);
  }
  assert.throws(() => decodeBase64('ab$d'), /not base64/);
});

function winkFile(words: string[], dims: number): Uint8Array {
  const vectors = Object.fromEntries(
    words.map((w, i) => [w, [...Array.from({ length: dims }, (_, d) => i + d / 10), 1.5, i]]),
  );
  // 'vectors' is a word too: the reader must find the key, not the word
  return enc.encode(
    JSON.stringify({
      precision: 8,
      l2NormIndex: dims,
      wordIndex: dims + 1,
      size: words.length,
      dimensions: dims,
      words,
      vectors,
      unkVector: [0],
    }),
  );
}

test('word vectors: read by frequency rank, trimmed, and served by an ONNX Gather', async () => {
  const words = ['the', ',', 'vectors', 'caf\u00e9', 'say "hi"'];
  const v = readWinkVectors(winkFile(words, 3), 'w.json');
  assert.deepEqual(v.words, words);
  assert.deepEqual(Array.from(v.vectors.subarray(9, 12)), [3, 3.1, 3.2].map(Math.fround));
  const top = readWinkVectors(winkFile(words, 3), 'w.json', 2);
  assert.deepEqual(top.words, ['the', ',']);
  assert.equal(top.vectors.length, 6);

  const model = wordVectorsModel(v);
  assert.deepEqual(JSON.parse(model.metadata.get('graft.vocabulary')!), words);
  const s = await Session.create(encodeModel(model));
  try {
    const out = await s.run({ token_ids: { dtype: 'int64', dims: [1, 3], data: BigInt64Array.from([2n, 5n, 0n]) } });
    const vectors = out.vectors!;
    assert.deepEqual(vectors.dims, [1, 3, 3]);
    assert.deepEqual(Array.from(vectors.data as Float32Array), [2, 2.1, 2.2, 0, 0, 0, 0, 0.1, 0.2].map(Math.fround));
  } finally {
    s.dispose();
  }
  assert.throws(() => readWinkVectors(enc.encode('{"dimensions":3}'), 'x.json'), /wordIndex/);
});

test('labels come from arrays, index maps and Hugging Face configs', () => {
  assert.deepEqual(parseLabels(enc.encode('["a","b"]'), 'l.json', 'json'), ['a', 'b']);
  assert.deepEqual(parseLabels(enc.encode('{"1":"b","0":"a"}'), 'l.json', 'json'), ['a', 'b']);
  assert.deepEqual(parseLabels(enc.encode('{"id2label":{"0":"cat","1":"dog"}}'), 'config.json', 'hf-config'), [
    'cat',
    'dog',
  ]);
  assert.throws(() => parseLabels(enc.encode('{"x":1}'), 'l.json', 'json'), /Cannot read class names/);
});
