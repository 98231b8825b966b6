import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, formatReaches } from './test-utils/browser-bundle.js';

// The package as a user gets it: `npm pack` in a copy of the sources (prepack builds dist/ there, so the
// checkout keeps no dist/), the tarball installed into an empty project with `npm ci --offline` from the
// npm cache that installing this repository filled, then the `graft` command, the library in plain Node
// (no tsx), its types, its browser build, and the README's library example, unchanged.
const root = fileURLToPath(new URL('../', import.meta.url));
interface PackageJson {
  name: string;
  version: string;
  license: string;
  engines: Record<string, string>;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  exports: Record<string, string | Record<string, unknown>>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/** npm 11's allowScripts (which the consumer uses to skip onnxruntime-node's CUDA download) exists here. */
const npmHasAllowScripts =
  spawnSync('npm', ['config', 'get', 'allow-scripts-pin'], { encoding: 'utf8' }).stdout.trim() === 'true';

let work: string;
let consumer: string;
let tarball: string;
let packed: string[] = [];
before(() => {
  work = mkdtempSync(join(tmpdir(), 'graft-pack-'));
  const source = join(work, 'source');
  copySources(source);
  const pack = npm(['pack', '--json', '--pack-destination', work], source, 300_000);
  assert.equal(pack.status, 0, `npm pack failed:\n${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  packed = info!.files.map((f) => f.path);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeConsumer(consumer, tarball);
  const install = npm(['ci', '--offline', '--no-audit', '--no-fund'], consumer, 300_000);
  assert.equal(install.status, 0, `npm ci --offline of the tarball failed:\n${install.stderr}`);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What `npm pack` needs to build and pack: package.json, the compiler settings, src/, the studio's build script and the `files` it names. */
function copySources(dest: string): void {
  mkdirSync(dest);
  const paths = [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'src',
    // run by the build after tsc: bundles the studio's page and worker into dist/studio-web
    'scripts/build-studio.mjs',
    ...pkg.files,
  ];
  for (const p of paths) {
    if (p.startsWith('!') || p === 'dist' || !existsSync(join(root, p))) continue;
    cpSync(join(root, p), join(dest, p), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'), 'dir');
}

/**
 * An empty project that depends on the tarball, with a lockfile holding exactly this repository's locked
 * versions of the package's dependencies: `npm install --offline` would resolve version ranges against
 * registry metadata that `npm ci` never cached, and fail (ENOTCACHED) or pick versions nobody tested.
 */
function writeConsumer(dir: string, tgz: string): void {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  const spec = `file:${tgz}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && !entry.dev && !entry.link) packages[path] = entry;
  }
  const manifest = {
    name: 'consumer',
    private: true,
    type: 'module',
    dependencies: { [pkg.name]: spec },
    // onnxruntime-node's install script downloads CUDA binaries (README: "Offline installs")
    allowScripts: { 'onnxruntime-node': false, protobufjs: false },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(dir, 'package-lock.json'),
    `${JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
}

/** The environment of a fresh shell: none of the npm_* settings `npm test` hands its scripts. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_(lifecycle|package)_/.test(k) && k !== 'npm_config_local_prefix' && k !== 'INIT_CWD') env[k] = v;
  }
  // npm 10 has no allowScripts: onnxruntime-node's own switch keeps its install script off the network there
  if (!npmHasAllowScripts) env.ONNXRUNTIME_NODE_INSTALL = 'skip';
  return { ...env, ...extra };
}

function npm(args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout });
}

function node(args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout });
}

/** The packed copy of the sources, built by prepack: a checkout after `npm run build`. */
const checkout = () => join(work, 'source');

test('npx graft runs the built CLI of the installed package without tsx, and the bin of a checkout', () => {
  assert.ok(!existsSync(join(consumer, 'node_modules', 'tsx')), 'tsx is installed in the consumer project');
  const npx = (args: string[], cwd: string) =>
    spawnSync('npx', ['--offline', 'graft', ...args], { cwd, env: cleanEnv(), encoding: 'utf8' });
  const help = npx(['--help'], consumer);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: graft <command>/m);
  assert.match(help.stdout, /graft train \[DATA\]/);
  assert.equal(npx(['--version'], consumer).stdout.trim(), `graft ${pkg.version}`);
  assert.equal(npx(['--version'], checkout()).stdout.trim(), `graft ${pkg.version}`, 'npx graft in a checkout');
});

test('the tarball holds the built library, its types, the bin and the demo data, and no sources or tests', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const files = typeof target === 'string' ? [target] : JSON.stringify(target).match(/\.\/[^"]+/g)!;
    for (const f of files) assert.ok(packed.includes(f.slice(2)), `exports['${subpath}'] names ${f}, not packed`);
  }
  for (const f of ['bin/graft.js', 'dist/cli/main.js', 'dist/runtime/ort.web.js', 'README.md']) {
    assert.ok(packed.includes(f), `${f} is not packed`);
  }
  assert.ok(
    packed.some((f) => f.startsWith('fixtures/fashion-mnist-small/train/')),
    'the demo data is not packed',
  );
  const unwanted = packed.filter((f) => /^src\/|\.test\.|test-utils|test-fixtures|adversarial|\.map$/.test(f));
  assert.deepEqual(unwanted, [], 'sources, tests or source maps in the tarball');
});

test('npm link in a checkout puts graft on PATH: the built CLI, or the sources through tsx before a build', () => {
  const prefix = join(work, 'global');
  const link = spawnSync('npm', ['link', '--offline', '--no-audit', '--no-fund'], {
    cwd: checkout(),
    env: cleanEnv({ npm_config_prefix: prefix }),
    encoding: 'utf8',
  });
  assert.equal(link.status, 0, link.stderr);
  const path = `${join(prefix, 'bin')}${delimiter}${process.env.PATH ?? ''}`;
  const graft = () =>
    spawnSync('graft', ['--version'], { cwd: tmpdir(), env: cleanEnv({ PATH: path }), encoding: 'utf8' });
  const built = graft();
  assert.equal(built.status, 0, built.stderr);
  assert.equal(built.stdout.trim(), `graft ${pkg.version}`);
  // not built: bin/graft.js runs the TypeScript sources through the checkout's tsx
  renameSync(join(checkout(), 'dist'), join(checkout(), 'dist-moved'));
  try {
    const fromSource = graft();
    assert.equal(fromSource.status, 0, fromSource.stderr);
    assert.equal(fromSource.stdout.trim(), `graft ${pkg.version}`);
  } finally {
    renameSync(join(checkout(), 'dist-moved'), join(checkout(), 'dist'));
  }
});

const LIBRARY_CHECK = `
import assert from 'node:assert/strict';
import {
  GraphBuilder, attachHead, freeze, buildTrainingGraph, Trainer, paramsFromModel, applyTrainedParams,
  encodeModel, decodeModel, Session, f32, availableDevices, GraftError,
} from 'graft';
import * as train from 'graft/train';

// a tiny "backbone": [N, 4] -> MatMul -> Relu = [N, 3] features
const b = new GraphBuilder('tiny');
const x = b.input('x', 'float32', ['N', 4]);
const w = b.initializer('backbone_w', Float32Array.from({ length: 12 }, (_, i) => (i % 5) / 5 - 0.4), [4, 3]);
b.output(b.op('Relu', [b.op('MatMul', [x, w])], undefined, { outputs: ['features'] }), 'float32', ['N', 3]);
const backbone = b.build({ opset: 17 });

const grafted = attachHead(backbone, 'features', { numClasses: 2, seed: 1 });
const { trainable, frozen } = freeze(grafted.model.graph, { train: grafted.headParams });
assert.deepEqual(frozen, ['backbone_w']);
const training = buildTrainingGraph(grafted.model, { logits: grafted.logits, loss: { kind: 'softmax-cross-entropy' }, trainable });
const trainer = new Trainer({
  graph: training,
  params: paramsFromModel(grafted.model, training.params),
  optimizer: { name: 'sgd', lr: 0.5 },
  batchSize: 4,
  epochs: 1,
  session: { intraOpThreads: 1 },
});
const features = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
const labels = Int32Array.from([0, 1, 0, 1]);
const before = await trainer.evaluate({ features, labels });
const { history, params } = await trainer.fit({ features, labels });
await trainer.dispose();
assert.equal(history.length, 1);
assert.equal(history[0].steps, 1, 'one Trainer step');
assert.ok(Number.isFinite(history[0].trainLoss));
assert.notDeepEqual([...params[trainable[0]]], [...paramsFromModel(grafted.model, [trainable[0]])[trainable[0]]]);

const trained = decodeModel(encodeModel(applyTrainedParams(grafted.model, params)));
const session = await Session.create(trained, { intraOpThreads: 1 });
const out = await session.run({ x: f32(features, [4, 4]) });
await session.dispose();
assert.deepEqual(out[grafted.logits].dims, [4, 2]);
assert.ok(availableDevices().includes('cpu'));
assert.equal(train.Trainer, Trainer, 'graft/train and graft share one Trainer');
assert.throws(() => attachHead(backbone, 'nothing', { numClasses: 2 }), GraftError);
// every subpath of the exports map loads in Node
for (const subpath of ${JSON.stringify(Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json'))}) {
  const mod = await import(\`graft\${subpath.slice(1)}\`);
  assert.ok(Object.keys(mod).length > 0, subpath);
}
console.log(JSON.stringify({ lossBefore: before.loss, lossAfter: history[0].trainLoss }));
`;

test('the library entry imports in plain Node: a tiny graph, a head, a training graph, one Trainer step', () => {
  writeFileSync(join(consumer, 'library.mjs'), LIBRARY_CHECK);
  const r = node(['library.mjs'], consumer);
  assert.equal(r.status, 0, r.stderr);
  const { lossBefore, lossAfter } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.ok(Number.isFinite(lossBefore) && Number.isFinite(lossAfter));
});

/** The ```ts block of README.md's "## Library" section. */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library'));
  const block = /```ts\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 1)));
  assert.ok(block, "README.md's Library section has no ```ts block");
  return block[1]!;
}

test("the package's types: the README example and the library check typecheck against the installed package", () => {
  writeFileSync(join(consumer, 'readme-example.mts'), readmeLibraryExample());
  writeFileSync(join(consumer, 'library.mts'), LIBRARY_CHECK);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
    },
    files: ['readme-example.mts', 'library.mts'],
  };
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  const tsc = node([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], consumer);
  assert.equal(tsc.status, 0, `tsc found errors:\n${tsc.stdout}${tsc.stderr}`);
});

test('the installed package bundles for the browser: its browser entry, onnxruntime-web, no node-only module', async () => {
  writeFileSync(
    join(consumer, 'app.js'),
    "import { Trainer, detectBackends } from 'graft';\nconsole.log(Trainer, detectBackends);\n",
  );
  const b = await bundleForBrowser('app.js', { cwd: consumer });
  assert.equal(b.reaches.length, 0, `node-only modules reached:\n${formatReaches(b.reaches)}`);
  assert.ok(
    b.inputs.includes('node_modules/graft/dist/browser.js'),
    'the browser condition did not pick dist/browser.js',
  );
  assert.ok(b.inputs.includes('node_modules/graft/dist/runtime/ort.web.js'), 'the seam is not mapped in dist/');
  assert.ok(b.inputs.some((p) => p.startsWith('node_modules/onnxruntime-web/')));
});

test("README.md's library example runs unchanged against the installed package", (t) => {
  // photos/train/<class>/ and photos/test/<class>/ from the committed Fashion-MNIST subset, 2 classes
  const fixture = join(root, 'fixtures', 'fashion-mnist-small');
  for (const split of ['train', 'test']) {
    for (const cls of ['bag', 'sneaker']) {
      const dest = join(consumer, 'photos', split, cls);
      mkdirSync(dest, { recursive: true });
      for (const f of readdirSync(join(fixture, split, cls))
        .sort()
        .slice(0, split === 'train' ? 4 : 2)) {
        cpSync(join(fixture, split, cls, f), join(dest, f));
      }
    }
  }
  writeFileSync(join(consumer, 'readme-example.mjs'), readmeLibraryExample());
  const r = node(['readme-example.mjs'], consumer, 300_000);
  if (r.status !== 0 && /code: 'NETWORK'|NETWORK/.test(r.stderr) && !existsSync(join(consumer, 'model.onnx'))) {
    t.skip(`EfficientNet-B0 is not cached and the npm registry is unreachable: ${r.stderr.split('\n')[0]}`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /train loss \d+\.\d+, test accuracy (0|1|0\.\d+)\n/);
  assert.ok(existsSync(join(consumer, 'model.onnx')), 'the example wrote model.onnx');
});
