// Errors about files that are not what they claim to be never quote them (issue 10): a crafted model may
// point a reader at a secret (an .env file, a line of /etc/passwd), and errors go to terminals and CI logs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GraftError } from '../../errors.js';
import { importTfjsModelFile } from '../importers/index.js';
import { readEmbeddedTfjsModel } from '../importers/embedded.js';
import { loadWeights } from '../importers/weights.js';
import type { WeightsGroup } from '../importers/types.js';
import { loadRegistry } from '../node/user-models.js';
import { bundleExport, decodeBase64, extractExportedLiteral, parseJsLiteral } from './js-literal.js';
import { jsonErrorPosition } from './json.js';
import { parseLabels, parseTfjsModelJson } from './tfjs-files.js';
import { readWinkVectors } from './word-vectors.js';

const SECRET = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI';
const enc = new TextEncoder();

/** Runs `fn`, which must fail with a GraftError, and checks no part of the secret is in what it says. */
async function refusedQuietly(what: string, fn: () => unknown): Promise<GraftError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof GraftError, `${what}: expected a GraftError, got ${String(caught)}`);
  const said = `${caught.message}\n${JSON.stringify(caught.toJSON())}`;
  for (const piece of ['AWS_SECRET', 'wJalrXUtnFEMI', 'SECRET_ACCESS']) {
    assert.ok(!said.includes(piece), `${what} echoed the file: ${said}`);
  }
  return caught;
}

test('parse errors of zoo formats give a position or a shape, never the text', async () => {
  const text = `${SECRET}\n${SECRET}\n`;
  const e = await refusedQuietly('model.json', () => parseTfjsModelJson(enc.encode(text), 'model.json'));
  assert.match(e.message, /not valid JSON[\s\S]*found: +text that is not JSON \(\d+ characters\)/);
  await refusedQuietly('model.json object', () =>
    parseTfjsModelJson(enc.encode(JSON.stringify({ [SECRET]: SECRET })), 'model.json'),
  );
  await refusedQuietly('bundle', () => bundleExport(text, 'model.min.js'));
  await refusedQuietly('bundle literal', () => bundleExport(`{1:[function(e,a,n){a.exports=${SECRET}}]}`, 'x.js'));
  await refusedQuietly('exported literal', () => extractExportedLiteral(text, 'x.js'));
  await refusedQuietly('literal', () => parseJsLiteral(`{a: 1, ${SECRET}}`, 'x.js'));
  await refusedQuietly('base64', () => decodeBase64(`QUJD${SECRET}`, 'shard.js'));
  await refusedQuietly('labels', () => parseLabels(enc.encode(text), 'labels.json', 'json'));
  await refusedQuietly('labels shape', () => parseLabels(enc.encode(JSON.stringify({ x: SECRET })), 'l.json', 'json'));
  await refusedQuietly('word vectors', () => readWinkVectors(enc.encode(`{"dimensions": ${SECRET}}`), 'w.json'));
  await refusedQuietly('model.json through the importer', () =>
    importTfjsModelFile(async () => enc.encode(text), 'model.json'),
  );
  await refusedQuietly('embedded model', () =>
    readEmbeddedTfjsModel(async () => enc.encode(`module.exports = {"${SECRET}": 1}`), 'model.min.js'),
  );
  await refusedQuietly('weights group', () =>
    loadWeights([{ paths: SECRET, weights: [] } as unknown as WeightsGroup], async () => new Uint8Array()),
  );
  const position = jsonErrorPosition(new SyntaxError('Unexpected token in JSON at position 7'), '{"a":1,\n x}');
  assert.equal(position, 'invalid JSON at line 1, column 8 (11 characters)');
});

test('a models file that is not JSON is reported by position, not quoted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-no-echo-'));
  try {
    writeFileSync(join(dir, 'models.json'), `{"models": [${SECRET}]}`);
    await refusedQuietly('models file', () => loadRegistry({ modelsFile: join(dir, 'models.json') }));
    writeFileSync(join(dir, 'models.json'), JSON.stringify({ [SECRET]: [] }));
    await refusedQuietly('models file keys', () => loadRegistry({ modelsFile: join(dir, 'models.json') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
