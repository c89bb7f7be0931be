/**
 * Multinomial logistic regression with an L2 penalty on standardised features, solved by L-BFGS
 * in float64 on the CPU. The design stays as given (float32 pooled features, read through row and
 * column views); each row is standardised into a float64 buffer as it is read. The objective is sklearn's: C·Σᵢ CE(yᵢ, softmax(W·xᵢ + b)) + ½‖W‖²
 * (intercepts not penalised), evaluated here divided by C·n so its scale does not grow with n.
 * The solver reports whether it converged, after how many iterations, at what gradient norm.
 */
import { type Matrix, MatrixShapeError } from "./matrix.ts";
import { asDesign, type DesignMatrix, readDesignRow } from "./design_matrix.ts";
import { EegSaeError } from "../util/errors.ts";

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength, as sklearn's C. */
  c: number;
  /** Stop when the largest gradient entry of the scaled objective is at most this. */
  gradientTolerance?: number;
  maxIterations?: number;
  /** L-BFGS memory (pairs kept). */
  history?: number;
  /** Standardise columns with the training mean and population standard deviation. */
  standardise?: boolean;
}

export interface ConvergenceReport {
  converged: boolean;
  iterations: number;
  /** Largest absolute gradient entry of the scaled objective at the solution. */
  gradientNorm: number;
  /** The scaled objective (mean cross-entropy + ½‖W‖²/(C·n)) at the solution. */
  loss: number;
  /** no_progress: the objective stopped changing at float64 precision before the tolerance. */
  reason: "gradient_tolerance" | "max_iterations" | "line_search_failed" | "no_progress";
}

export interface Standardiser {
  mean: Float64Array;
  scale: Float64Array;
}

export interface LogisticRegressionModel {
  nClasses: number;
  nFeatures: number;
  /** [nClasses, nFeatures] row-major, acting on standardised features. */
  weights: Float64Array;
  intercepts: Float64Array;
  standardiser: Standardiser;
  c: number;
  convergence: ConvergenceReport;
}

export class LogisticRegressionError extends EegSaeError {}

/** Column means and population standard deviations; constant columns get scale 1. */
export function fitStandardiser(x: Matrix | DesignMatrix, enabled = true): Standardiser {
  const mean = new Float64Array(x.cols);
  const scale = new Float64Array(x.cols).fill(1);
  if (!enabled) return { mean, scale };
  const design = asDesign(x);
  const row = new Float64Array(x.cols);
  const sq = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    readDesignRow(design, r, row);
    for (let j = 0; j < x.cols; j++) mean[j] += row[j];
  }
  for (let j = 0; j < x.cols; j++) mean[j] /= x.rows;
  for (let r = 0; r < x.rows; r++) {
    readDesignRow(design, r, row);
    for (let j = 0; j < x.cols; j++) {
      const d = row[j] - mean[j];
      sq[j] += d * d;
    }
  }
  for (let j = 0; j < x.cols; j++) {
    const sd = Math.sqrt(sq[j] / x.rows);
    scale[j] = sd > 1e-12 * Math.max(1, Math.abs(mean[j])) ? sd : 1;
  }
  return { mean, scale };
}

function checkStandardiser(x: { cols: number }, s: Standardiser | undefined): void {
  if (s && (s.mean.length !== x.cols || s.scale.length !== x.cols)) {
    throw new MatrixShapeError(`standardiser has ${s.mean.length} columns, data has ${x.cols}`);
  }
}

/** scores[c] = b[c] + Σⱼ W[c, j] · row[j], each sum over j in ascending order. */
function scoreRow(params: Float64Array, row: Float64Array, scores: Float64Array, d: number): void {
  const k = scores.length;
  const wLen = k * d;
  // Classes in fours share each pass over the row.
  let c = 0;
  for (; c + 3 < k; c += 4) {
    let s0 = params[wLen + c];
    let s1 = params[wLen + c + 1];
    let s2 = params[wLen + c + 2];
    let s3 = params[wLen + c + 3];
    const w0 = c * d;
    const w1 = w0 + d;
    const w2 = w1 + d;
    const w3 = w2 + d;
    for (let j = 0; j < d; j++) {
      const v = row[j];
      s0 += params[w0 + j] * v;
      s1 += params[w1 + j] * v;
      s2 += params[w2 + j] * v;
      s3 += params[w3 + j] * v;
    }
    scores[c] = s0;
    scores[c + 1] = s1;
    scores[c + 2] = s2;
    scores[c + 3] = s3;
  }
  for (; c < k; c++) {
    let s = params[wLen + c];
    const w = c * d;
    for (let j = 0; j < d; j++) s += params[w + j] * row[j];
    scores[c] = s;
  }
}

