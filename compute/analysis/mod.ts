/**
 * @module
 * What a trained SAE's features do, and how well they decode the task: per-feature statistics
 * accumulated on the GPU over every trial (firing rates, class means, channel × patch maps,
 * histograms, top trials), spectral signatures, the files the report site reads, and the linear
 * probe (multinomial logistic regression under subject protocols), top-K class-specific feature
 * masking and the spliced evaluation. `deno task features` and `deno task probe` run
 * {@link runFeaturesTask} and {@link runProbeTask}.
 *
 * Main exports: {@link loadAnalysisInputs} (trials, REVE, the SAE and the runner chaining them),
 * {@link analyseFeatures}, {@link writeFeatureOutputs}, {@link runProbes},
 * {@link fitLogisticRegression}, {@link classificationMetrics}, {@link leaveOneSubjectOut},
 * {@link cbramodSplit}, {@link topKCurve}, {@link spectralSignature}.
 *
 * ```ts
 * import { runFeaturesTask } from "./mod.ts";
 *
 * await runFeaturesTask({
 *   saeDir: "runs/x/sae",
 *   modelDir: "reve-base",
 *   dbPath: "data/bcic2a.lmdb",
 *   split: "all",
 *   out: "runs/x/features",
 *   batchSize: 16,
 *   topK: 20,
 *   siteTopTrials: 8,
 *   trialChunkSize: 64,
 *   neighbours: 8,
 *   chunkSize: 0,
 *   classNames: ["left_hand", "right_hand", "feet", "tongue"],
 *   skipBad: false,
 * });
 * ```
 */
export { loadAnalysisInputs } from "./analysis_inputs.ts";
export { reveSaeRunner } from "./activation_runner.ts";
export { AnalysisSae, loadAnalysisSae } from "./analysis_sae.ts";
export { analyseFeatures } from "./features.ts";
export { finaliseFeatureStats } from "./feature_stats.ts";
export { writeFeatureOutputs } from "./feature_writers.ts";
export { runFeaturesTask } from "./features_task.ts";
export { spectralSignature } from "./spectral.ts";
export { poolActivations, runProbes } from "./probe.ts";
export { runProbeTask } from "./probe_task.ts";
export { fitLogisticRegression, predictClasses } from "./logistic_regression.ts";
export { classificationMetrics } from "./metrics.ts";
export { cbramodSplit, leaveOneSubjectOut, type SubjectSplit } from "./splits.ts";
export { topKCurve } from "./topk_masking.ts";
