/**
 * Compiles compute pipelines once per (shader, entry point, header, constants), after checking what
 * the entry point needs (storage and uniform buffers, workgroup size and memory) against the
 * device's limits.
 */
import type { Gpu, GpuLimits } from "./device.ts";
import {
  type EntryReflection,
  type ModuleReflection,
  reflectModule,
  WgslReflectError,
} from "./wgsl_reflect.ts";
import { EegSaeError } from "../util/errors.ts";

const SHADER_DIR = new URL("../../shaders/", import.meta.url);

export class ShaderError extends EegSaeError {}

export interface PipelineSpec {
  /** File name in `shaders/`, e.g. "matmul.wgsl". */
  shader: string;
  entryPoint?: string;
  /** WGSL prepended to the file: compile-time `const`s that size register tiles and loops. */
  header?: string;
  /** Values for the shader's `override` declarations. */
  constants?: Record<string, number>;
}

/** A compiled entry point and what its source declares. */
export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  /** "shader.wgsl:entry_point", for messages. */
  name: string;
  entry: EntryReflection;
  /** Every binding name the module declares (entry points of one module may use fewer). */
  declared: ReadonlySet<string>;
  /** Field names and types of each struct the module declares (uniform packing). */
  structs: ReadonlyMap<string, readonly { name: string; type: string }[]>;
}

const sources = new Map<string, string>();
const caches = new WeakMap<GPUDevice, Map<string, CompiledKernel>>();

/** The WGSL text of a shader file, read relative to this module (not the working directory). */
export function shaderSource(name: string): string {
  let src = sources.get(name);
  if (src === undefined) {
    const url = new URL(name, SHADER_DIR);
    try {
      src = Deno.readTextFileSync(url);
    } catch (e) {
      throw new ShaderError(`cannot read shader ${url.pathname}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    sources.set(name, src);
  }
  return src;
}

/**
 * Throws a ShaderError naming the kernel when its entry point needs more than `limits` allow: storage
 * or uniform buffers per shader stage, invocations or size per workgroup, workgroup memory.
 */
export function checkKernelLimits(name: string, entry: EntryReflection, limits: GpuLimits): void {
  const count = (kind: string) => entry.bindings.filter((b) => b.kind.startsWith(kind));
  const need = (what: string, needs: number, max: number, detail = "") => {
    if (needs > max) {
      throw new ShaderError(
        `${name} needs ${needs} ${what}${detail}; this device allows ${max}`,
      );
    }
  };
  const storage = count("storage");
  need(
    "storage buffers per shader stage",
    storage.length,
    limits.maxStorageBuffersPerShaderStage,
    ` (${storage.map((b) => b.name).join(", ")})`,
  );
  const uniform = count("uniform");
  need(
    "uniform buffers per shader stage",
    uniform.length,
    limits.maxUniformBuffersPerShaderStage,
    ` (${uniform.map((b) => b.name).join(", ")})`,
  );
  const [x, y, z] = entry.workgroupSize;
  const size = ` (@workgroup_size(${x}, ${y}, ${z}))`;
  need("invocations per workgroup", x * y * z, limits.maxComputeInvocationsPerWorkgroup, size);
  need("workgroup size x", x, limits.maxComputeWorkgroupSizeX);
  need("workgroup size y", y, limits.maxComputeWorkgroupSizeY);
  need("workgroup size z", z, limits.maxComputeWorkgroupSizeZ);
  need("bytes of workgroup memory", entry.workgroupBytes, limits.maxComputeWorkgroupStorageSize);
}

export function getKernel(gpu: Gpu, spec: PipelineSpec): CompiledKernel {
  let cache = caches.get(gpu.device);
  if (!cache) {
    cache = new Map();
    caches.set(gpu.device, cache);
  }
  const entryPoint = spec.entryPoint ?? "main";
  const constants = spec.constants ?? {};
  const key = JSON.stringify([
    spec.shader,
    entryPoint,
    spec.header ?? "",
    Object.entries(constants).sort(),
  ]);
  const hit = cache.get(key);
  if (hit) return hit;
  const code = (spec.header ? spec.header + "\n" : "") + shaderSource(spec.shader);
  const label = `${spec.shader}:${entryPoint}`;
  let entry: EntryReflection;
  let reflection: ModuleReflection;
  try {
    reflection = reflectModule(code);
    entry = reflection.entry(entryPoint);
  } catch (e) {
    if (e instanceof WgslReflectError) throw new ShaderError(`${label}: ${e.message}`);
    throw e;
  }
  checkKernelLimits(label, entry, gpu.limits);
  const device = gpu.device;
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label, code });
  const pipeline = device.createComputePipeline({
    label,
    layout: "auto",
    compute: { module, entryPoint, constants },
  });
  // wgpu validates synchronously, so the scope is already settled; we still await it at the first
  // dispatch through CommandBatch.submit, which reports the shader by name.
  pendingCompileErrors.set(
    pipeline,
    device.popErrorScope().then((e) => e && `${label}: ${e.message}`),
  );
  const kernel: CompiledKernel = {
    pipeline,
    name: label,
    entry,
    declared: new Set(reflection.declarations.map((d) => d.name)),
    structs: reflection.structs,
  };
  cache.set(key, kernel);
  return kernel;
}

/** Compile errors not yet reported, keyed by pipeline. */
export const pendingCompileErrors = new WeakMap<GPUComputePipeline, Promise<string | null>>();