/** grad[c·d + j] += residuals[c] · row[j] for every class whose residual is not zero. */
function addResiduals(
  grad: Float64Array,
  row: Float64Array,
  residuals: Float64Array,
  d: number,
): void {
  const k = residuals.length;
  let c = 0;
  // Classes in fours share each pass over the row.
  for (; c + 3 < k; c += 4) {
    const r0 = residuals[c];
    const r1 = residuals[c + 1];
    const r2 = residuals[c + 2];
    const r3 = residuals[c + 3];
    if (r0 === 0 || r1 === 0 || r2 === 0 || r3 === 0) {
      for (let a = c; a < c + 4; a++) addResidual(grad, row, residuals[a], a * d);
      continue;
    }
    const w0 = c * d;
    const w1 = w0 + d;
    const w2 = w1 + d;
    const w3 = w2 + d;
    for (let j = 0; j < d; j++) {
      const v = row[j];
      grad[w0 + j] += r0 * v;
      grad[w1 + j] += r1 * v;
      grad[w2 + j] += r2 * v;
      grad[w3 + j] += r3 * v;
    }
  }
  for (; c < k; c++) addResidual(grad, row, residuals[c], c * d);
}

function addResidual(grad: Float64Array, row: Float64Array, r: number, w: number): void {
  if (r === 0) return;
  for (let j = 0; j < row.length; j++) grad[w + j] += r * row[j];
}

/**
 * The scaled objective and its gradient at params = [W (K×d row-major), b (K)], on the rows of x
 * standardised by `standardiser` as they are read (none: x as it is). No standardised copy of x
 * is made: each row goes through one float64 buffer of d values.
 * Exposed so tests can check the solver's optimum against an independent solver.
 */
export function logisticObjective(
  params: Float64Array,
  x: Matrix | DesignMatrix,
  labels: Int32Array,
  nClasses: number,
  inverseRegularisation: number,
  grad?: Float64Array,
  standardiser?: Standardiser,
): number {
  checkStandardiser(x, standardiser);
  const design = asDesign(x);
  const d = x.cols;
  const k = nClasses;
  const n = x.rows;
  const wLen = k * d;
  const scores = new Float64Array(k);
  const residuals = new Float64Array(k);
  const row = new Float64Array(d);
  if (grad) grad.fill(0);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    readDesignRow(design, i, row, standardiser);
    scoreRow(params, row, scores, d);
    let max = -Infinity;
    for (let c = 0; c < k; c++) if (scores[c] > max) max = scores[c];
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.exp(scores[c] - max);
    const logZ = max + Math.log(z);
    loss += logZ - scores[labels[i]];
    if (!grad) continue;
    for (let c = 0; c < k; c++) {
      residuals[c] = (Math.exp(scores[c] - logZ) - (labels[i] === c ? 1 : 0)) / n;
      grad[wLen + c] += residuals[c];
    }
    addResiduals(grad, row, residuals, d);
  }
  const lambda = 1 / (inverseRegularisation * n);
  let penalty = 0;
  for (let j = 0; j < wLen; j++) {
    penalty += params[j] * params[j];
    if (grad) grad[j] += lambda * params[j];
  }
  return loss / n + 0.5 * lambda * penalty;
}

