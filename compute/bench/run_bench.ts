/** Runs the benchmark sections in order and returns everything measured (the --json object). */
import { getGpu } from "../gpu/mod.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { fmaSection } from "./fma_section.ts";
import { matmulSection } from "./matmul_section.ts";

/** Sections in run order; REVE forward and SAE step sections are added here as they land. */
export const BENCH_SECTIONS: readonly BenchSection[] = [fmaSection, matmulSection];

export interface BenchOptions {
  quick: boolean;
  ort: boolean;
  autotune: boolean;
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
    log: opts.log,
    results,
  };
  for (const section of BENCH_SECTIONS) {
    // The FMA peak is every later section's yardstick, so it always runs.
    if (opts.only.length && section !== fmaSection && !opts.only.includes(section.name)) continue;
    opts.log(`\n== ${section.name} ==`);
    await section.run(ctx);
  }
  return results;
}
