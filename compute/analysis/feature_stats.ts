/**
 * Per-feature statistics of SAE activations over a set of trials. The accumulation (`addBatch`)
 * is the plain CPU reference of the GPU kernel in kernels/feature_stats.ts: both produce the same
 * `FeatureStatsTotals`, and `finaliseFeatureStats` turns totals into the reported statistics.
 *
 * Layout of a batch: `z [B, T, F]` row-major, T = C·p tokens per trial (channel-major: token
 * c·p + i), F = d_sae. A feature fires on a token when its activation is > 0.
 */

import {
  type FeatureStatsTotals,
  HISTOGRAM_BINS,
  histogramBin,
  type ReconstructionTotals,
  TRIAL_RECON_WIDTH,
} from "../../kernels/feature_stats_layout.ts";
import { EegSaeError } from "../util/errors.ts";

export class FeatureStatsError extends EegSaeError {}

export interface ActivationBatch {
  /** [B, T, F] activations. */
  z: Float32Array;
  /** Class of each trial [B] (0..K−1). */
  labels: Int32Array;
  /** Index of each trial in the analysed set [B]. */
  trialIds: Int32Array;
}

/** Inserts (value, trial, token) into a descending list if it beats the last entry. */
export function insertTop(
  values: Float32Array,
  trials: Int32Array,
  tokens: Int32Array,
  base: number,
  k: number,
  value: number,
  trial: number,
  token: number,
): void {
  if (!(value > values[base + k - 1])) return;
  let j = k - 1;
  while (j > 0 && value > values[base + j - 1]) {
    values[base + j] = values[base + j - 1];
    trials[base + j] = trials[base + j - 1];
    tokens[base + j] = tokens[base + j - 1];
    j--;
  }
  values[base + j] = value;
  trials[base + j] = trial;
  tokens[base + j] = token;
}

/** CPU reference of the GPU accumulation: adds one batch of trials to the totals. */
export function addBatch(totals: FeatureStatsTotals, batch: ActivationBatch): void {
  const { dSae: f, tokensPerTrial: t, topK, nClasses } = totals;
  const b = batch.labels.length;
  if (batch.z.length !== b * t * f || batch.trialIds.length !== b) {
    throw new FeatureStatsError(
      `batch of ${b} trials needs z of ${b}×${t}×${f} and ${b} trial ids; got ${batch.z.length} ` +
        `values and ${batch.trialIds.length} ids`,
    );
  }
  const top = totals.topValues;
  for (let i = 0; i < b; i++) {
    const y = batch.labels[i];
    if (y < 0 || y >= nClasses) {
      throw new FeatureStatsError(
        `trial ${batch.trialIds[i]} has label ${y}, outside 0..${nClasses - 1}`,
      );
    }
    totals.classTrials[y]++;
  }
  for (let feat = 0; feat < f; feat++) {
    for (let i = 0; i < b; i++) {
      const y = batch.labels[i];
      let trialSum = 0;
      let max = 0;
      let argmax = -1;
      let fired = 0;
      for (let tok = 0; tok < t; tok++) {
        const v = batch.z[(i * t + tok) * f + feat];
        trialSum += v;
        totals.mapSum[tok * f + feat] += v;
        if (v > 0) {
          fired++;
          totals.histogram[feat * HISTOGRAM_BINS + histogramBin(v)]++;
        }
        if (v > max) {
          max = v;
          argmax = tok;
        }
      }
      totals.actSum[feat] += trialSum;
      totals.classActSum[y * f + feat] += trialSum;
      totals.firedTokens[feat] += fired;
      if (fired > 0) totals.firedTrials[feat]++;
      insertTop(
        top,
        totals.topTrials,
        totals.topTokens,
        feat * topK,
        topK,
        max,
        batch.trialIds[i],
        argmax,
      );
    }
  }
  totals.nTrials += b;
}

/** Shannon entropy in bits of non-negative weights (0 when they sum to 0). */
export function entropyBits(weights: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i];
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let i = 0; i < weights.length; i++) {
    const p = weights[i] / sum;
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}

export interface FeatureStatistics {
  dSae: number;
  nClasses: number;
  nTrials: number;
  nTokens: number;
  channels: number;
  patches: number;
  topK: number;
  /** Mean activation over all tokens [F]. */
  meanActs: Float32Array;
  /** Fraction of tokens where the feature fires [F]. */
  sparsity: Float32Array;
  /** Fraction of trials with at least one firing token [F]. */
  trialSparsity: Float32Array;
  /** Mean activation per token over each class's trials [K, F]. */
  perClassMeanActs: Float32Array;
  maxActs: Float32Array;
  topValues: Float32Array;
  topTrials: Int32Array;
  topTokens: Int32Array;
  /** Mean activation per channel and patch over trials [F, C, p]. */
  channelPatchMeans: Float32Array;
  /** Label entropy (bits) of the feature's top trials (PatchSAE's class selectivity) [F]. */
  labelEntropyTop: Float32Array;
  /**
   * Label entropy (bits) over all trials: of the per-class mean activations normalised to sum 1,
   * so unequal class sizes do not count as selectivity [F].
   */
  labelEntropyAll: Float32Array;
  histogram: Float64Array;
  alive: Uint8Array;
}

