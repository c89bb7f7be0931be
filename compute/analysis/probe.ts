/**
 * The linear probe pipeline: per-trial mean- and max-pooled SAE features and mean-pooled REVE
 * activations (and their SAE reconstructions) pooled on the GPU, then multinomial logistic
 * regression under a subject protocol (one leave-one-subject-out fold, all nine, or the CBraMod
 * split), the top-K masking curves, and the spliced evaluation (the probe trained on REVE
 * activations scored on the SAE's reconstructions of the test trials). Results follow
 * schema/run_folder.ts `ProbeResult`.
 */
import { CommandBatch, createTensor, getGpu, readback } from "../gpu/mod.ts";
import { poolTokens } from "../../kernels/token_pool.ts";
import { type ActivationRunner, trialsPerPass } from "./activation_runner.ts";
import { matrix } from "./matrix.ts";
import { asDesign, type DesignMatrix, designRows, sideBySide } from "./design_matrix.ts";
import { type ClassificationMetrics, classificationMetrics } from "./metrics.ts";
import { predictClasses } from "./logistic_regression.ts";
import { fitAndEvaluate, type ProbeEvaluation, type ProbeFitOptions } from "./probe_fit.ts";
import {
  allLeaveOneSubjectOut,
  cbramodSplit,
  leaveOneSubjectOut,
  SplitError,
  type SubjectSplit,
  withinSubjectFolds,
} from "./splits.ts";
import { oracleTopKCurve, type TopKCriterion, topKCurve, type TopKPoint } from "./topk_masking.ts";
import {
  type ProbeMetrics,
  type ProbeProtocol,
  type ProbeProtocolKind,
  type ProbeResult,
  REVE_LINEAR_PROBE_ANCHOR,
  type TopKCurve,
  type TopKPointJson,
} from "../../schema/run_folder.ts";

/** Per-trial pooled activations of a set. */
export interface PooledActivations {
  n: number;
  dSae: number;
  dIn: number;
  /** [n, d_sae] */
  saeMean: Float32Array;
  saeMax: Float32Array;
  /** [n, d_in] */
  reveMean: Float32Array;
  /** [n, d_in] mean-pooled SAE reconstructions. */
  reconMean: Float32Array;
}

