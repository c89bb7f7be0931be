/**
 * REVE forward trials/s on onnxruntime-web (webgpu and wasm backends) running our exported graph,
 * at reve-base widths with random weights written in the real layout: the anchor our WGSL forward
 * is raced against. Each (backend, batch) gets its own session, warm-up runs, then timed runs; the
 * median is reported. A timed run includes the input upload and the readback of `final`.
 */
import { Rng } from "../data/rng.ts";
import { createOrtSession, type OrtBackend } from "../onnx/ort_session.ts";
import { patchCount, type ReveConfig } from "../reve/config.ts";
import {
  buildReveOnnxFromDir,
  REVE_ONNX_EEG,
  REVE_ONNX_FINAL,
  REVE_ONNX_POS_EMBED,
} from "../reve/onnx_export.ts";
import { writeRandomReveModel } from "../reve/random_model.ts";
import {
  resolveReveBenchOptions,
  type ReveBenchOptions,
  timedForwards,
} from "./reve_bench_options.ts";
import { median } from "./timing.ts";

/** Warm-up and timed runs count per (backend, batch). */
export interface ReveOnnxBenchOptions extends ReveBenchOptions {
  /** Default: ["webgpu", "wasm"]. */
  backends?: readonly OrtBackend[];
  /** Default 22 (BCIC2a). */
  channels?: number;
}

export interface ReveOnnxBenchRow {
  backend: OrtBackend;
  batch: number;
  channels: number;
  samples: number;
  /** Tokens per trial, channels·patches. */
  tokens: number;
  depth: number;
  sessionCreateMs: number;
  runsMs: number[];
  medianMs: number;
  trialsPerSecond: number;
}

export interface ReveOnnxBenchResult {
  config: ReveConfig;
  /** ONNX model size in bytes. */
  modelBytes: number;
  rows: ReveOnnxBenchRow[];
}

/** Runs the benchmark; see ReveOnnxBenchOptions for the defaults. */
export async function benchReveOnnx(
  options: ReveOnnxBenchOptions = {},
): Promise<ReveOnnxBenchResult> {
  const backends = options.backends ?? ["webgpu", "wasm"];
  const channels = options.channels ?? 22;
  const o = resolveReveBenchOptions(options, "REVE ONNX bench");
  const { batches, samples, seed, config } = o;

  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-reve-bench-" });
  let model: Uint8Array;
  try {
    await writeRandomReveModel(dir, config, seed);
    model = await buildReveOnnxFromDir(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const tokens = channels * patchCount(config, samples);
  const rng = new Rng(seed + 1);
  const rows: ReveOnnxBenchRow[] = [];
  for (const backend of backends) {
    for (const batch of batches) {
      // Values do not change the timing; unit-scale noise keeps every op in its normal range.
      const feeds = {
        [REVE_ONNX_EEG]: randomTensor(rng, [batch, channels, samples]),
        [REVE_ONNX_POS_EMBED]: randomTensor(rng, [batch, tokens, config.embedDim]),
      };
      const t0 = performance.now();
      const session = await createOrtSession(model, backend);
      const sessionCreateMs = performance.now() - t0;
      let runsMs: number[];
      try {
        runsMs = await timedForwards(
          o,
          `ort ${backend} batch ${batch}`,
          () => session.run(feeds, [REVE_ONNX_FINAL]),
        );
      } finally {
        await session.release();
      }
      const medianMs = median(runsMs);
      rows.push({
        backend,
        batch,
        channels,
        samples,
        tokens,
        depth: config.depth,
        sessionCreateMs,
        runsMs,
        medianMs,
        trialsPerSecond: (batch * 1000) / medianMs,
      });
    }
  }
  return { config, modelBytes: model.byteLength, rows };
}

function randomTensor(rng: Rng, shape: number[]): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-1, 1);
  return { data, shape };
}
