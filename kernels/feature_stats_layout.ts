/**
 * The layout of the feature statistics that kernels/feature_stats.ts accumulates on the GPU and
 * compute/analysis/feature_stats.ts accumulates on the CPU as its reference: the histogram bins
 * the shader is built with, the totals read back, and their empty starting values.
 */

/** Fixed log10 bins of the activation histogram: values outside fall into the end bins. */
export const HISTOGRAM_LOG10_LOW = -3;
export const HISTOGRAM_LOG10_HIGH = 2;
export const HISTOGRAM_BINS = 20;
const BIN_WIDTH = (HISTOGRAM_LOG10_HIGH - HISTOGRAM_LOG10_LOW) / HISTOGRAM_BINS;

/** The HISTOGRAM_BINS + 1 bin edges, in log10 of the activation. */
export function histogramEdges(): number[] {
  return Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => HISTOGRAM_LOG10_LOW + i * BIN_WIDTH);
}

/** The histogram bin of a positive activation (the GPU kernel computes the same in f32). */
export function histogramBin(v: number): number {
  const b = Math.floor((Math.log10(v) - HISTOGRAM_LOG10_LOW) / BIN_WIDTH);
  return Math.min(HISTOGRAM_BINS - 1, Math.max(0, b));
}

export interface FeatureStatsShape {
  dSae: number;
  nClasses: number;
  /** Tokens per trial, C·p. */
  tokensPerTrial: number;
  /** Top trials kept per feature. */
  topK: number;
}

/** Raw sums and counts: what the GPU accumulates and reads back once. */
export interface FeatureStatsTotals extends FeatureStatsShape {
  nTrials: number;
  /** Trials per class. */
  classTrials: Float64Array;
  /** Σ activation over all tokens [F]. */
  actSum: Float64Array;
  /** Σ activation over the tokens of each class's trials [K, F]. */
  classActSum: Float64Array;
  /** Σ over trials of the activation at each token position [T, F]. */
  mapSum: Float64Array;
  /** Tokens where the feature fires [F]. */
  firedTokens: Float64Array;
  /** Trials with at least one firing token [F]. */
  firedTrials: Float64Array;
  /** Counts of firing activations per log10 bin [F, HISTOGRAM_BINS]. */
  histogram: Float64Array;
  /** Per feature the top-k trials by their max activation, descending [F, k]; −1 = empty slot. */
  topValues: Float32Array;
  topTrials: Int32Array;
  /** Token of the max within that trial [F, k]. */
  topTokens: Int32Array;
}

export function emptyTotals(shape: FeatureStatsShape): FeatureStatsTotals {
  const { dSae: f, nClasses: k, tokensPerTrial: t, topK } = shape;
  return {
    ...shape,
    nTrials: 0,
    classTrials: new Float64Array(k),
    actSum: new Float64Array(f),
    classActSum: new Float64Array(k * f),
    mapSum: new Float64Array(t * f),
    firedTokens: new Float64Array(f),
    firedTrials: new Float64Array(f),
    histogram: new Float64Array(f * HISTOGRAM_BINS),
    topValues: new Float32Array(f * topK),
    topTrials: new Int32Array(f * topK).fill(-1),
    topTokens: new Int32Array(f * topK).fill(-1),
  };
}

/** Values kept per trial of the reconstruction sums. */
export const TRIAL_RECON_WIDTH = 4;

/** Reconstruction sums over the set, and per trial. */
export interface ReconstructionTotals {
  dIn: number;
  nTokens: number;
  /** Σ‖x − x̂‖². */
  sumSquaredError: number;
  /** Σ‖x‖². */
  sumSquaredNorm: number;
  /** Σx per dimension [d_in], for the centred explained variance. */
  sumX: Float64Array;
  /** Σ cos(x, x̂) over tokens. */
  sumCosine: number;
  /** Σ active features over tokens. */
  sumL0: number;
  /** Per trial id: [Σ‖x − x̂‖², Σ cos, Σ L0, Σ‖x‖²] over its tokens, [nTrials, TRIAL_RECON_WIDTH]. */
  perTrial: Float64Array;
}

export function emptyReconstructionTotals(dIn: number, nTrials: number): ReconstructionTotals {
  return {
    dIn,
    nTokens: 0,
    sumSquaredError: 0,
    sumSquaredNorm: 0,
    sumX: new Float64Array(dIn),
    sumCosine: 0,
    sumL0: 0,
    perTrial: new Float64Array(nTrials * TRIAL_RECON_WIDTH),
  };
}
