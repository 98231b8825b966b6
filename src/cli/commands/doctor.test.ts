// graft doctor through the CLI (in-process; each provider's check runs in a child process): the CPU is the
// reference, WebGPU over SwiftShader is usable with its kernel bugs found and worked around, WebGPU with no
// GPU driver is not usable and says how to fix it, uninstalled providers are listed as such.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { SWIFTSHADER_ICD, listProviders } from '../../runtime/session.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';
import type { DoctorRow } from '../../app/doctor.js';

test('graft doctor --json: self-test and kernel probes per provider, usable or why not', async () => {
  assert.ok(existsSync(SWIFTSHADER_ICD), `SwiftShader is needed (apt-get install chromium): ${SWIFTSHADER_ICD}`);
  // no GPU driver for the "system" adapter, whatever this machine has: the not-usable path is exercised
  const io = memoryIo({ ...process.env, VK_ICD_FILENAMES: '/nonexistent/vulkan_icd.json' });
  const code = await runCli(['doctor', '--json', '--quiet'], io);
  assert.equal(code, 0, io.err);
  const rows = (JSON.parse(io.out) as { providers: DoctorRow[] }).providers;
  const row = (name: string) => rows.find((r) => r.provider === name)!;

  const cpu = row('cpu');
  assert.equal(cpu.usable, true);
  assert.equal(cpu.check!.selfTest!.worst, 0);

  const soft = row('webgpu (SwiftShader)');
  assert.equal(soft.usable, true, soft.reason);
  assert.ok(soft.check!.selfTest!.ok && soft.check!.selfTest!.worst <= 1e-4);
  const probe = (name: string) => soft.check!.probes.find((p) => p.name === name)!;
  // onnxruntime 1.30's WebGPU kernels, raw: the doctor finds what the training graphs avoid
  assert.equal(probe('grouped-conv-width-9').result, 'wrong');
  assert.equal(probe('grouped-conv-transpose-2-to-1').result, 'wrong');
  assert.equal(probe('maxpool-indices').result, 'fails');
  assert.equal(probe('batchnorm-training').result, 'fails');
  assert.ok(soft.check!.probes.every((p) => p.workedAround));

  const gpu = row('webgpu (GPU)');
  assert.equal(gpu.usable, false);
  assert.match(gpu.reason!, /No WebGPU adapter/);
  assert.match(gpu.fix!, /GRAFT_WEBGPU_ADAPTER=swiftshader/);

  for (const p of listProviders().filter((q) => !q.bundled)) {
    assert.equal(row(p.name).installed, false);
    assert.equal(row(p.name).usable, false);
  }
});

test('graft doctor --device cuda: exit 1 when the provider cannot train here, with the reason in the text', async () => {
  const cuda = listProviders().find((p) => p.name === 'cuda');
  assert.equal(cuda?.bundled, false, 'the default onnxruntime-node install has no CUDA binaries');
  const io = memoryIo({ ...process.env });
  const code = await runCli(['doctor', '--device', 'cuda'], io);
  assert.equal(code, 1);
  assert.match(io.out, /cuda\s+no\s+.*not installed/);
  assert.match(io.out, /fix: install onnxruntime-node with its CUDA binaries/);
});
