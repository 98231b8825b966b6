import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { GraftError } from '../errors.js';
import { modelRelativePath } from '../util/model-paths.js';
import { confinedPath } from './confine.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'graft-confine-')));
after(() => rmSync(base, { recursive: true, force: true }));

// base/model/            the model's folder
//   w.bin, sub/x.bin     real files inside
//   inside-link -> w.bin, sub-link -> sub/  (links that stay inside)
//   outside-link -> base/outside/secret.txt, linked-dir -> base/outside/ (links that escape)
// base/outside/secret.txt
const model = join(base, 'model');
const outside = join(base, 'outside');
mkdirSync(join(model, 'sub'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(model, 'w.bin'), 'weights');
writeFileSync(join(model, 'sub', 'x.bin'), 'more');
writeFileSync(join(outside, 'secret.txt'), 'secret');
symlinkSync(join(model, 'w.bin'), join(model, 'inside-link'));
symlinkSync('sub', join(model, 'sub-link'));
symlinkSync(join(outside, 'secret.txt'), join(model, 'outside-link'));
symlinkSync(outside, join(model, 'linked-dir'));
symlinkSync('loop-b', join(model, 'loop-a'));
symlinkSync('loop-a', join(model, 'loop-b'));
const ctx = { field: 'weightsManifest[0].paths[0]', file: join(model, 'model.json') };

function refused(rel: string, code: 'BAD_MODEL' | 'NOT_FOUND', found: RegExp, root = model): void {
  assert.throws(
    () => confinedPath(root, rel, ctx),
    (e: unknown) => {
      assert.ok(e instanceof GraftError, String(e));
      assert.equal(e.code, code, `${rel}: ${e.message}`);
      assert.match(e.message, found, rel);
      assert.match(e.message, /weightsManifest\[0\]\.paths\[0\]/, 'names the field');
      assert.doesNotMatch(e.message, /secret$/m, 'never the contents');
      return true;
    },
    rel,
  );
}

test('confinedPath: files and links that stay inside the folder are accepted', () => {
  assert.equal(confinedPath(model, 'w.bin', ctx), join(model, 'w.bin'));
  assert.equal(confinedPath(model, './sub/x.bin', ctx), join(model, 'sub', 'x.bin'));
  assert.equal(confinedPath(model, 'sub/../w.bin', ctx), join(model, 'w.bin'));
  assert.equal(confinedPath(model, 'inside-link', ctx), join(model, 'w.bin'));
  assert.equal(confinedPath(model, 'sub-link/x.bin', ctx), join(model, 'sub', 'x.bin'));
  assert.equal(confinedPath(model, 'sub\\x.bin', ctx), join(model, 'sub', 'x.bin'), 'Windows separators');
});

test('confinedPath: a model folder reached through a symlinked folder is still its own root', () => {
  const alias = join(base, 'alias');
  symlinkSync(model, alias);
  assert.equal(confinedPath(alias, 'w.bin', ctx), join(model, 'w.bin'));
  refused('outside-link', 'BAD_MODEL', /outside the model folder[\s\S]*symlink/, alias);
});

test('confinedPath: symlinks to outside files and into outside folders are refused', () => {
  refused('outside-link', 'BAD_MODEL', /outside the model folder[\s\S]*resolves to .*outside/);
  refused('linked-dir/secret.txt', 'BAD_MODEL', /outside the model folder/);
  refused('loop-a', 'BAD_MODEL', /symlink loop/);
});

test('confinedPath: "..", absolute, drive-letter, URL and Windows-style climbing paths are refused', () => {
  refused('../outside/secret.txt', 'BAD_MODEL', /climb out/);
  refused('sub/../../outside/secret.txt', 'BAD_MODEL', /climb out/);
  refused('..\\outside\\secret.txt', 'BAD_MODEL', /climb out/);
  refused(join(outside, 'secret.txt'), 'BAD_MODEL', /an absolute path/);
  refused('\\\\server\\share\\x', 'BAD_MODEL', /an absolute path/);
  refused('C:\\Windows\\win.ini', 'BAD_MODEL', /drive letter/);
  refused('file:///etc/passwd', 'BAD_MODEL', /a URL/);
  refused('', 'BAD_MODEL', /empty/);
  refused('.', 'BAD_MODEL', /the model folder itself/);
  refused('w.bin\0.png', 'BAD_MODEL', /NUL/);
});

test('confinedPath: missing files are NOT_FOUND, folders and FIFOs are refused', () => {
  refused('nope.bin', 'NOT_FOUND', /not in the model folder/);
  refused('sub', 'BAD_MODEL', /a folder/);
  try {
    execFileSync('mkfifo', [join(model, 'fifo.bin')]);
  } catch {
    return; // no mkfifo on this system: the folder case above covers the check
  }
  refused('fifo.bin', 'BAD_MODEL', /special file[\s\S]*a FIFO/);
});

test('modelRelativePath normalizes without a file system (browser side)', () => {
  assert.equal(modelRelativePath('a//./b\\c.bin', ctx), 'a/b/c.bin');
  assert.throws(() => modelRelativePath('a/../../b', ctx), /climb out/);
  assert.throws(() => modelRelativePath('https://evil.example/x.bin', ctx), /a URL/);
});
