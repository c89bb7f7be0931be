#!/usr/bin/env bash
# One-shot check on a machine with a real GPU and no network: the checkout (with its node_modules)
# and a Deno binary are carried there, nothing is downloaded. Runs, in order, logging to OUT:
#   1. the adapter report (name, vendor, architecture, limits),
#   2. the GPU test subset (adapter limits, then WebGPU's default limits),
#   3. `bench --json --autotune` (matmul tiles tuned and cached per adapter),
#   4. the demo at REVE-base size where the demo offers it (else its default size), timed by stage.
# Usage: tools/gpu_check.sh [DENO] [OUT]
#   DENO  the Deno binary, or a .xz of it (default: ./deno, ./deno.xz, then `deno` on PATH)
#   OUT   folder for logs and results (default: runs/gpu_check)
# Where the Vulkan loader is missing, put libvulkan1_*.deb (from `apt-get download libvulkan1` on a
# networked machine) in the checkout: it is unpacked beside the results with `dpkg -x`.
# Exits 1 when any step failed; every step runs regardless.
set -uo pipefail
cd "$(dirname "$0")/.."

deno_arg="${1:-}"
out="${2:-runs/gpu_check}"
mkdir -p "$out"
log="$out/gpu_check.log"
: >"$log"
say() { echo "== $*" | tee -a "$log"; }

if [ -z "$deno_arg" ]; then
  for c in ./deno ./deno.xz; do [ -e "$c" ] && deno_arg="$c" && break; done
fi
deno_bin="${deno_arg:-$(command -v deno || true)}"
if [ -z "$deno_bin" ]; then
  echo "gpu_check: no Deno binary (give its path, or put deno or deno.xz in the checkout)" >&2
  exit 1
fi
if [[ "$deno_bin" == *.xz ]]; then
  xz -dc "$deno_bin" >"$out/deno" && chmod +x "$out/deno" && deno_bin="$out/deno"
fi
deno_bin="$(cd "$(dirname "$deno_bin")" && pwd)/$(basename "$deno_bin")"
say "deno: $("$deno_bin" --version | head -1)"

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  deb="$(ls libvulkan1_*.deb 2>/dev/null | head -1)"
  if [ -n "$deb" ]; then
    dpkg -x "$deb" "$out/vulkan" &&
      export LD_LIBRARY_PATH="$(find "$out/vulkan" -name 'libvulkan.so.1' -printf '%h'):${LD_LIBRARY_PATH:-}"
    say "Vulkan loader from $deb"
  else
    say "no Vulkan loader found (libvulkan.so.1); WebGPU may find no adapter"
  fi
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

failed=()
step() {
  local name="$1"
  shift
  say "$name"
  local t0=$SECONDS
  if "$@" >>"$log" 2>&1; then
    say "$name: ok in $((SECONDS - t0)) s"
  else
    say "$name: FAILED (exit $?) after $((SECONDS - t0)) s"
    failed+=("$name")
  fi
}

step "adapter report" "$deno_bin" eval --unstable-webgpu '
  import { describeAdapter, getGpu } from "./compute/gpu/mod.ts";
  const gpu = await getGpu();
  console.log(describeAdapter(gpu));
  console.log(JSON.stringify({ adapter: gpu.adapter, limits: gpu.limits }, null, 2));
'
gpu_tests=(
  tests/gpu_runtime_test.ts tests/gpu_bindings_test.ts tests/kernels_*_test.ts
  tests/reve_attention_test.ts tests/reve_golden_test.ts tests/reve_configs_test.ts
  tests/sae_grad_test.ts tests/sae_parts_test.ts tests/sae_planted_relu_test.ts
  tests/sae_planted_topk_test.ts tests/analysis_feature_stats_test.ts
)
step "GPU tests (adapter limits)" "$deno_bin" test -A --unstable-webgpu "${gpu_tests[@]}"
step "GPU tests (WebGPU default limits)" env EEG_SAE_GPU_LIMITS=default \
  "$deno_bin" test -A --unstable-webgpu "${gpu_tests[@]}"
say "bench --json --autotune (tables in the log, JSON in $out/bench.json)"
t0=$SECONDS
if "$deno_bin" run -A --unstable-webgpu compute/cli/bench.ts --json --autotune \
  >"$out/bench.json" 2>>"$log"; then
  say "bench: ok in $((SECONDS - t0)) s"
else
  say "bench: FAILED after $((SECONDS - t0)) s"
  failed+=("bench")
fi
size_flags=()
if "$deno_bin" run -A compute/cli/demo.ts --help 2>&1 | grep -q 'reve-base'; then
  size_flags=(--size reve-base)
fi
step "demo ${size_flags[*]:-(default size)}" \
  "$deno_bin" run -A --unstable-webgpu compute/cli/demo.ts --out "$out/demo" "${size_flags[@]}"

if [ ${#failed[@]} -gt 0 ]; then
  say "failed: ${failed[*]} (details in $log)"
  exit 1
fi
say "all steps passed; results in $out"
