// WebGPU in Node (onnxruntime-node's bundled provider): what Session does before the first WebGPU session
// of a process, and the error a machine without a GPU driver gets. Each case runs in a child process of its
// own, because the adapter is chosen once per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from '../app/test-utils/fixtures.js';
import { SWIFTSHADER_ICD } from './session.js';

const SESSION = new URL('./session.ts', import.meta.url).href;
const BUILDER = new URL('../onnx/builder.ts', import.meta.url).href;

/** Runs `body` (ESM, with Session, f32 and a one-Relu model `relu` in scope) in a fresh process. */
function child(body: string, env: NodeJS.ProcessEnv): { out: string; err: string; status: number | null } {
  const code =
    `const { Session, f32, webGpuEnvironment } = await import(${JSON.stringify(SESSION)});` +
    `const { GraphBuilder } = await import(${JSON.stringify(BUILDER)});` +
    `const b = new GraphBuilder('relu'); b.input('x', 'float32', [2, 2]); b.output(b.op('Relu', ['x']), 'float32', [2, 2]);` +
    `const relu = b.build();` +
    `const attempt = async () => { try { const s = await Session.create(relu, { device: 'webgpu' });` +
    `  const y = await s.run({ x: f32([1, -2, 3, -4], [2, 2]) }); await s.dispose(); return Array.from(Object.values(y)[0].data); }` +
    `  catch (e) { return { code: e.code, message: e.message }; } };` +
    body;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

const result = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as unknown;

test('GRAFT_WEBGPU_ADAPTER=swiftshader, set inside the process before its first WebGPU session, gives a working adapter', () => {
  assert.ok(existsSync(SWIFTSHADER_ICD), `SwiftShader is needed (apt-get install chromium): ${SWIFTSHADER_ICD}`);
  const r = child(
    `process.env.GRAFT_WEBGPU_ADAPTER = 'swiftshader';` +
      `console.log(JSON.stringify({ y: await attempt(), env: webGpuEnvironment() }));`,
    {},
  );
  const got = result(r.out) as { y: number[]; env: { adapter: string; icd: string; loader?: string } };
  assert.deepEqual(got.y, [1, 0, 3, 0], r.err);
  assert.equal(got.env.adapter, 'swiftshader');
  assert.equal(got.env.icd, SWIFTSHADER_ICD);
  assert.ok(got.env.loader, 'a Vulkan loader was found (the system one or the one beside the ICD)');
});

test('without a GPU driver: a GraftError that says how to fix it; the failure sticks for the rest of the process', () => {
  // a driver file that does not exist, in the folder of Chromium's Vulkan loader: the loader is found (the
  // system's or Chromium's), the driver is not
  const missing = SWIFTSHADER_ICD.replace(/[^/]+$/, 'missing_icd.json');
  const r = child(
    `const first = await attempt();` +
      `const loader = webGpuEnvironment().loader;` +
      // the environment fixed after the failure: Dawn keeps its first answer for the whole process
      `process.env.VK_ICD_FILENAMES = ${JSON.stringify(SWIFTSHADER_ICD)};` +
      `const second = await attempt();` +
      `console.log(JSON.stringify({ first, loader, second }));`,
    { VK_ICD_FILENAMES: missing },
  );
  const got = result(r.out) as {
    first: { code: string; message: string };
    loader?: string;
    second: { code: string; message: string };
  };
  assert.equal(got.first.code, 'RUNTIME', r.err);
  assert.match(got.first.message, /No WebGPU adapter/);
  assert.match(got.first.message, /no usable GPU driver in VK_ICD_FILENAMES/);
  assert.match(got.first.message, /fix: .*GRAFT_WEBGPU_ADAPTER=swiftshader/);
  assert.match(got.first.message, /cannot be retried in this process/);
  assert.ok(got.loader, 'the Vulkan loader was there: the failure is the missing driver');
  assert.equal(got.second.code, 'RUNTIME', 'a second session in the same process fails too, driver or not');
});

test('an unknown GRAFT_WEBGPU_ADAPTER is a CONFIG error listing the choices', () => {
  const r = child(`console.log(JSON.stringify(await attempt()));`, { GRAFT_WEBGPU_ADAPTER: 'lavapipe' });
  const got = result(r.out) as { code: string; message: string };
  assert.equal(got.code, 'CONFIG', r.err);
  assert.match(got.message, /valid choices: system, swiftshader/);
});

test('graft train --device webgpu on a machine without a GPU driver: the message and exit 1, no stack trace', () => {
  const dir = tempDir('graft-webgpu-cli-');
  try {
    const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
    const data = fashionSlice(join(dir, 'data'), { train: 2, test: 1, classes: 2 });
    const main = new URL('../cli/main.ts', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'train',
        data,
        '--model',
        model,
        '--device',
        'webgpu',
        '--out',
        join(dir, 'run'),
        '--quiet',
      ],
      {
        env: { PATH: process.env.PATH, HOME: dir, VK_ICD_FILENAMES: '/nonexistent/vulkan_icd.json' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /No WebGPU adapter/);
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m);
  } finally {
    removeTempDirs();
  }
});
