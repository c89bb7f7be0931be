/** The adapter's arithmetic ceiling: a register-only FMA loop (shaders/fma_peak.wgsl), in GFLOP/s. */
import { createTensor, type Gpu, uniformFields } from "../gpu/mod.ts";
import { timeGpu } from "./timing.ts";

/** Loop trips per invocation and FLOP per trip (8 vec4 FMAs); must match the shader. */
const ITERS = 4096;
const FLOP_PER_ITER = 8 * 4 * 2;
const WORKGROUP = 64;

/**
 * GFLOP/s of the FMA loop: median of `runs` runs of back-to-back dispatches, each run at least
 * 0.25 s (`reps` is where the warm-up's doubling starts), timed exactly as the kernels it divides.
 */
export async function measureFmaPeak(gpu: Gpu, runs: number, reps = 1): Promise<number> {
  const invocations = WORKGROUP * 256;
  const sink = createTensor(gpu, [invocations], "f32", "fma sink");
  try {
    const seconds = await timeGpu(gpu, (batch) => {
      batch.dispatch({
        shader: "fma_peak.wgsl",
        header: `const ITERS: u32 = ${ITERS}u;`,
        bindings: { sink, params: uniformFields({ seed: 0.5 }) },
        workgroups: [invocations / WORKGROUP],
        label: "fma peak",
      });
    }, { reps, runs });
    return (invocations * ITERS * FLOP_PER_ITER) / seconds / 1e9;
  } finally {
    sink.buffer.destroy();
  }
}
