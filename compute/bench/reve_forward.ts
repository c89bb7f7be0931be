/**
 * REVE forward throughput on our WGSL kernels (trials/s and tokens/s) at reve-base widths with
 * random weights in the real layout, for a BCIC2a-shaped trial (22 channels × 800 samples), batch
 * sizes 1 and 32 by default: the numbers to put next to onnxruntime-web (reve_onnx.ts). A timed run
 * is one `model.forward` with the upload of eeg and positions and the readback of `final`, as
 * there; the GPU-resident variant (no readback) is timed too.
 */
import { BCIC2A_CHANNELS, lookupPositions } from "../data/montage.ts";
import { Rng } from "../data/rng.ts";
import { describeAdapter, getGpu } from "../gpu/mod.ts";
import { patchCount, type ReveConfig } from "../reve/config.ts";
import type { ReveInput } from "../reve/input.ts";
import { ReveModel } from "../reve/model.ts";
import { randomReveWeights } from "../reve/random_model.ts";
import {
  resolveReveBenchOptions,
  type ReveBenchOptions,
  timedForwards,
} from "./reve_bench_options.ts";
import { median } from "./timing.ts";

/** The channels are BCIC2a's 22. */
export interface ReveForwardBenchOptions extends ReveBenchOptions {
  /** Matmul weights in textures (the model's default) or, when false, in storage buffers. */
  textureWeights?: boolean;
}

export interface ReveForwardBenchRow {
  batch: number;
  channels: number;
  samples: number;
  /** Tokens per trial, channels·patches. */
  tokens: number;
  depth: number;
  /** Timed runs of forward (upload + readback of `final`). */
  runsMs: number[];
  medianMs: number;
  trialsPerSecond: number;
  tokensPerSecond: number;
  /** Median of forwardGpu runs (outputs stay on the GPU; ends when the GPU is done). */
  gpuResidentMedianMs: number;
  /** GPU passes per forward (more than 1 when the batch was split for the binding limit). */
  passes: number;
  dispatches: number;
}

export interface ReveForwardBenchResult {
  adapter: string;
  config: ReveConfig;
  rows: ReveForwardBenchRow[];
  /** GPU bytes of the uploaded weights. */
  weightBytes: number;
  /** The most GPU bytes the model's activation pool held at once over all rows. */
  activationPeakBytes: number;
}

/** Runs the benchmark; see ReveForwardBenchOptions for the defaults. */
export async function benchReveForward(
  options: ReveForwardBenchOptions = {},
): Promise<ReveForwardBenchResult> {
  const o = resolveReveBenchOptions(options, "REVE forward bench");
  const { batches, samples, runs, seed, config } = o;
  const gpu = await getGpu();
  const model = ReveModel.fromWeights(config, randomReveWeights(config, seed), gpu, {
    textureWeights: options.textureWeights,
  });
  const channels = BCIC2A_CHANNELS.length;
  const tokens = channels * patchCount(config, samples);
  const rng = new Rng(seed + 1);
  const rows: ReveForwardBenchRow[] = [];
  let activationPeakBytes = 0;
  const weightBytes = model.weightBytes;
  try {
    for (const batch of batches) {
      const input: ReveInput = {
        eeg: new Float32Array(batch * channels * samples).map(() => rng.normal()),
        batch,
        channels,
        samples,
        pos: new Float32Array(lookupPositions([...BCIC2A_CHANNELS])),
      };
      const runsMs = await timedForwards(
        o,
        `wgsl batch ${batch}${options.textureWeights === false ? " (weights in buffers)" : ""}`,
        () => model.forward(input, { outputs: ["final"] }),
      );
      const stats = model.lastPass;
      const gpuMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        const out = await model.forwardGpu(input, { outputs: ["final"] });
        await gpu.device.queue.onSubmittedWorkDone();
        gpuMs.push(performance.now() - start);
        for (const t of out.values()) t.buffer.destroy();
      }
      const medianMs = median(runsMs);
      rows.push({
        batch,
        channels,
        samples,
        tokens,
        depth: config.depth,
        runsMs,
        medianMs,
        trialsPerSecond: (batch * 1000) / medianMs,
        tokensPerSecond: (batch * tokens * 1000) / medianMs,
        gpuResidentMedianMs: median(gpuMs),
        passes: stats.passes,
        dispatches: stats.dispatches,
      });
    }
    activationPeakBytes = model.activationPeakBytes;
  } finally {
    model.dispose();
  }
  return { adapter: describeAdapter(gpu), config, rows, weightBytes, activationPeakBytes };
}
