/** Bench section: the adapter report and its measured FMA peak (`fma_peak_gflops`). */
import { describeAdapter } from "../gpu/mod.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { measureFmaPeak } from "./fma_peak.ts";
import { round } from "./format.ts";
import { measureSubmitLatency } from "./timing.ts";

export const fmaSection: BenchSection = {
  name: "fma peak",
  async run(ctx: BenchContext): Promise<void> {
    const { gpu } = ctx;
    ctx.results.adapter = {
      ...gpu.adapter,
      DENO_WEBGPU_BACKEND: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null,
    };
    ctx.log(`adapter: ${describeAdapter(gpu)}`);
    ctx.log(`  fallback (software) adapter: ${gpu.adapter.isFallbackAdapter ? "yes" : "no"}`);
    ctx.log(`  DENO_WEBGPU_BACKEND=${Deno.env.get("DENO_WEBGPU_BACKEND") ?? "(unset)"}`);
    const latency = await measureSubmitLatency(gpu);
    ctx.results.submit_latency_ms = round(latency * 1000);
    ctx.log(
      `submitting work and waiting for it costs ${(latency * 1000).toFixed(1)} ms whatever the ` +
        "work; timed GPU runs last at least 0.25 s, so that cost stays under 5% of them",
    );
    const peak = await measureFmaPeak(gpu, ctx.quick ? 3 : 7);
    ctx.results.fma_peak_gflops = round(peak);
    ctx.log(`FMA peak (register-only loop): ${peak.toFixed(1)} GFLOP/s`);
  },
};
