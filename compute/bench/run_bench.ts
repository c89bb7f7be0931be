/** Runs the benchmark sections in order and returns everything measured (the --json object). */
import { getGpu } from "../gpu/mod.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { fmaSection } from "./fma_section.ts";
import { GpuMemoryMeter } from "./gpu_memory.ts";
import { loadCostSection } from "./load_cost_section.ts";
import { matmulSection } from "./matmul_section.ts";
import { reveForwardSection } from "./reve_section.ts";
import { saeStepSection } from "./sae_step.ts";

/** Sections in run order. */
export const BENCH_SECTIONS: readonly BenchSection[] = [
  fmaSection,
  loadCostSection,
  matmulSection,
  reveForwardSection,
  saeStepSection,
];

export interface BenchOptions {
  /** Sections in run order (default {@link BENCH_SECTIONS}; the CLI adds the pipeline's). */
  sections?: readonly BenchSection[];
  quick: boolean;
  ort: boolean;
  autotune: boolean;
  fullShapes: boolean;
  /** Section names to run (all when empty). */
  only: string[];
  log: (line: string) => void;
}

export async function runBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  const gpu = await getGpu();
  const results: Record<string, unknown> = { quick: opts.quick, date: new Date().toISOString() };
  const ctx: BenchContext = {
    gpu,
    quick: opts.quick,
    ort: opts.ort,
    autotune: opts.autotune,
    fullShapes: opts.fullShapes,
    log: opts.log,
    results,
  };
  const peakBytes: Record<string, number> = {};
  results.gpu_peak_bytes = peakBytes;
  const meter = new GpuMemoryMeter(gpu.device);
  try {
    for (const section of opts.sections ?? BENCH_SECTIONS) {
      // The FMA peak is every later section's yardstick, so it always runs.
      if (opts.only.length && section !== fmaSection && !opts.only.includes(section.name)) continue;
      opts.log(`\n== ${section.name} ==`);
      meter.resetPeak();
      const before = meter.liveBytes;
      await section.run(ctx);
      peakBytes[section.name] = meter.peakBytes - before;
      opts.log(
        `peak GPU memory we allocated: ${(peakBytes[section.name] / 2 ** 20).toFixed(1)} MiB`,
      );
    }
  } finally {
    meter.dispose();
  }
  const sae = results.sae_step as { fraction_of_fma_peak?: number | null } | undefined;
  if (sae) results.sae_step_fraction_of_peak = sae.fraction_of_fma_peak ?? null;
  return results;
}
