/**
 * Bench section: REVE forward trials/s at reve-base widths (random weights, BCIC2a-shaped 22×800
 * trials), ours (reve_forward.ts) next to onnxruntime-web webgpu and wasm on our exported graph
 * (reve_onnx.ts), in the same run, and ours again with the weights in storage buffers instead of
 * textures. Batch 1 runs at full depth; batch 32 at a reduced depth, the same for every backend
 * (onnxruntime-web webgpu needs minutes a run for batch 32 at full depth on llvmpipe; time grows
 * linearly with depth, so the ratios hold). JSON keys: `reve_forward` (one entry per batch) and
 * `reve_forward_speedup_vs_ort_webgpu` (batch 32: ours over ORT webgpu).
 */
import { REVE_BASE_CONFIG } from "../reve/config.ts";
import type { OrtBackend } from "../onnx/ort_session.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { formatTable, round } from "./format.ts";
import { benchReveForward } from "./reve_forward.ts";
import { benchReveOnnx } from "./reve_onnx.ts";

/** One row: a batch size at a depth, with the timed runs per backend. */
interface RevePlan {
  batch: number;
  depth: number;
  ortBackends: OrtBackend[];
  runs: number;
  /** onnxruntime-web webgpu is the slowest by far (30-40 s a run): it gets fewer timed runs. */
  ortWebgpuRuns: number;
}

/** Blocks of the batch-32 row (reve-base has 22). */
export const REVE_BATCH32_DEPTH = 2;
const REVE_BATCH32_DEPTH_QUICK = 1;

function plans(ctx: BenchContext): RevePlan[] {
  const ort: OrtBackend[] = ctx.ort ? ["webgpu", "wasm"] : [];
  if (ctx.quick) {
    return [
      // --quick: batch 1 without ORT webgpu (about 40 s per run at full depth).
      {
        batch: 1,
        depth: REVE_BASE_CONFIG.depth,
        ortBackends: ort.filter((b) => b !== "webgpu"),
        runs: 1,
        ortWebgpuRuns: 1,
      },
      { batch: 32, depth: REVE_BATCH32_DEPTH_QUICK, ortBackends: ort, runs: 1, ortWebgpuRuns: 1 },
    ];
  }
  return [
    { batch: 1, depth: REVE_BASE_CONFIG.depth, ortBackends: ort, runs: 3, ortWebgpuRuns: 1 },
    { batch: 32, depth: REVE_BATCH32_DEPTH, ortBackends: ort, runs: 3, ortWebgpuRuns: 1 },
  ];
}

export interface ReveForwardEntry {
  batch: number;
  depth: number;
  full_depth: number;
  channels: number;
  samples: number;
  ours_ms: number;
  ours_trials_per_second: number;
  /** Ours with the matmul weights in storage buffers (the model's default is textures). */
  ours_buffer_weights_ms: number;
  ours_buffer_weights_trials_per_second: number;
  /** Without the readback of `final` (outputs stay on the GPU). */
  ours_gpu_resident_ms: number;
  dispatches: number;
  /** Our GPU memory for this row: weights and the activation pool's peak. */
  weight_bytes: number;
  activation_peak_bytes: number;
  ort_webgpu_ms: number | null;
  ort_webgpu_trials_per_second: number | null;
  ort_wasm_ms: number | null;
  ort_wasm_trials_per_second: number | null;
  speedup_vs_ort_webgpu: number | null;
  speedup_vs_ort_wasm: number | null;
  ort_webgpu_error?: string;
  ort_wasm_error?: string;
}

