/**
 * One probe fit on one split: the regularisation strength is chosen on the validation trials when
 * the split has them (best balanced accuracy, ties to the stronger penalty), else it is fixed; the
 * model trained on the training trials is scored on the test trials. The split's trials are read
 * through row views of x, never copied.
 */
import {
  type ConvergenceReport,
  fitLogisticRegression,
  type LogisticRegressionModel,
  predictClasses,
} from "./logistic_regression.ts";
import type { Matrix } from "./matrix.ts";
import { type DesignMatrix, designRows } from "./design_matrix.ts";
import { type ClassificationMetrics, classificationMetrics } from "./metrics.ts";
import type { SubjectSplit } from "./splits.ts";
import { EegSaeError } from "../util/errors.ts";

export interface ProbeFitOptions {
  /** C used when the split has no validation trials. */
  c: number;
  /** Candidates for C when it does. */
  cGrid: readonly number[];
  gradientTolerance: number;
  maxIterations: number;
}

export const DEFAULT_PROBE_FIT: ProbeFitOptions = {
  c: 1,
  cGrid: [1e-4, 1e-3, 1e-2, 1e-1, 1, 10],
  gradientTolerance: 1e-5,
  maxIterations: 1000,
};

export class ProbeFitError extends EegSaeError {}

export interface ValidationPoint {
  c: number;
  balancedAccuracy: number;
  accuracy: number;
  converged: boolean;
}

export interface ProbeEvaluation {
  split: string;
  c: number;
  /** One point per candidate C; empty when C was fixed. */
  validation: ValidationPoint[];
  test: ClassificationMetrics;
  trainAccuracy: number;
  convergence: ConvergenceReport;
  nTrain: number;
  nValidation: number;
  nTest: number;
  nFeatures: number;
  /** The fitted model (to score other inputs of the same trials, as in the spliced evaluation). */
  model: LogisticRegressionModel;
}

function fit(x: DesignMatrix, y: Int32Array, nClasses: number, c: number, o: ProbeFitOptions) {
  return fitLogisticRegression(x, y, nClasses, {
    c,
    gradientTolerance: o.gradientTolerance,
    maxIterations: o.maxIterations,
  });
}

function pick(labels: Int32Array, rows: Int32Array): Int32Array {
  return rows.map((r) => labels[r]);
}

/** Fits on split.train (choosing C on split.validation if any) and scores on split.test. */
export function fitAndEvaluate(
  x: Matrix | DesignMatrix,
  labels: Int32Array,
  nClasses: number,
  split: SubjectSplit,
  options: ProbeFitOptions = DEFAULT_PROBE_FIT,
): ProbeEvaluation {
  const xTrain = designRows(x, split.train);
  const yTrain = pick(labels, split.train);
  const validation: ValidationPoint[] = [];
  let model: LogisticRegressionModel;
  if (split.validation.length > 0) {
    if (options.cGrid.length === 0) {
      throw new ProbeFitError(`split ${split.name} has validation trials but the C grid is empty`);
    }
    const xVal = designRows(x, split.validation);
    const yVal = pick(labels, split.validation);
    let best: { model: LogisticRegressionModel; score: number } | null = null;
    // Strongest penalty first, so a tie keeps the simpler model.
    for (const c of [...options.cGrid].sort((a, b) => a - b)) {
      const m = fit(xTrain, yTrain, nClasses, c, options);
      const metrics = classificationMetrics(yVal, predictClasses(m, xVal), nClasses);
      validation.push({
        c,
        balancedAccuracy: metrics.balancedAccuracy,
        accuracy: metrics.accuracy,
        converged: m.convergence.converged,
      });
      if (!best || metrics.balancedAccuracy > best.score) {
        best = { model: m, score: metrics.balancedAccuracy };
      }
    }
    model = best!.model;
  } else {
    model = fit(xTrain, yTrain, nClasses, options.c, options);
  }
  const xTest = designRows(x, split.test);
  const test = classificationMetrics(
    pick(labels, split.test),
    predictClasses(model, xTest),
    nClasses,
  );
  const trainAccuracy = classificationMetrics(yTrain, predictClasses(model, xTrain), nClasses)
    .accuracy;
  return {
    split: split.name,
    c: model.c,
    validation,
    test,
    trainAccuracy,
    convergence: model.convergence,
    nTrain: split.train.length,
    nValidation: split.validation.length,
    nTest: split.test.length,
    nFeatures: x.cols,
    model,
  };
}
