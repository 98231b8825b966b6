import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../../errors.js';
import { extractExportedLiteral } from '../formats/js-literal.js';
import { readEmbeddedTfjsModel } from './embedded.js';
import { importTfjsModelFile } from './index.js';
import { assertClose, onnxPredict, randomData } from './test-utils/fixtures.js';
import { saveLayersModel, tfl, tfReady, tfjsLayersPredict } from './test-utils/tfjs.js';

const UMD_HEAD =
  '!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();else{(this).model=e()}}' +
  '(function(){return function e(a,n,i){function l(_,o){var r=n[_]={exports:{}};a[_][0].call(r.exports,function(e){return l(e)},r,r.exports)}' +
  'return l}({1:[function(e,a,n){a.exports=';
const UMD_TAIL = '},{}]},{},[1])(1)});';

test('bundle literal reader: the forms minifiers write', () => {
  const v = extractExportedLiteral(
    `${UMD_HEAD}{a:!0,b:!1,"c d":null,e:void 0,f:.5,g:-.03,h:1e-3,i:[1,2,[3,],],j:'x\\'y\\n\\u00e9\\x41',` +
      `k:1/0,l:-1/0,m:0x10, /* note */ n:{o:"p"}, // tail\n q:-2.5E+2, __proto__: {polluted: 1}, 7: "seven"}${UMD_TAIL}`,
  ) as Record<string, unknown>;
  assert.deepEqual(Object.fromEntries(Object.entries(v).filter(([k]) => k !== '__proto__')), {
    a: true,
    b: false,
    'c d': null,
    e: undefined,
    f: 0.5,
    g: -0.03,
    h: 0.001,
    i: [1, 2, [3]],
    j: "x'y\né\u0041",
    k: Infinity,
    l: -Infinity,
    m: 16,
    n: { o: 'p' },
    q: -250,
    7: 'seven',
  });
  assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { polluted: 1 });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(extractExportedLiteral(`${UMD_HEAD}"QUJD"${UMD_TAIL}`), 'QUJD');
});

test('bundle literal reader: code is refused, not run', () => {
  for (const src of [
    `${UMD_HEAD}{a:require("fs")}${UMD_TAIL}`,
    `${UMD_HEAD}{get a(){return 1}}${UMD_TAIL}`,
    'module.exports=e()',
    `${UMD_HEAD}${'['.repeat(600)}${UMD_TAIL}`,
    `${UMD_HEAD}"bad \\x4g escape"${UMD_TAIL}`,
    `${UMD_HEAD}{a:truex}${UMD_TAIL}`,
  ]) {
    assert.throws(
      () => extractExportedLiteral(src, 'evil.js'),
      (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && e.fields.file === 'evil.js',
    );
  }
});

/** Writes a value as a minified JS literal (unquoted keys, !0/!1), the way terser writes nsfwjs's bundles. */
function jsLiteral(v: unknown): string {
  if (v === true) return '!0';
  if (v === false) return '!1';
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v).replace(/^(-?)0\./, '$1.');
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jsLiteral).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{${entries.map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}:${jsLiteral(x)}`).join(',')}}`;
}

test('embedded layers model (nsfwjs-style .min.js bundles) imports and matches TF.js', async () => {
  await tfReady();
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu6',
      }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  const { modelJson, readFile } = await saveLayersModel(model);
  const shard = await readFile('group1-shard1of1.bin');
  const manifest = modelJson.weightsManifest!.map((g) => ({
    ...g,
    paths: g.paths.map((p) => p.replace(/\.bin$/, '')),
  }));
  const files: Record<string, string> = {
    'web/model.min.js': `${UMD_HEAD}${jsLiteral({ modelTopology: modelJson.modelTopology, weightsManifest: manifest })}${UMD_TAIL}`,
    'web/group1-shard1of1.min.js': `${UMD_HEAD}"${Buffer.from(shard).toString('base64')}"${UMD_TAIL}`,
  };
  const read = async (p: string) => {
    const f = files[p];
    if (f === undefined) throw new Error(`ENOENT ${p}`);
    return new TextEncoder().encode(f);
  };
  const embedded = await readEmbeddedTfjsModel(read, 'web/model.min.js');
  assert.deepEqual(embedded.modelJson.modelTopology, modelJson.modelTopology);
  assert.deepEqual(await embedded.readFile('group1-shard1of1'), shard);

  const x = { data: randomData([2, 8, 8, 3], 3), shape: [2, 8, 8, 3] };
  const [expected] = await tfjsLayersPredict(modelJson, readFile, x);
  const imported = await importTfjsModelFile(read, 'web/model.min.js');
  const actual = await onnxPredict(imported, { [imported.graph.inputs[0]!.name]: x });
  assertClose(actual[imported.graph.outputs[0]!.name], expected!, 1e-4, 'output');
  model.dispose();
});
