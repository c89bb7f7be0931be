/**
 * Named bindings and device limits: what a WGSL entry point uses is read from its source (as
 * WebGPU's "auto" layout counts it), kernels bind buffers by those names with errors that name the
 * kernel and the binding, and every pipeline is checked against the device's limits before it is
 * compiled. The static checks need no GPU; the dispatch checks run on whatever adapter is present.
 */
import assert from "node:assert/strict";
import {
  checkKernelLimits,
  CommandBatch,
  createTensor,
  getGpu,
  type GpuLimits,
  KernelError,
  limitsMode,
  readback,
  ShaderError,
  shaderSource,
  uniformFields,
} from "../compute/gpu/mod.ts";
import { reflectModule } from "../compute/gpu/wgsl_reflect.ts";
import { saeHeader, type SaeKernelConfig } from "../kernels/sae_common.ts";
import { FEATURE_STATS_HEADER } from "../kernels/feature_stats.ts";

/** WebGPU's default limits (what a browser grants without requiredLimits). */
const DEFAULT_LIMITS: GpuLimits = {
  maxStorageBufferBindingSize: 128 << 20,
  maxBufferSize: 256 << 20,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBuffersPerShaderStage: 12,
  maxUniformBufferBindingSize: 65536,
  maxTextureDimension2D: 8192,
};

const MODULE = `
struct P { n: u32, s: f32, }
const WG: u32 = 32u;
const ROWS = WG * 2u;
@group(0) @binding(0) var<uniform> params: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> unused: array<u32>;
// A second view of binding 1, used by another entry point.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
var<workgroup> tile: array<vec4<f32>, ROWS>;
var<workgroup> other: array<f32, 1000>;

fn load(i: u32) -> f32 {
  return x[i] * params.s;
}

// A local named like a binding is not a use of the binding.
fn shadow(unused: u32) -> u32 {
  let y = unused + 1u;
  return y;
}

@compute @workgroup_size(WG, 2)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  tile[gid.x] = vec4<f32>(load(gid.x));
  y[gid.x] = tile[0].x + f32(shadow(gid.x));
}

@compute @workgroup_size(64)
fn vec_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  y[gid.x] = x4[gid.x].x + other[0];
}
`;

Deno.test("reflection: an entry point uses the bindings its call graph reads, not locals", () => {
  const m = reflectModule(MODULE);
  const main = m.entry("main");
  assert.deepEqual(main.bindings.map((b) => b.name), ["params", "x", "y"]);
  assert.deepEqual(main.bindings.map((b) => b.kind), [
    "uniform",
    "storage-read",
    "storage-read-write",
  ]);
  assert.deepEqual(main.workgroupSize, [32, 2, 1]);
  assert.equal(main.workgroupBytes, 64 * 16);
  const vec = m.entry("vec_main");
  assert.deepEqual(vec.bindings.map((b) => [b.name, b.binding, b.scalar]), [
    ["x4", 1, "f32"],
    ["y", 2, "f32"],
  ]);
  assert.equal(vec.workgroupBytes, 4000);
  assert.deepEqual(m.structs.get("P"), [{ name: "n", type: "u32" }, { name: "s", type: "f32" }]);
  assert.throws(() => m.entry("nope"), /no @compute entry point nope \(has main, vec_main\)/);
});

Deno.test("limits: a kernel needing more than the device allows is refused, naming kernel and need", () => {
  const entry = reflectModule(MODULE).entry("main");
  checkKernelLimits("m.wgsl:main", entry, DEFAULT_LIMITS);
  assert.throws(
    () =>
      checkKernelLimits("m.wgsl:main", entry, {
        ...DEFAULT_LIMITS,
        maxStorageBuffersPerShaderStage: 1,
      }),
    (e: Error) =>
      e instanceof ShaderError &&
      /m\.wgsl:main needs 2 storage buffers per shader stage \(x, y\); this device allows 1/.test(
        e.message,
      ),
  );
  assert.throws(
    () =>
      checkKernelLimits("m.wgsl:main", entry, {
        ...DEFAULT_LIMITS,
        maxComputeInvocationsPerWorkgroup: 32,
      }),
    /m\.wgsl:main needs 64 invocations per workgroup \(@workgroup_size\(32, 2, 1\)\)/,
  );
  assert.throws(
    () =>
      checkKernelLimits("m.wgsl:main", entry, {
        ...DEFAULT_LIMITS,
        maxComputeWorkgroupStorageSize: 512,
      }),
    /needs 1024 bytes of workgroup memory; this device allows 512/,
  );
});

const SAE_CONFIGS: SaeKernelConfig[] = [
  { architecture: "relu", aux: "ghost", tokenNorm: true, dIn: 8, dSae: 32 },
  { architecture: "topk", aux: "auxk", tokenNorm: false, dIn: 8, dSae: 32 },
  { architecture: "batchtopk", aux: "auxk", tokenNorm: false, dIn: 8, dSae: 32 },
  { architecture: "jumprelu", aux: "none", tokenNorm: true, dIn: 8, dSae: 32 },
];