/** Pools every trial's tokens on the GPU; one small readback per batch (no token readback). */
export async function poolActivations(
  runner: ActivationRunner,
  nTrials: number,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<PooledActivations> {
  const gpu = await getGpu();
  const { dSae, dIn, tokensPerTrial: t } = runner;
  const pooled: PooledActivations = {
    n: nTrials,
    dSae,
    dIn,
    saeMean: new Float32Array(nTrials * dSae),
    saeMax: new Float32Array(nTrials * dSae),
    reveMean: new Float32Array(nTrials * dIn),
    reconMean: new Float32Array(nTrials * dIn),
  };
  const perPass = trialsPerPass(runner, batchSize, gpu.limits.maxStorageBufferBindingSize, nTrials);
  for (let from = 0; from < nTrials; from += perPass) {
    const ids = Array.from({ length: Math.min(perPass, nTrials - from) }, (_, i) => from + i);
    const b = ids.length;
    const out = await runner.run(ids);
    const zPool = createTensor(gpu, [b, 2 * dSae], "f32", "probe.z_pool");
    const xPool = createTensor(gpu, [b, 2 * dIn], "f32", "probe.x_pool");
    const hPool = createTensor(gpu, [b, 2 * dIn], "f32", "probe.xhat_pool");
    const batch = new CommandBatch(gpu, "probe pooling");
    poolTokens(batch, out.z, zPool, b, t);
    poolTokens(batch, out.x, xPool, b, t);
    poolTokens(batch, out.xHat, hPool, b, t);
    await batch.submit();
    const [z, x, h] = [
      await readback(gpu, zPool),
      await readback(gpu, xPool),
      await readback(gpu, hPool),
    ];
    for (let i = 0; i < b; i++) {
      const row = from + i;
      pooled.saeMean.set(z.subarray(i * 2 * dSae, i * 2 * dSae + dSae), row * dSae);
      pooled.saeMax.set(z.subarray(i * 2 * dSae + dSae, (i + 1) * 2 * dSae), row * dSae);
      pooled.reveMean.set(x.subarray(i * 2 * dIn, i * 2 * dIn + dIn), row * dIn);
      pooled.reconMean.set(h.subarray(i * 2 * dIn, i * 2 * dIn + dIn), row * dIn);
    }
    for (const tns of [zPool, xPool, hPool]) tns.buffer.destroy();
    out.release();
    onProgress?.(from + b, nTrials);
  }
  return pooled;
}

export type ProbeInputName = "sae_mean_max" | "sae_mean" | "sae_max" | "reve_mean";
export const PROBE_INPUTS: readonly ProbeInputName[] = [
  "sae_mean_max",
  "sae_mean",
  "sae_max",
  "reve_mean",
];

export interface ProbeRunOptions {
  protocol: ProbeProtocolKind;
  /** For `loso`. */
  testSubject?: number;
  /** For `within_subject_cv`: the number of folds. */
  cvFolds?: number;
  inputs: readonly ProbeInputName[];
  fit: ProbeFitOptions;
  kValues: readonly (number | "all")[];
  rankings: readonly TopKCriterion[];
  /** Also the PatchSAE curve (labelled `oracle`). */
  oracle: boolean;
  classNames: string[];
  /** Settings recorded with every result (data, model, SAE, hook, preprocessing...). */
  settings: Record<string, string | number | boolean | null>;
}

/** The probe input as a view of the pooled arrays (no copy: at full scale one is hundreds of MB). */
function inputDesign(p: PooledActivations, input: ProbeInputName): DesignMatrix {
  switch (input) {
    case "sae_mean":
      return asDesign(matrix(p.saeMean, p.n, p.dSae, input));
    case "sae_max":
      return asDesign(matrix(p.saeMax, p.n, p.dSae, input));
    case "sae_mean_max":
      return sideBySide([matrix(p.saeMean, p.n, p.dSae), matrix(p.saeMax, p.n, p.dSae)]);
    case "reve_mean":
      return asDesign(matrix(p.reveMean, p.n, p.dIn, input));
  }
}

export function splitsFor(
  protocol: ProbeProtocolKind,
  subjects: Int32Array,
  testSubject?: number,
  within?: { labels: Int32Array; folds: number },
): SubjectSplit[] {
  switch (protocol) {
    case "loso":
      if (testSubject === undefined) throw new SplitError("the loso protocol needs --test_subject");
      return [leaveOneSubjectOut(subjects, testSubject)];
    case "all_subjects":
      return allLeaveOneSubjectOut(subjects);
    case "cbramod_split":
      return [cbramodSplit(subjects)];
    case "within_subject_cv":
      if (!within) throw new SplitError("the within_subject_cv protocol needs --cv_folds");
      return withinSubjectFolds(subjects, within.labels, within.folds);
  }
}

function describeProtocol(kind: ProbeProtocolKind, splits: SubjectSplit[]): ProbeProtocol {
  const s = splits[0];
  const list = (x: number[]) => x.join(", ");
  switch (kind) {
    case "loso":
      return {
        kind,
        description: `leave-one-subject-out: train subjects ${list(s.trainSubjects)}, test ${
          list(s.testSubjects)
        }`,
        train_subjects: s.trainSubjects,
        val_subjects: [],
        test_subjects: s.testSubjects,
      };
    case "all_subjects": {
      const all = splits.flatMap((x) => x.testSubjects);
      return {
        kind,
        description:
          `leave-one-subject-out over all ${splits.length} subjects (mean ± std over folds)`,
        train_subjects: all,
        val_subjects: [],
        test_subjects: all,
      };
    }
    case "within_subject_cv":
      return {
        kind,
        description: `within-subject ${splits.length}-fold cross-validation (stratified, each ` +
          "fold a contiguous block of trials in time order; mean ± std over folds)",
        train_subjects: s.trainSubjects,
        val_subjects: [],
        test_subjects: s.testSubjects,
      };
    case "cbramod_split":
      return {
        kind,
        description: `train subjects ${list(s.trainSubjects)}, validate ${
          list(s.validationSubjects)
        } (choosing C), test ${list(s.testSubjects)}`,
        train_subjects: s.trainSubjects,
        val_subjects: s.validationSubjects,
        test_subjects: s.testSubjects,
      };
  }
}

function toProbeMetrics(m: ClassificationMetrics): ProbeMetrics {
  return {
    accuracy: m.accuracy,
    balanced_accuracy: m.balancedAccuracy,
    kappa: m.cohenKappa,
    weighted_f1: m.weightedF1,
    confusion: m.confusionMatrix,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Population standard deviation (numpy's default). */
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

/** Mean metrics over folds; the confusion matrices are summed. */
function meanMetrics(ms: ClassificationMetrics[]): ProbeMetrics {
  const k = ms[0].confusionMatrix.length;
  const confusion = Array.from(
    { length: k },
    (_, i) =>
      Array.from({ length: k }, (_, j) => ms.reduce((s, m) => s + m.confusionMatrix[i][j], 0)),
  );
  return {
    accuracy: mean(ms.map((m) => m.accuracy)),
    balanced_accuracy: mean(ms.map((m) => m.balancedAccuracy)),
    kappa: mean(ms.map((m) => m.cohenKappa)),
    weighted_f1: mean(ms.map((m) => m.weightedF1)),
    confusion,
  };
}

function curvePoints(perFold: TopKPoint[][]): TopKPointJson[] {
  return perFold[0].map((p, i) => ({
    k: p.k === "all" ? null : p.k,
    n_features: Math.round(mean(perFold.map((f) => f[i].nFeatures))),
    accuracy: mean(perFold.map((f) => f[i].evaluation.test.accuracy)),
    balanced_accuracy: mean(perFold.map((f) => f[i].evaluation.test.balancedAccuracy)),
  }));
}

function convergenceSettings(evals: ProbeEvaluation[]): Record<string, number | boolean> {
  return {
    converged_all: evals.every((e) => e.convergence.converged),
    iterations_max: Math.max(...evals.map((e) => e.convergence.iterations)),
    gradient_norm_max: Math.max(...evals.map((e) => e.convergence.gradientNorm)),
    chosen_c_min: Math.min(...evals.map((e) => e.c)),
    chosen_c_max: Math.max(...evals.map((e) => e.c)),
  };
}

/** Runs the probe on each input under the protocol; one ProbeResult per input. */
export function runProbes(
  pooled: PooledActivations,
  labels: Int32Array,
  subjects: Int32Array,
  opts: ProbeRunOptions,
): ProbeResult[] {
  const nClasses = opts.classNames.length;
  const splits = splitsFor(
    opts.protocol,
    subjects,
    opts.testSubject,
    opts.cvFolds === undefined ? undefined : { labels, folds: opts.cvFolds },
  );
  const protocol = describeProtocol(opts.protocol, splits);
  const tag = opts.protocol === "loso" ? `loso_s${opts.testSubject}` : opts.protocol;
  const results: ProbeResult[] = [];
  for (const input of opts.inputs) {
    const x = inputDesign(pooled, input);
    const evals = splits.map((s) => fitAndEvaluate(x, labels, nClasses, s, opts.fit));
    const topk: TopKCurve[] = [];
    const isSae = input !== "reve_mean";
    const allEvals = [...evals];
    if (isSae && opts.kValues.length > 0) {
      const selection = matrix(pooled.saeMean, pooled.n, pooled.dSae);
      const inputs = { selection, probeInput: x, labels, nClasses };
      for (const ranking of opts.rankings) {
        const perFold = splits.map((s, i) =>
          topKCurve(inputs, s, ranking, opts.kValues, opts.fit, evals[i])
        );
        perFold.flat().forEach((p) => p.k !== "all" && allEvals.push(p.evaluation));
        topk.push({ ranking, points: curvePoints(perFold) });
      }
      if (opts.oracle) {
        const perFold = splits.map((s) =>
          oracleTopKCurve(inputs, s, "mean", opts.kValues, opts.fit)
        );
        topk.push({
          ranking: "oracle",
          points: perFold[0].map((p, i) => ({
            k: p.k === "all" ? null : p.k,
            n_features: p.k === "all" ? pooled.dSae : p.k,
            accuracy: mean(perFold.map((f) => f[i].train.accuracy)),
            balanced_accuracy: mean(perFold.map((f) => f[i].train.balancedAccuracy)),
          })),
        });
      }
    }
    let spliced: ProbeResult["spliced"] = null;
    if (input === "reve_mean") {
      const recon = matrix(pooled.reconMean, pooled.n, pooled.dIn);
      const onRecon = splits.map((s, i) =>
        classificationMetrics(
          s.test.map((r) => labels[r]),
          predictClasses(evals[i].model, designRows(recon, s.test)),
          nClasses,
        )
      );
      spliced = { original: meanMetrics(evals.map((e) => e.test)), spliced: meanMetrics(onRecon) };
    }
    const tests = evals.map((e) => e.test);
    results.push({
      name: `${tag}_${input}`,
      input,
      protocol,
      class_names: opts.classNames,
      settings: {
        ...opts.settings,
        solver: "lbfgs",
        penalty: "l2",
        objective: "C·Σ cross-entropy + ½‖W‖² (intercepts unpenalised), as sklearn",
        standardise: true,
        c: splits[0].validation.length > 0 ? null : opts.fit.c,
        c_grid: splits[0].validation.length > 0 ? opts.fit.cGrid.join(",") : null,
        c_selection: splits[0].validation.length > 0 ? "validation balanced accuracy" : "fixed",
        gradient_tolerance: opts.fit.gradientTolerance,
        max_iterations: opts.fit.maxIterations,
        n_features: x.cols,
        n_trials: pooled.n,
        folds: splits.length,
        k_values: opts.kValues.join(","),
        topk_selection: "per class on training trials only; union over classes; others zeroed",
        std: "population (numpy default) over folds",
        ...convergenceSettings(allEvals),
      },
      converged: allEvals.every((e) => e.convergence.converged),
      metrics: meanMetrics(tests),
      metrics_std: splits.length > 1
        ? {
          accuracy: std(tests.map((m) => m.accuracy)),
          balanced_accuracy: std(tests.map((m) => m.balancedAccuracy)),
        }
        : null,
      folds: splits.map((s, i) => ({
        fold: i,
        test_subjects: s.testSubjects,
        metrics: toProbeMetrics(tests[i]),
      })),
      topk,
      spliced,
      anchor: REVE_LINEAR_PROBE_ANCHOR,
    });
  }
  return results;
}
