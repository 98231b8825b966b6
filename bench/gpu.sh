#!/usr/bin/env bash
# Training on a real GPU (issue 12), in one go, on a machine with one:
#   - `graft doctor --json`: which providers train correctly here (WebGPU over the vendor's Vulkan driver;
#     CUDA where onnxruntime-node's CUDA binaries are installed), with the known-kernel-bug probes;
#   - `npm run bench -- providers` on the usable ones next to the CPU: step time, img/s and the largest
#     gradient difference from the CPU for the MLP head, EfficientNet-B0 last:2 and MobileNetV2 full.
# Writes everything as one JSON file and fails (exit 1) when no GPU provider works.
#
#   bench/gpu.sh [OUT.json] [--batch N] [--size PX] [--reps N]
#   bench/gpu.sh --swiftshader [OUT.json]   the same pipeline on Chromium's SwiftShader (no GPU), small shapes:
#                                           checks the script itself, not a GPU
#
# Needs: Node 20 and `npm ci` done; for WebGPU the GPU's Vulkan driver and the Vulkan loader (Debian/Ubuntu:
# libvulkan1; NVIDIA's driver packages bring their ICD); for CUDA, onnxruntime-node installed with its CUDA
# binaries. Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

software=0
out=''
batch=32
size=224
reps=10
while [ $# -gt 0 ]; do
  case "$1" in
    --swiftshader) software=1 ;;
    --batch) batch="$2"; shift ;;
    --size) size="$2"; shift ;;
    --reps) reps="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
if [ "$software" = 1 ]; then
  adapter=swiftshader
  [ "$batch" = 32 ] && batch=4
  [ "$size" = 224 ] && size=64
  [ "$reps" = 10 ] && reps=2
else
  adapter=system
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-bench/out/gpu-$stamp.json}
mkdir -p "$(dirname "$out")"
[ -d node_modules ] || { echo "gpu.sh: run npm ci first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== graft doctor (adapter: $adapter)" >&2
GRAFT_WEBGPU_ADAPTER=$adapter node --import tsx src/cli/main.ts doctor --json --quiet >"$tmp/doctor.json"

# The GPU providers that passed the self-test: WebGPU on the chosen adapter, CUDA.
usable=$(ADAPTER=$adapter node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = d.providers.filter((p) => p.usable && p.device !== "cpu" && (p.device !== "webgpu" || p.adapter === process.env.ADAPTER));
  process.stdout.write(ok.map((p) => p.device).join(","));
' "$tmp/doctor.json")
if [ -z "$usable" ]; then
  echo "gpu.sh: no GPU provider can train on this machine; graft doctor says:" >&2
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const p of d.providers) if (p.device !== "cpu") console.error(`  ${p.provider}: ${p.usable ? "usable" : p.reason}${p.fix && !p.usable ? `\n    fix: ${p.fix}` : ""}`);
  ' "$tmp/doctor.json"
  exit 1
fi
echo "== usable: $usable; benchmark at batch $batch, ${size} px, $reps repetitions" >&2

GRAFT_WEBGPU_ADAPTER=$adapter node --import tsx bench/run.ts providers --json \
  --providers="cpu,$usable" --adapter="$adapter" --batch="$batch" --size="$size" --reps="$reps" >"$tmp/bench.json"

gpu_info=''
if command -v nvidia-smi >/dev/null; then
  gpu_info=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)
fi
if [ -z "$gpu_info" ] && command -v vulkaninfo >/dev/null; then
  gpu_info=$(vulkaninfo --summary 2>/dev/null | grep -m1 deviceName | sed 's/.*= *//' || true)
fi

GPU_INFO="$gpu_info" ADAPTER=$adapter node -e '
  const fs = require("fs");
  const doctor = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const bench = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const runs = bench.results[0].runs;
  const report = {
    date: bench.date,
    machine: bench.machine,
    gpu: process.env.GPU_INFO || null,
    webgpuAdapter: process.env.ADAPTER,
    onnxruntime: require("onnxruntime-node/package.json").version,
    providers: doctor.providers.map((p) => ({
      provider: p.provider, usable: p.usable, reason: p.reason ?? null,
      selfTestGradDiff: p.check?.selfTest?.worst ?? null,
      kernelBugs: (p.check?.probes ?? []).filter((k) => k.result !== "ok").map((k) => ({ name: k.name, result: k.result, workedAround: k.workedAround })),
    })),
    steps: runs.map((r) => ({
      model: r.model, provider: r.provider, batch: r.batch,
      firstRunMs: r.firstRunMs, stepMs: r.stepMs, imgPerS: r.imgPerS,
      xCpu: r.xCpu ?? null, maxGradDiffVsCpu: r.maxGradDiff ?? null, worstParam: r.worstParam ?? null,
      lossDiffVsCpu: r.lossDiff ?? null, error: r.error ?? null,
    })),
    notes: bench.results[0].notes,
  };
  fs.writeFileSync(process.argv[3], JSON.stringify(report, null, 2) + "\n");
  const bad = runs.filter((r) => r.provider !== "cpu" && (r.error || !(r.maxGradDiff <= 1e-4)));
  for (const r of runs) console.error(`  ${r.model} ${r.provider}: ${r.error ?? `${r.stepMs.toFixed(1)} ms/step, ${r.imgPerS.toFixed(1)} img/s${r.maxGradDiff === undefined ? "" : `, grads vs CPU ${r.maxGradDiff.toExponential(1)}`}`}`);
  if (bad.length) { console.error(`gpu.sh: ${bad.length} run(s) failed or differ from the CPU by more than 1e-4`); process.exitCode = 1; }
' "$tmp/doctor.json" "$tmp/bench.json" "$out"
echo "wrote $out" >&2
