/**
 * onnxruntime-web sessions under Deno, from model bytes, on the "wasm" backend (CPU,
 * `onnxruntime-web`) or the "webgpu" backend (`onnxruntime-web/webgpu`, on Deno's navigator.gpu).
 * Each backend's bundle is imported only when first used, so a wasm-only run never touches WebGPU.
 */
import type * as Ort from "onnxruntime-web";
import { EegSaeError } from "../util/errors.ts";

export type OrtBackend = "wasm" | "webgpu";
export const ORT_BACKENDS: readonly OrtBackend[] = ["wasm", "webgpu"];

/** A float32 tensor on the CPU, in the `{data, shape}` form the rest of the project uses. */
export interface F32Tensor {
  data: Float32Array;
  shape: number[];
}

export class OrtSessionError extends EegSaeError {}

export interface OrtSessionOptions {
  /**
   * wasm threads. Default 1: the wasm build's worker threads are not needed for correctness, and
   * one thread keeps runs deterministic and comparable.
   */
  numThreads?: number;
}

/** One loaded model on one backend. */
export interface OrtSession {
  readonly backend: OrtBackend;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model. `outputs` picks which graph outputs to fetch (all by default); results are
   * read back to the CPU, so a timing of `run` includes the upload and the readback.
   */
  run(feeds: Record<string, F32Tensor>, outputs?: readonly string[]): Promise<
    Record<string, F32Tensor>
  >;
  release(): Promise<void>;
}

/** The folder holding the ORT .wasm/.mjs files, as a file URL (this file is compute/onnx/). */
const ORT_DIST_URL = new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url).href;

const modules = new Map<OrtBackend, Promise<typeof Ort>>();

/** The ORT bundle for a backend, imported and configured once per process. */
function ortModule(backend: OrtBackend, numThreads: number): Promise<typeof Ort> {
  let mod = modules.get(backend);
  if (!mod) {
    mod = (backend === "webgpu" ? import("onnxruntime-web/webgpu") : import("onnxruntime-web"))
      .then((ort: typeof Ort) => {
        ort.env.wasm.wasmPaths = ORT_DIST_URL;
        ort.env.wasm.numThreads = numThreads;
        ort.env.logLevel = "error";
        return ort;
      });
    modules.set(backend, mod);
  }
  return mod;
}

/** Creates a session from ONNX model bytes. Errors name the backend and ORT's message. */
export async function createOrtSession(
  model: Uint8Array,
  backend: OrtBackend,
  options: OrtSessionOptions = {},
): Promise<OrtSession> {
  if (backend === "webgpu" && !("gpu" in navigator && navigator.gpu)) {
    throw new OrtSessionError(
      "onnxruntime-web webgpu: navigator.gpu is not available (run Deno with --unstable-webgpu)",
    );
  }
  const ort = await ortModule(backend, options.numThreads ?? 1);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: [backend],
      graphOptimizationLevel: "all",
      // Severity 3 = errors only: ORT otherwise warns that shape ops run on the CPU, by design.
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new OrtSessionError(
      `onnxruntime-web ${backend}: cannot create a session (${model.byteLength} model bytes): ${
        (e as Error).message ?? e
      }`,
    );
  }
  return {
    backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor("float32", t.data, t.shape);
      }
      let results: Ort.InferenceSession.ReturnType;
      try {
        results = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
      } catch (e) {
        throw new OrtSessionError(
          `onnxruntime-web ${backend}: run failed: ${(e as Error).message ?? e}`,
        );
      }
      const out: Record<string, F32Tensor> = {};
      for (const [name, t] of Object.entries(results)) {
        if (t.type !== "float32") {
          throw new OrtSessionError(`output "${name}" is ${t.type}, expected float32`);
        }
        out[name] = { data: t.data as Float32Array, shape: [...t.dims] };
      }
      return out;
    },
    release: () => session.release(),
  };
}
