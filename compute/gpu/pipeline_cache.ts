/** Compiles compute pipelines once per (shader, entry point, header, constants). */
import type { Gpu } from "./device.ts";
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

const sources = new Map<string, string>();
const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

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

export function getPipeline(gpu: Gpu, spec: PipelineSpec): GPUComputePipeline {
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
  let pipeline = cache.get(key);
  if (pipeline) return pipeline;
  const code = (spec.header ? spec.header + "\n" : "") + shaderSource(spec.shader);
  const label = `${spec.shader}:${entryPoint}`;
  const device = gpu.device;
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label, code });
  pipeline = device.createComputePipeline({
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
  cache.set(key, pipeline);
  return pipeline;
}

/** Compile errors not yet reported, keyed by pipeline. */
export const pendingCompileErrors = new WeakMap<GPUComputePipeline, Promise<string | null>>();
