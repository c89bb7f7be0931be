/**
 * Top-K class-specific feature masking: per class, the K SAE features with the highest score on
 * the training trials only (mean activation, or selectivity), their union kept and every other
 * feature zeroed, the probe retrained and scored on held-out trials. Zeroed columns carry no
 * information after standardisation and get zero weight under L2, so dropping them is the same fit.
 * The PatchSAE variant, which picks each trial's mask from its own true class and scores on the
 * training trials, leaks the label and is returned only marked as an oracle.
 */
import { type Matrix, MatrixShapeError } from "./matrix.ts";
import { designColumns, type DesignMatrix, designRows, readDesignRow } from "./design_matrix.ts";
import { fitAndEvaluate, type ProbeEvaluation, type ProbeFitOptions } from "./probe_fit.ts";
import { type ClassificationMetrics, classificationMetrics } from "./metrics.ts";
import { fitLogisticRegression, predictClasses } from "./logistic_regression.ts";
import type { SubjectSplit } from "./splits.ts";

export type TopKCriterion = "mean" | "selectivity";

/** K values of the curve; "all" keeps every feature. */
export const DEFAULT_K_VALUES: readonly (number | "all")[] = [1, 2, 5, 10, 20, 50, 100, "all"];

/**
 * Per-class scores [nClasses, d] from the given rows of x [n, d] (per-trial pooled activations).
 * mean: the class's mean activation. selectivity: (class mean − mean of the other classes) divided
 * by the feature's standard deviation over those rows, so a feature that is large everywhere does
 * not count as specific.
 */
export function classFeatureScores(
  x: Matrix,
  labels: Int32Array,
  rows: Int32Array,
  nClasses: number,
  criterion: TopKCriterion,
): Float64Array {
  const d = x.cols;
  const sums = new Float64Array(nClasses * d);
  const counts = new Float64Array(nClasses);
  const total = new Float64Array(d);
  const totalSq = new Float64Array(d);
  for (const r of rows) {
    const y = labels[r];
    counts[y]++;
    const base = r * d;
    for (let j = 0; j < d; j++) {
      const v = x.data[base + j];
      sums[y * d + j] += v;
      total[j] += v;
      totalSq[j] += v * v;
    }
  }
  const scores = new Float64Array(nClasses * d);
  for (let c = 0; c < nClasses; c++) {
    const rest = rows.length - counts[c];
    for (let j = 0; j < d; j++) {
      const mean = counts[c] > 0 ? sums[c * d + j] / counts[c] : 0;
      if (criterion === "mean") {
        scores[c * d + j] = mean;
        continue;
      }
      const restMean = rest > 0 ? (total[j] - sums[c * d + j]) / rest : 0;
      const mu = total[j] / rows.length;
      const sd = Math.sqrt(Math.max(0, totalSq[j] / rows.length - mu * mu));
      scores[c * d + j] = (mean - restMean) / (sd + 1e-8);
    }
  }
  return scores;
}

/** For each class the k highest-scoring features, best first (ties: lower index first). */
export function topKPerClass(scores: Float64Array, nClasses: number, k: number): number[][] {
  const d = scores.length / nClasses;
  const out: number[][] = [];
  for (let c = 0; c < nClasses; c++) {
    const order = Array.from({ length: d }, (_, j) => j);
    order.sort((a, b) => scores[c * d + b] - scores[c * d + a] || a - b);
    out.push(order.slice(0, Math.min(k, d)));
  }
  return out;
}

/** Sorted distinct features of all classes' lists. */
export function unionOfFeatures(perClass: readonly number[][]): Int32Array {
  return Int32Array.from(new Set(perClass.flat())).sort();
}

/**
 * Probe columns of the kept features when the probe input holds `blocks` column blocks of d
 * features each (e.g. mean-pooled then max-pooled SAE features: column b·d + f).
 */
export function probeColumns(features: Int32Array, d: number, blocks: number): Int32Array {
  const out = new Int32Array(features.length * blocks);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < features.length; i++) out[b * features.length + i] = b * d + features[i];
  }
  return out;
}

export interface TopKPoint {
  k: number | "all";
  /** Features kept (union over classes). */
  nFeatures: number;
  perClass: number[][];
  evaluation: ProbeEvaluation;
}