async function runPlan(ctx: BenchContext, p: RevePlan): Promise<ReveForwardEntry> {
  const log = (line: string) => ctx.log(`  ${line}`);
  const ours = await benchReveForward({
    batches: [p.batch],
    depth: p.depth,
    warmup: 1,
    runs: p.runs,
    log,
  });
  const row = ours.rows[0];
  const buffered = (await benchReveForward({
    batches: [p.batch],
    depth: p.depth,
    warmup: 1,
    runs: p.runs,
    log,
    textureWeights: false,
  })).rows[0];
  const ort: Partial<Record<OrtBackend, { ms: number } | { error: string }>> = {};
  for (const backend of p.ortBackends) {
    try {
      const r = await benchReveOnnx({
        backends: [backend],
        batches: [p.batch],
        channels: row.channels,
        samples: row.samples,
        depth: p.depth,
        warmup: 1,
        runs: backend === "webgpu" ? p.ortWebgpuRuns : p.runs,
        log,
      });
      ort[backend] = { ms: r.rows[0].medianMs };
    } catch (e) {
      ort[backend] = { error: (e as Error).message.split("\n")[0] };
    }
  }
  const msOf = (b: OrtBackend) => {
    const r = ort[b];
    return r && "ms" in r ? r.ms : null;
  };
  const perSecond = (ms: number | null) => (ms === null ? null : round((p.batch * 1000) / ms));
  const webgpuMs = msOf("webgpu");
  const wasmMs = msOf("wasm");
  const entry: ReveForwardEntry = {
    batch: p.batch,
    depth: p.depth,
    full_depth: REVE_BASE_CONFIG.depth,
    channels: row.channels,
    samples: row.samples,
    ours_ms: round(row.medianMs, 1),
    ours_trials_per_second: round(row.trialsPerSecond),
    ours_buffer_weights_ms: round(buffered.medianMs, 1),
    ours_buffer_weights_trials_per_second: round(buffered.trialsPerSecond),
    ours_gpu_resident_ms: round(row.gpuResidentMedianMs, 1),
    dispatches: row.dispatches,
    weight_bytes: ours.weightBytes,
    activation_peak_bytes: ours.activationPeakBytes,
    ort_webgpu_ms: webgpuMs === null ? null : round(webgpuMs, 1),
    ort_webgpu_trials_per_second: perSecond(webgpuMs),
    ort_wasm_ms: wasmMs === null ? null : round(wasmMs, 1),
    ort_wasm_trials_per_second: perSecond(wasmMs),
    speedup_vs_ort_webgpu: webgpuMs === null ? null : round(webgpuMs / row.medianMs),
    speedup_vs_ort_wasm: wasmMs === null ? null : round(wasmMs / row.medianMs),
  };
  const webgpu = ort.webgpu;
  const wasm = ort.wasm;
  if (webgpu && "error" in webgpu) entry.ort_webgpu_error = webgpu.error;
  if (wasm && "error" in wasm) entry.ort_wasm_error = wasm.error;
  return entry;
}

export const reveForwardSection: BenchSection = {
  name: "reve forward",
  async run(ctx: BenchContext): Promise<void> {
    const entries: ReveForwardEntry[] = [];
    for (const p of plans(ctx)) entries.push(await runPlan(ctx, p));
    ctx.results.reve_forward = entries;
    const batch32 = entries.find((e) => e.batch === 32);
    ctx.results.reve_forward_speedup_vs_ort_webgpu = batch32?.speedup_vs_ort_webgpu ?? null;
    const cell = (x: number | null, digits = 2) => (x === null ? "-" : x.toFixed(digits));
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    ctx.log("");
    ctx.log(formatTable([
      [
        "REVE forward (22×800 trials)",
        "ours trials/s",
        "ms",
        "weights in buffers",
        "ort webgpu trials/s",
        "ort wasm trials/s",
        "ours/webgpu",
        "ours/wasm",
        "GPU MiB (weights + activations)",
      ],
      ...entries.map((e) => [
        `batch ${e.batch}, depth ${e.depth}/${e.full_depth}`,
        e.ours_trials_per_second.toFixed(2),
        e.ours_ms.toFixed(0),
        e.ours_buffer_weights_trials_per_second.toFixed(2),
        cell(e.ort_webgpu_trials_per_second, 3),
        cell(e.ort_wasm_trials_per_second),
        cell(e.speedup_vs_ort_webgpu),
        cell(e.speedup_vs_ort_wasm),
        `${mib(e.weight_bytes)} + ${mib(e.activation_peak_bytes)}`,
      ]),
    ]));
    ctx.log(
      `reve-base widths, random weights (in textures; "weights in buffers": ours with them in ` +
        `storage buffers, trials/s); a run is one forward with the upload of the trials and ` +
        `the readback of \`final\`, the median of ${ctx.quick ? 1 : 3} runs (ort webgpu: one ` +
        `run) after a warm-up run. The batch-32 row runs ${
          ctx.quick ? REVE_BATCH32_DEPTH_QUICK : REVE_BATCH32_DEPTH
        } of ${REVE_BASE_CONFIG.depth} blocks for every backend (time is linear in depth).`,
    );
    const errors = entries.flatMap((e) => [e.ort_webgpu_error, e.ort_wasm_error]).filter(Boolean);
    for (const e of new Set(errors)) ctx.log(`onnxruntime-web could not run: ${e}`);
  },
};
