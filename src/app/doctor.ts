// `graft doctor`: which execution providers can train here. Each installed provider runs the self-test of
// train/provider-check.ts in a child process of its own (WebGPU picks its adapter once per process, and a
// broken driver may crash or hang), WebGPU once on the machine's GPU and, where Debian's chromium brings
// SwiftShader, once on that software adapter.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SWIFTSHADER_ICD, listProviders, type Device } from '../runtime/session.js';
import type { ProviderCheck } from '../train/provider-check.js';

/** One line of the report: a provider, with the adapter it ran on where that matters. */
export interface DoctorRow {
  provider: string;
  device: string;
  adapter?: 'system' | 'swiftshader';
  installed: boolean;
  usable: boolean;
  reason?: string;
  fix?: string;
  check?: ProviderCheck;
  note?: string;
}

/** How long one provider's check may take: SwiftShader compiles every kernel on the CPU. */
const TIMEOUT_MS = 300_000;

/** Checks every provider onnxruntime lists (or only `device`), each in a child process. */
export async function checkProviders(
  opts: { device?: Device; env?: NodeJS.ProcessEnv; onCheck?: (provider: string) => void } = {},
): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  const env = opts.env ?? process.env;
  const wanted = (name: string) => !opts.device || opts.device === name;
  for (const p of listProviders()) {
    if (!wanted(p.name)) continue;
    if (!p.bundled) {
      rows.push({
        provider: p.name,
        device: p.name,
        installed: false,
        usable: false,
        reason: 'not installed: this onnxruntime-node has no binaries for it',
        fix:
          p.name === 'cuda'
            ? 'install onnxruntime-node with its CUDA binaries (see onnxruntime-node install options)'
            : undefined,
      });
      continue;
    }
    const adapters: ('system' | 'swiftshader' | undefined)[] =
      p.name === 'webgpu' ? ['system', ...(existsSync(SWIFTSHADER_ICD) ? ['swiftshader' as const] : [])] : [undefined];
    for (const adapter of adapters) {
      opts.onCheck?.(label(p.name, adapter));
      const check = await checkInChild(p.name as Device, adapter, env);
      const row: DoctorRow = {
        provider: label(p.name, adapter),
        device: p.name,
        adapter,
        installed: true,
        usable: 'usable' in check ? check.usable : false,
      };
      if ('usable' in check) {
        row.check = check;
        if (check.reason) row.reason = check.reason;
        if (check.fix) row.fix = check.fix;
      } else row.reason = check.error;
      if (adapter === 'swiftshader') {
        row.note = `software rendering (${SWIFTSHADER_ICD}): correct but slow; run with GRAFT_WEBGPU_ADAPTER=swiftshader`;
      }
      rows.push(row);
    }
  }
  return rows;
}

function label(device: string, adapter?: 'system' | 'swiftshader'): string {
  if (adapter === 'system') return `${device} (GPU)`;
  if (adapter === 'swiftshader') return `${device} (SwiftShader)`;
  return device;
}

/** Node flags that load TypeScript (tsx) or other loaders: what a child needs to import this code. */
function loaderFlags(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--import' || a === '--loader' || a === '--require' || a === '-r') && argv[i + 1])
      out.push(a, argv[++i]!);
    else if (/^--(import|loader|require|experimental-[a-z-]+)(=|$)/.test(a)) out.push(a);
  }
  return out;
}

/** Runs checkProvider in a fresh process with the adapter's environment; a crash or hang becomes a reason. */
function checkInChild(
  device: Device,
  adapter: 'system' | 'swiftshader' | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ProviderCheck | { error: string }> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const module = new URL(`../train/provider-check${ext}`, import.meta.url).href;
  const code =
    `const m = await import(${JSON.stringify(module)});` +
    `const r = await m.checkProvider(${JSON.stringify(device)});` +
    `process.stdout.write('\\n@@graft-doctor ' + JSON.stringify(r) + '\\n');`;
  const childEnv = { ...env };
  if (adapter) childEnv.GRAFT_WEBGPU_ADAPTER = adapter;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...loaderFlags(), '--input-type=module', '-e', code], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('@@graft-doctor '));
      if (line) {
        try {
          resolve(JSON.parse(line.slice('@@graft-doctor '.length)) as ProviderCheck);
          return;
        } catch {
          // fall through: report the failure below
        }
      }
      const why =
        signal === 'SIGKILL' ? `no answer within ${TIMEOUT_MS / 1000} s` : `the check exited with ${signal ?? code}`;
      // the child's last stderr line names the failure (a driver crash, a missing library); never its data
      const last = err
        .trim()
        .split('\n')
        .filter((l) => l && !/^\s+at /.test(l))
        .pop();
      resolve({ error: last ? `${why}: ${last.slice(0, 200)}` : why });
    });
  });
}
