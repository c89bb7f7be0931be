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
import { patchCount, REVE_BASE_CONFIG, type ReveConfig } from "../reve/config.ts";
import type { ReveInput } from "../reve/input.ts";
import { ReveModel } from "../reve/model.ts";
import { randomReveWeights } from "../reve/random_model.ts";
import { median } from "./timing.ts";

export interface ReveForwardBenchOptions {
  /** Trials per forward. Default [1, 32]. */
  batches?: readonly number[];
  /** Samples per trial at 200 Hz. Default 800. The channels are BCIC2a's 22. */
  samples?: number;
  /** Blocks of the reve-base-width model. Default 22; time grows linearly with depth. */
  depth?: number;
  /** Untimed runs per batch size (pipeline compilation happens here). Default 1. */
  warmup?: number;
  /** Timed runs per batch size. Default 3. */
  runs?: number;
  seed?: number;
  log?: (line: string) => void;
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
  const batches = options.batches ?? [1, 32];
  const samples = options.samples ?? 800;
  const warmup = options.warmup ?? 1;
  const runs = options.runs ?? 3;
  const seed = options.seed ?? 1;
  const log = options.log ?? (() => {});
  if (runs < 1) throw new RangeError(`REVE forward bench: runs must be at least 1, got ${runs}`);
  const config: ReveConfig = {
    ...REVE_BASE_CONFIG,
    depth: options.depth ?? REVE_BASE_CONFIG.depth,
  };
  const gpu = await getGpu();
  const model = ReveModel.fromWeights(config, randomReveWeights(config, seed), gpu);
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
      const runsMs: number[] = [];
      for (let i = 0; i < warmup + runs; i++) {
        const start = performance.now();
        await model.forward(input, { outputs: ["final"] });
        const ms = performance.now() - start;
        if (i >= warmup) runsMs.push(ms);
        log(`wgsl batch ${batch}: ${i < warmup ? "warm-up" : "run"} ${ms.toFixed(0)} ms`);
      }
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