/** Fits the model by L-BFGS (two-loop recursion, backtracking Armijo line search). */
export function fitLogisticRegression(
  x: Matrix | DesignMatrix,
  labels: Int32Array,
  nClasses: number,
  options: LogisticRegressionOptions,
): LogisticRegressionModel {
  if (labels.length !== x.rows) {
    throw new LogisticRegressionError(`${x.rows} rows but ${labels.length} labels`);
  }
  for (const y of labels) {
    if (!Number.isInteger(y) || y < 0 || y >= nClasses) {
      throw new LogisticRegressionError(`label ${y} is outside 0..${nClasses - 1}`);
    }
  }
  if (!(options.c > 0)) throw new LogisticRegressionError(`C must be positive, got ${options.c}`);
  if (x.rows === 0) throw new LogisticRegressionError("no training rows");
  const design = asDesign(x);
  const standardiser = fitStandardiser(design, options.standardise ?? true);
  const params = new Float64Array(nClasses * x.cols + nClasses);
  const f = (p: Float64Array, g: Float64Array) =>
    logisticObjective(p, design, labels, nClasses, options.c, g, standardiser);
  const convergence = minimiseLbfgs(f, params, {
    gradientTolerance: options.gradientTolerance ?? 1e-6,
    maxIterations: options.maxIterations ?? 1000,
    history: options.history ?? 10,
  });
  return {
    nClasses,
    nFeatures: x.cols,
    weights: params.slice(0, nClasses * x.cols),
    intercepts: params.slice(nClasses * x.cols),
    standardiser,
    c: options.c,
    convergence,
  };
}

/** Class probabilities [rows, nClasses] row-major. */
export function predictProbabilities(
  model: LogisticRegressionModel,
  x: Matrix | DesignMatrix,
): Float64Array {
  if (x.cols !== model.nFeatures) {
    throw new MatrixShapeError(`model has ${model.nFeatures} features, data has ${x.cols}`);
  }
  const design = asDesign(x);
  const k = model.nClasses;
  const out = new Float64Array(x.rows * k);
  const xs = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) {
    readDesignRow(design, i, xs, model.standardiser);
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = model.intercepts[c];
      const w = c * x.cols;
      for (let j = 0; j < x.cols; j++) s += model.weights[w + j] * xs[j];
      out[i * k + c] = s;
      if (s > max) max = s;
    }
    let z = 0;
    for (let c = 0; c < k; c++) z += out[i * k + c] = Math.exp(out[i * k + c] - max);
    for (let c = 0; c < k; c++) out[i * k + c] /= z;
  }
  return out;
}

/** The most probable class of each row. */
export function predictClasses(
  model: LogisticRegressionModel,
  x: Matrix | DesignMatrix,
): Int32Array {
  const p = predictProbabilities(model, x);
  const k = model.nClasses;
  const out = new Int32Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

interface LbfgsOptions {
  gradientTolerance: number;
  maxIterations: number;
  history: number;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Minimises f in place from x; f writes the gradient into its second argument. */
function minimiseLbfgs(
  f: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  opts: LbfgsOptions,
): ConvergenceReport {
  const n = x.length;
  let g = new Float64Array(n);
  let fx = f(x, g);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const alpha = new Float64Array(opts.history);
  let iterations = 0;
  let stalled = 0;
  let reason: ConvergenceReport["reason"] = "max_iterations";
  while (true) {
    if (maxAbs(g) <= opts.gradientTolerance) {
      reason = "gradient_tolerance";
      break;
    }
    if (iterations >= opts.maxIterations) break;
    // Two-loop recursion: dir = −H·g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    const m = sList.length;
    for (let j = m - 1; j >= 0; j--) {
      alpha[j] = rhoList[j] * dot(sList[j], dir);
      const y = yList[j];
      for (let i = 0; i < n; i++) dir[i] -= alpha[j] * y[i];
    }
    if (m > 0) {
      const gamma = dot(sList[m - 1], yList[m - 1]) / dot(yList[m - 1], yList[m - 1]);
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    }
    for (let j = 0; j < m; j++) {
      const beta = rhoList[j] * dot(yList[j], dir);
      const s = sList[j];
      for (let i = 0; i < n; i++) dir[i] += (alpha[j] - beta) * s[i];
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      slope = dot(g, dir);
    }
    let step = m === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Infinity;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      reason = "line_search_failed";
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === opts.history) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    stalled = fx - fNew <= 1e-15 * Math.max(1, Math.abs(fx)) ? stalled + 1 : 0;
    x.set(xNew);
    [g, gNew] = [gNew, g];
    fx = fNew;
    iterations++;
    if (stalled >= 10) {
      reason = maxAbs(g) <= opts.gradientTolerance ? "gradient_tolerance" : "no_progress";
      break;
    }
  }
  return {
    converged: reason === "gradient_tolerance",
    iterations,
    gradientNorm: maxAbs(g),
    loss: fx,
    reason,
  };
}
