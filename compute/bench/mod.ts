/**
 * @module
 * `deno task bench`: throughput measured side by side in one run on the adapter at hand. Each
 * section ({@link BENCH_SECTIONS}: the FMA peak, load costs, matmul, the REVE forward against
 * onnxruntime-web, the SAE step against numpy) prints a table and adds keys to the JSON report;
 * BENCHMARKS.md records the numbers. Timings live here, never in tests. The "pipeline" section
 * runs the pipeline's own stages, so it lives in compute/pipeline/pipeline_bench.ts and the CLI
 * passes it in `sections`; its projection ({@link projectPipeline}) and per-stage peak memory
 * ({@link measureStageMemory}) are here.
 *
 * Main exports: {@link runBench}, {@link BENCH_SECTIONS}, {@link timeGpu}, {@link median},
 * {@link GpuMemoryMeter}.
 *
 * ```ts
 * import { runBench } from "./mod.ts";
 *
 * const report = await runBench({
 *   quick: true,
 *   ort: false,
 *   autotune: false,
 *   fullShapes: false,
 *   only: ["matmul"],
 *   log: console.log,
 * });
 * ```
 */
export { BENCH_SECTIONS, type BenchOptions, runBench } from "./run_bench.ts";
export type { BenchContext, BenchSection } from "./bench_section.ts";
export { median, timeGpu } from "./timing.ts";
export { GpuMemoryMeter } from "./gpu_memory.ts";
export { projectPipeline } from "./pipeline_projection.ts";
export { measureStageMemory } from "./stage_memory.ts";