/** Every entry point of a module, by its `@compute ... fn name` declarations. */
function entryPoints(code: string): string[] {
  return [...code.matchAll(/@compute[^\n]*\n\s*fn\s+(\w+)/g)].map((m) => m[1]);
}

Deno.test("limits: every entry point of the multi-entry modules fits WebGPU's default limits", () => {
  const modules: { name: string; code: string }[] = [];
  for (const cfg of SAE_CONFIGS) {
    for (const shader of ["sae_encode.wgsl", "sae_decode.wgsl", "sae_backward.wgsl"]) {
      modules.push({
        name: `${shader} ${cfg.architecture}`,
        code: `${saeHeader(cfg)}\n${shaderSource(shader)}`,
      });
    }
    for (const ghost of [false, true]) {
      modules.push({
        name: `sae_dense.wgsl ${cfg.architecture} ghost ${ghost}`,
        code: `${saeHeader(cfg)}\nconst GHOST_DENSE: bool = ${ghost};\n${
          shaderSource("sae_dense.wgsl")
        }`,
      });
    }
  }
  modules.push({ name: "adam.wgsl", code: shaderSource("adam.wgsl") });
  modules.push({ name: "sae_constraint.wgsl", code: shaderSource("sae_constraint.wgsl") });
  modules.push({
    name: "feature_stats.wgsl",
    code: `${FEATURE_STATS_HEADER}\n${shaderSource("feature_stats.wgsl")}`,
  });
  let checked = 0;
  for (const { name, code } of modules) {
    const m = reflectModule(code);
    for (const e of entryPoints(code)) {
      checkKernelLimits(`${name}:${e}`, m.entry(e), DEFAULT_LIMITS);
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} entry points checked`);
});

Deno.test("limits: EEG_SAE_GPU_LIMITS accepts default or adapter and names itself otherwise", () => {
  assert.equal(limitsMode(""), "adapter");
  assert.equal(limitsMode("adapter"), "adapter");
  assert.equal(limitsMode("default"), "default");
  assert.throws(() => limitsMode("max"), /EEG_SAE_GPU_LIMITS must be "default".*got "max"/);
});

Deno.test("bindings: kernels bind by name; unknown, missing and swapped buffers name the binding", async () => {
  const gpu = await getGpu();
  if (gpu.limitsMode === "default") {
    assert.equal(gpu.limits.maxStorageBuffersPerShaderStage, 8);
  }
  const x = createTensor(gpu, [2, 4], "f32", "x", Float32Array.from([1, 5, 2, 0, -1, -3, 9, 4]));
  const idx = createTensor(gpu, [2], "u32", "idx");
  const dispatch = (bindings: Record<string, unknown>) => {
    const batch = new CommandBatch(gpu, "argmax");
    batch.dispatch({
      shader: "reduce.wgsl",
      entryPoint: "argmax_main",
      bindings: bindings as Parameters<CommandBatch["dispatch"]>[0]["bindings"],
      workgroups: [1],
      label: "argmax x[2,4]",
    });
    return batch;
  };
  // By name, in any order.
  const ok = dispatch({ params: uniformFields({ rows: 2, d: 4 }), out_index: idx, x });
  await ok.submit();
  assert.deepEqual([...await readback(gpu, idx)], [1, 2]);
  const fails = (bindings: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => dispatch(bindings), (e: Error) => {
      assert.ok(e instanceof KernelError, String(e));
      assert.match(e.message, /argmax x\[2,4\] \(reduce\.wgsl:argmax_main\)/);
      assert.match(e.message, pattern);
      return true;
    });
  const params = uniformFields({ rows: 2, d: 4 });
  // The two buffers given in the wrong order (the old positional mistake): the element types differ.
  fails(
    { x: idx, out_index: x, params },
    /binding "x" \(@binding\(0\) array<f32>\) holds f32, got u32 tensor "idx"/,
  );
  fails({ x, out: idx, params }, /binding "out_index" \(@binding\(1\) array<u32>\) is missing/);
  fails({ x, out_index: idx, params, bias: x }, /declares no binding "bias"/);
  fails(
    { x, out_index: idx, params: x },
    /binding "params" \(@binding\(2\) Params\) needs a uniform buffer, got "x"/,
  );
  fails(
    { x, out_index: idx, params: uniformFields({ rows: 2 }) },
    /field d of "params" \(Params\) is missing/,
  );
  fails(
    { x, out_index: idx, params: uniformFields({ rows: 2, d: 4, cols: 1 }) },
    /struct Params of "params" has no field cols/,
  );
  for (const t of [x, idx]) t.buffer.destroy();
});