/** Means, fractions and entropies from the totals; `trialLabels` maps trial id → class. */
export function finaliseFeatureStats(
  totals: FeatureStatsTotals,
  channels: number,
  trialLabels: ArrayLike<number>,
): FeatureStatistics {
  const { dSae: f, nClasses: k, tokensPerTrial: t, topK } = totals;
  if (t % channels !== 0) {
    throw new FeatureStatsError(`${t} tokens per trial is not a multiple of ${channels} channels`);
  }
  if (totals.nTrials === 0) throw new FeatureStatsError("no trials were accumulated");
  const patches = t / channels;
  const nTokens = totals.nTrials * t;
  const stats: FeatureStatistics = {
    dSae: f,
    nClasses: k,
    nTrials: totals.nTrials,
    nTokens,
    channels,
    patches,
    topK,
    meanActs: new Float32Array(f),
    sparsity: new Float32Array(f),
    trialSparsity: new Float32Array(f),
    perClassMeanActs: new Float32Array(k * f),
    maxActs: new Float32Array(f),
    topValues: totals.topValues,
    topTrials: totals.topTrials,
    topTokens: totals.topTokens,
    channelPatchMeans: new Float32Array(f * t),
    labelEntropyTop: new Float32Array(f),
    labelEntropyAll: new Float32Array(f),
    histogram: totals.histogram,
    alive: new Uint8Array(f),
  };
  const counts = new Float64Array(k);
  for (let feat = 0; feat < f; feat++) {
    stats.meanActs[feat] = totals.actSum[feat] / nTokens;
    stats.sparsity[feat] = totals.firedTokens[feat] / nTokens;
    stats.trialSparsity[feat] = totals.firedTrials[feat] / totals.nTrials;
    stats.alive[feat] = totals.firedTokens[feat] > 0 ? 1 : 0;
    stats.maxActs[feat] = Math.max(0, totals.topValues[feat * topK]);
    const perClass = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      const n = totals.classTrials[c] * t;
      perClass[c] = n > 0 ? totals.classActSum[c * f + feat] / n : 0;
      stats.perClassMeanActs[c * f + feat] = perClass[c];
    }
    stats.labelEntropyAll[feat] = entropyBits(perClass);
    for (let tok = 0; tok < t; tok++) {
      stats.channelPatchMeans[feat * t + tok] = totals.mapSum[tok * f + feat] / totals.nTrials;
    }
    counts.fill(0);
    for (let j = 0; j < topK; j++) {
      const trial = totals.topTrials[feat * topK + j];
      if (trial >= 0) counts[trialLabels[trial]]++;
    }
    stats.labelEntropyTop[feat] = entropyBits(counts);
  }
  return stats;
}

/** CPU reference: x, x̂ [B, T, d_in]; z [B, T, F]. */
export function addReconstructionBatch(
  totals: ReconstructionTotals,
  x: Float32Array,
  xHat: Float32Array,
  z: Float32Array,
  trialIds: Int32Array,
  tokensPerTrial: number,
): void {
  const d = totals.dIn;
  const b = trialIds.length;
  const t = tokensPerTrial;
  const f = z.length / (b * t);
  if (x.length !== b * t * d || xHat.length !== x.length || !Number.isInteger(f)) {
    throw new FeatureStatsError(
      `reconstruction batch: x ${x.length}, x̂ ${xHat.length}, z ${z.length} values do not fit ` +
        `${b} trials × ${t} tokens × d_in ${d}`,
    );
  }
  for (let i = 0; i < b; i++) {
    const row = trialIds[i] * TRIAL_RECON_WIDTH;
    for (let tok = 0; tok < t; tok++) {
      const n = i * t + tok;
      let se = 0, xx = 0, hh = 0, xh = 0;
      for (let j = 0; j < d; j++) {
        const a = x[n * d + j];
        const h = xHat[n * d + j];
        se += (a - h) ** 2;
        xx += a * a;
        hh += h * h;
        xh += a * h;
        totals.sumX[j] += a;
      }
      let l0 = 0;
      for (let j = 0; j < f; j++) if (z[n * f + j] > 0) l0++;
      const cos = xh / Math.max(Math.sqrt(xx * hh), 1e-12);
      totals.sumSquaredError += se;
      totals.sumSquaredNorm += xx;
      totals.sumCosine += cos;
      totals.sumL0 += l0;
      totals.perTrial[row] += se;
      totals.perTrial[row + 1] += cos;
      totals.perTrial[row + 2] += l0;
      totals.perTrial[row + 3] += xx;
    }
  }
  totals.nTokens += b * t;
}

export interface ReconstructionSummary {
  /** Mean over elements of (x − x̂)². */
  mse: number;
  /** 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖². */
  explainedVariance: number;
  cosine: number;
  l0: number;
}

export function summariseReconstruction(r: ReconstructionTotals): ReconstructionSummary {
  if (r.nTokens === 0) throw new FeatureStatsError("no tokens were accumulated");
  let meanSq = 0;
  for (const s of r.sumX) meanSq += (s / r.nTokens) ** 2;
  const centred = r.sumSquaredNorm - r.nTokens * meanSq;
  return {
    mse: r.sumSquaredError / (r.nTokens * r.dIn),
    explainedVariance: centred > 0 ? 1 - r.sumSquaredError / centred : 0,
    cosine: r.sumCosine / r.nTokens,
    l0: r.sumL0 / r.nTokens,
  };
}

/** Per-trial MSE, cosine and L0 of one trial id. */
export function trialReconstruction(
  r: ReconstructionTotals,
  trial: number,
  tokensPerTrial: number,
): { mse: number; cosine: number; l0: number } {
  return {
    mse: r.perTrial[trial * TRIAL_RECON_WIDTH] / (tokensPerTrial * r.dIn),
    cosine: r.perTrial[trial * TRIAL_RECON_WIDTH + 1] / tokensPerTrial,
    l0: r.perTrial[trial * TRIAL_RECON_WIDTH + 2] / tokensPerTrial,
  };
}
