/** onnxruntime-web (wasm and WebGPU backends) on a one-node MatMul model: the anchor we race. */
import { createOrtSession, type OrtBackend } from "../onnx/ort_session.ts";
import { matmulModel } from "./onnx_matmul_model.ts";
import { timeAsync, type TimingOptions } from "./timing.ts";

/** A measurement, or why the backend could not run (it is reported, not fatal). */
export type OrtResult = { seconds: number } | { error: string };

/**
 * Seconds per A[M,K]·B[K,N] through one wasm thread or ORT's WebGPU backend on the same adapter.
 * A session run hands A in and Y back on the host, which for WebGPU is an upload and a readback
 * (our own timing has neither).
 */
export async function timeOrtMatmul(
  backend: OrtBackend,
  m: number,
  k: number,
  n: number,
  timing: TimingOptions,
): Promise<OrtResult> {
  try {
    const b = new Float32Array(k * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const session = await createOrtSession(matmulModel(m, k, n, b), backend);
    try {
      const a = { data: new Float32Array(m * k).fill(0.25), shape: [m, k] };
      const seconds = await timeAsync(async () => {
        await session.run({ A: a });
      }, timing);
      return { seconds };
    } finally {
      await session.release();
    }
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}
