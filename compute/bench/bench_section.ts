/**
 * The benchmark is a list of sections (FMA peak, matmul, later REVE forward and SAE step), each a
 * module under compute/bench/. A section prints its own table and adds keys to the JSON report;
 * later sections can read what earlier ones measured (e.g. the FMA peak) from `ctx.results`.
 */
import type { Gpu } from "../gpu/mod.ts";

export interface BenchContext {
  gpu: Gpu;
  /** Fewer repetitions and runs, and the slowest comparisons skipped. */
  quick: boolean;
  /** Race onnxruntime-web where a section can. */
  ort: boolean;
  /** Let the matmul autotuner pick tiles (and cache them) instead of the fixed heuristic. */
  autotune: boolean;
  /** Run the full shapes even on a software adapter, where sections otherwise scale them down. */
  fullShapes: boolean;
  /** Human-readable output (stderr with --json). */
  log: (line: string) => void;
  /** Everything measured so far; becomes the --json object. */
  results: Record<string, unknown>;
}

export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}
