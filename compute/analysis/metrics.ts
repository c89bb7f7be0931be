/** Classification metrics of the probe: accuracy, balanced accuracy, Cohen's kappa, weighted F1. */
import { EegSaeError } from "../util/errors.ts";

export class MetricsError extends EegSaeError {}

export interface ClassificationMetrics {
  accuracy: number;
  balancedAccuracy: number;
  cohenKappa: number;
  weightedF1: number;
  /** [true class][predicted class] counts. */
  confusionMatrix: number[][];
  n: number;
}

/** Counts [true][predicted]. */
export function confusionMatrix(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  nClasses: number,
): number[][] {
  if (truth.length !== predicted.length) {
    throw new MetricsError(`${truth.length} true labels but ${predicted.length} predictions`);
  }
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (t < 0 || t >= nClasses || p < 0 || p >= nClasses) {
      throw new MetricsError(`label pair (${t}, ${p}) at ${i} is outside 0..${nClasses - 1}`);
    }
    m[t][p]++;
  }
  return m;
}

function total(m: number[][]): number {
  return m.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
}

export function accuracy(m: number[][]): number {
  const n = total(m);
  let diag = 0;
  for (let i = 0; i < m.length; i++) diag += m[i][i];
  return n === 0 ? 0 : diag / n;
}

/** Mean recall over the classes present in the true labels (sklearn's definition). */
export function balancedAccuracy(m: number[][]): number {
  let sum = 0;
  let present = 0;
  for (let i = 0; i < m.length; i++) {
    const support = m[i].reduce((a, b) => a + b, 0);
    if (support === 0) continue;
    sum += m[i][i] / support;
    present++;
  }
  return present === 0 ? 0 : sum / present;
}

/** (p_o − p_e)/(1 − p_e); 0 when p_e = 1 (one class everywhere), as there is no agreement to beat. */
export function cohenKappa(m: number[][]): number {
  const n = total(m);
  if (n === 0) return 0;
  const po = accuracy(m);
  let pe = 0;
  for (let i = 0; i < m.length; i++) {
    const row = m[i].reduce((a, b) => a + b, 0);
    let col = 0;
    for (let j = 0; j < m.length; j++) col += m[j][i];
    pe += (row / n) * (col / n);
  }
  return pe >= 1 ? 0 : (po - pe) / (1 - pe);
}

/** Per-class F1 averaged with the true-class supports as weights; F1 of an unpredicted class is 0. */
export function weightedF1(m: number[][]): number {
  const n = total(m);
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < m.length; i++) {
    const support = m[i].reduce((a, b) => a + b, 0);
    let predictedCount = 0;
    for (let j = 0; j < m.length; j++) predictedCount += m[j][i];
    const tp = m[i][i];
    const f1 = support + predictedCount === 0 ? 0 : (2 * tp) / (support + predictedCount);
    sum += support * f1;
  }
  return sum / n;
}

export function classificationMetrics(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  nClasses: number,
): ClassificationMetrics {
  const m = confusionMatrix(truth, predicted, nClasses);
  return {
    accuracy: accuracy(m),
    balancedAccuracy: balancedAccuracy(m),
    cohenKappa: cohenKappa(m),
    weightedF1: weightedF1(m),
    confusionMatrix: m,
    n: truth.length,
  };
}
