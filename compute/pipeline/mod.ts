/**
 * @module
 * Stages that join several layers into one run: training from a dataset (REVE extraction, then the
 * SAE; {@link runTraining}, behind `deno task train`), the run record `run.json`
 * ({@link writeRunInfo}), the whole pipeline from data to report site ({@link runDemo},
 * behind `deno task demo`), and the bench section that times its stages
 * ({@link pipelineSection}). The files a run writes: docs/ARCHITECTURE.md, "Run folder".
 *
 * ```ts
 * import { runDemo } from "./mod.ts";
 *
 * const result = await runDemo({
 *   out: "runs/demo",
 *   size: "tiny",
 *   scaling: "zscore_clip15",
 *   seed: 1,
 *   site: true,
 *   argv: [],
 * });
 * ```
 */
export {
  DEMO_SIZES,
  type DemoOptions,
  type DemoOverrides,
  type DemoPlan,
  demoPlan,
  runDemo,
} from "./demo.ts";
export { buildRunInfo, writeRunInfo } from "./run_info.ts";
export { pipelineSection } from "./pipeline_bench.ts";
export { runTraining, type TrainRunOptions } from "./train_run.ts";