export interface TopKInputs {
  /** Per-trial activations [n, d] that the features are ranked by (mean-pooled SAE features). */
  selection: Matrix;
  /** Probe input [n, blocks·d] (e.g. mean- and max-pooled SAE features side by side). */
  probeInput: Matrix | DesignMatrix;
  labels: Int32Array;
  nClasses: number;
}

function blocksOf(inputs: TopKInputs): number {
  const d = inputs.selection.cols;
  if (inputs.probeInput.cols % d !== 0 || inputs.probeInput.rows !== inputs.selection.rows) {
    throw new MatrixShapeError(
      `probe input [${inputs.probeInput.rows}, ${inputs.probeInput.cols}] is not a whole number ` +
        `of blocks of the ${d} selection features over ${inputs.selection.rows} trials`,
    );
  }
  return inputs.probeInput.cols / d;
}

/** Each class's top-K features for one K of a curve, ranked on split.train only. */
function trainTopK(
  inputs: TopKInputs,
  split: SubjectSplit,
  criterion: TopKCriterion,
): (k: number | "all") => number[][] {
  const scores = classFeatureScores(
    inputs.selection,
    inputs.labels,
    split.train,
    inputs.nClasses,
    criterion,
  );
  return (k) => topKPerClass(scores, inputs.nClasses, k === "all" ? inputs.selection.cols : k);
}

/**
 * The held-out curve over K: features chosen on split.train only. `unmasked`, the probe already
 * fitted on every feature of this split, is reused for K = all (the same fit).
 */
export function topKCurve(
  inputs: TopKInputs,
  split: SubjectSplit,
  criterion: TopKCriterion,
  kValues: readonly (number | "all")[],
  fitOptions: ProbeFitOptions,
  unmasked?: ProbeEvaluation,
): TopKPoint[] {
  const d = inputs.selection.cols;
  const blocks = blocksOf(inputs);
  const topKFor = trainTopK(inputs, split, criterion);
  return kValues.map((k) => {
    const perClass = topKFor(k);
    const kept = unionOfFeatures(perClass);
    const evaluation = k === "all" && unmasked ? unmasked : fitAndEvaluate(
      designColumns(inputs.probeInput, probeColumns(kept, d, blocks)),
      inputs.labels,
      inputs.nClasses,
      split,
      fitOptions,
    );
    return { k, nFeatures: kept.length, perClass: k === "all" ? [] : perClass, evaluation };
  });
}

export interface OracleTopKPoint {
  k: number | "all";
  /** Always true: each trial's mask comes from its own label and the score is on training trials. */
  oracle: true;
  train: ClassificationMetrics;
}

/** PatchSAE's procedure (label leak): reported only as an oracle upper bound. */
export function oracleTopKCurve(
  inputs: TopKInputs,
  split: SubjectSplit,
  criterion: TopKCriterion,
  kValues: readonly (number | "all")[],
  fitOptions: ProbeFitOptions,
): OracleTopKPoint[] {
  const d = inputs.selection.cols;
  const blocks = blocksOf(inputs);
  const topKFor = trainTopK(inputs, split, criterion);
  const train = designRows(inputs.probeInput, split.train);
  const y = split.train.map((r) => inputs.labels[r]);
  return kValues.map((k) => {
    const perClass = topKFor(k);
    // A feature in no class's list is zero in every trial: its columns are left out of the copy
    // (an all-zero column standardises to zero and keeps zero weight, so the fit is the same).
    const cols = probeColumns(unionOfFeatures(perClass), d, blocks);
    const kept = designColumns(train, cols);
    let x: DesignMatrix | Matrix = kept;
    if (!perClass.every((list) => list.length === d)) {
      const keep = perClass.map((list) => new Set(list));
      const masked = new Float32Array(train.rows * cols.length);
      const row = new Float64Array(cols.length);
      for (let i = 0; i < train.rows; i++) {
        readDesignRow(kept, i, row);
        for (let j = 0; j < cols.length; j++) {
          if (keep[y[i]].has(cols[j] % d)) masked[i * cols.length + j] = row[j];
        }
      }
      x = { data: masked, rows: train.rows, cols: cols.length };
    }
    const model = fitLogisticRegression(x, y, inputs.nClasses, {
      c: fitOptions.c,
      gradientTolerance: fitOptions.gradientTolerance,
      maxIterations: fitOptions.maxIterations,
    });
    return {
      k,
      oracle: true as const,
      train: classificationMetrics(y, predictClasses(model, x), inputs.nClasses),
    };
  });
}
