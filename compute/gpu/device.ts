/**
 * Acquires the WebGPU adapter and device once per process: the adapter EEG_SAE_ADAPTER asks for
 * (`--adapter` sets it), with its real limits, or with WebGPU's default limits only when
 * EEG_SAE_GPU_LIMITS=default (what a browser grants unasked, so every kernel is proven to run
 * there).
 */
import { EegSaeError } from "../util/errors.ts";

/** No WebGPU adapter: the message names the fix. */
export class NoAdapterError extends EegSaeError {
  constructor(detail = "") {
    super(
      "No WebGPU adapter found" + (detail ? ` (${detail})` : "") +
        ". Install a GPU driver, or the software adapter with `apt-get install mesa-vulkan-drivers`" +
        " (then optionally DENO_WEBGPU_BACKEND=vulkan).",
    );
  }
}

/** A GPU setting from the environment that is not one of its values. */
export class GpuConfigError extends EegSaeError {}

/** What we report about the adapter in logs, benchmarks and run.json. */
export interface AdapterReport {
  description: string;
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean;
  backend: string;
}

/** Limits the kernels are checked against (the adapter's maxima, or the spec defaults). */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupSizeZ: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  maxUniformBuffersPerShaderStage: number;
  maxUniformBufferBindingSize: number;
  maxTextureDimension2D: number;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterReport;
  limits: GpuLimits;
  limitsMode: LimitsMode;
  features: ReadonlySet<string>;
}

const LIMIT_NAMES: (keyof GpuLimits)[] = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxTextureDimension2D",
];

/** Which limits the device is created with: EEG_SAE_GPU_LIMITS unset or "adapter", or "default". */
export type LimitsMode = "adapter" | "default";

export function limitsMode(value = Deno.env.get("EEG_SAE_GPU_LIMITS")): LimitsMode {
  if (value === undefined || value === "" || value === "adapter") return "adapter";
  if (value === "default") return "default";
  throw new GpuConfigError(
    `EEG_SAE_GPU_LIMITS must be "default" (WebGPU's default limits) or "adapter" (the adapter's` +
      ` maxima), got "${value}"`,
  );
}

/**
 * Which adapter is asked for: the high-performance one (a discrete GPU where there are two), the
 * low-power one (an integrated GPU), or the software fallback (llvmpipe, SwiftShader).
 */
export const ADAPTER_CHOICES = ["high-performance", "low-power", "fallback"] as const;
export type AdapterChoice = typeof ADAPTER_CHOICES[number];

export function adapterChoice(value = Deno.env.get("EEG_SAE_ADAPTER")): AdapterChoice {
  if (value === undefined || value === "") return "high-performance";
  const choice = ADAPTER_CHOICES.find((c) => c === value);
  if (!choice) {
    throw new GpuConfigError(
      `EEG_SAE_ADAPTER (or --adapter) must be one of ${ADAPTER_CHOICES.join(", ")}, got "${value}"`,
    );
  }
  return choice;
}

function adapterOptions(choice: AdapterChoice): GPURequestAdapterOptions {
  return choice === "fallback" ? { forceFallbackAdapter: true } : { powerPreference: choice };
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ["shader-f16", "timestamp-query"];

let pending: Promise<Gpu> | undefined;

/** The process-wide GPU. Throws NoAdapterError when WebGPU has no adapter. */
export function getGpu(): Promise<Gpu> {
  pending ??= acquire();
  return pending;
}

async function acquire(): Promise<Gpu> {
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    throw new NoAdapterError("navigator.gpu is not available in this runtime");
  }
  const choice = adapterChoice();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigator.gpu.requestAdapter(adapterOptions(choice));
  } catch (e) {
    throw new NoAdapterError(String(e));
  }
  if (!adapter) throw new NoAdapterError(choice === "fallback" ? "no fallback adapter" : "");
  const mode = limitsMode();
  const requiredLimits: Record<string, number> = {};
  if (mode === "adapter") {
    for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  device.lost.then((info) => {
    if (info.reason !== "destroyed") console.error(`WebGPU device lost: ${info.message}`);
  });
  const info = adapter.info;
  const limits = {} as GpuLimits;
  for (const name of LIMIT_NAMES) limits[name] = device.limits[name];
  return {
    device,
    adapter: {
      description: info.description || info.device || "unknown",
      vendor: info.vendor,
      architecture: info.architecture,
      isFallbackAdapter: Boolean(
        (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
          (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ),
      backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
    },
    limits,
    limitsMode: mode,
    features: new Set(device.features as unknown as Iterable<string>),
  };
}

/** One line for logs: which adapter runs the work. */
export function describeAdapter(gpu: Gpu): string {
  const a = gpu.adapter;
  return `${a.description}${
    a.isFallbackAdapter ? " (software fallback adapter)" : ""
  }, backend ${a.backend}${gpu.limitsMode === "default" ? ", WebGPU default limits" : ""}`;
}
