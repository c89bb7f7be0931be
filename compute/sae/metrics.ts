/**
 * Training metrics from the per-token statistics the GPU writes each step (read back only on log
 * steps) and the batch itself (still on the host): losses, L0, explained variance (centred, and
 * the per-token legacy form), reconstruction cosine, norm ratio, dead fraction, density histogram.
 */
import { STAT, STAT_WIDTH } from "../../kernels/sae_common.ts";

export interface StepMetrics {
  mse_loss: number;
  sparsity_loss: number;
  aux_loss: number;
  loss: number;
  l0: number;
  l1: number;
  /** 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² over the batch. */
  explained_variance: number;
  /** mean over tokens of 1 − ‖x_t − x̂_t‖² / ‖x_t − x̄‖² (SAELens's older per-token form). */
  explained_variance_legacy: number;
  cosine_similarity: number;
  /** mean over tokens of ‖x̂_t‖ / ‖x_t‖. */
  norm_ratio: number;
}

export function stepMetrics(
  stats: Float32Array,
  x: Float32Array,
  n: number,
  dIn: number,
  sparsityCoef: number,
  sparsityIsL0: boolean,
): StepMetrics {
  const mean = new Float64Array(dIn);
  for (let t = 0; t < n; t++) for (let d = 0; d < dIn; d++) mean[d] += x[t * dIn + d] / n;
  let sqErr = 0;
  let total = 0;
  let legacy = 0;
  let mse = 0;
  let aux = 0;
  let l0 = 0;
  let l1 = 0;
  let cos = 0;
  let ratio = 0;
  for (let t = 0; t < n; t++) {
    const s = t * STAT_WIDTH;
    let v = 0;
    for (let d = 0; d < dIn; d++) v += (x[t * dIn + d] - mean[d]) ** 2;
    sqErr += stats[s + STAT.sqErr];
    total += v;
    legacy += 1 - stats[s + STAT.sqErr] / Math.max(v, 1e-30);
    mse += stats[s + STAT.mseLoss];
    aux += stats[s + STAT.auxLoss];
    l0 += stats[s + STAT.l0] / n;
    l1 += stats[s + STAT.l1] / n;
    const xn = Math.sqrt(stats[s + STAT.xSq]);
    const hn = Math.sqrt(stats[s + STAT.xhatSq]);
    cos += stats[s + STAT.xDotXhat] / Math.max(xn * hn, 1e-30) / n;
    ratio += hn / Math.max(xn, 1e-30) / n;
  }
  const sparsity = sparsityCoef * (sparsityIsL0 ? l0 : l1);
  return {
    mse_loss: mse,
    sparsity_loss: sparsity,
    aux_loss: aux,
    loss: mse + sparsity + aux,
    l0,
    l1,
    explained_variance: 1 - sqErr / Math.max(total, 1e-30),
    explained_variance_legacy: legacy / n,
    cosine_similarity: cos,
    norm_ratio: ratio,
  };
}

export function deadFraction(sinceFired: Uint32Array, window: number): number {
  let dead = 0;
  for (const s of sinceFired) if (s > window) dead++;
  return dead / Math.max(sinceFired.length, 1);
}

/**
 * Histogram of log10 feature density (fraction of tokens a feature fired on) in unit bins from
 * −10 to 0; never-firing features are counted separately.
 */
export function densityHistogram(
  actCount: Float32Array,
  tokens: number,
): { log10_bins: number[]; counts: number[]; never: number } {
  const counts = new Array(10).fill(0);
  let never = 0;
  for (const c of actCount) {
    if (c <= 0) {
      never++;
      continue;
    }
    const l = Math.log10(c / Math.max(tokens, 1));
    counts[Math.min(9, Math.max(0, Math.floor(l + 10)))]++;
  }
  return { log10_bins: Array.from({ length: 10 }, (_, i) => i - 10), counts, never };
}

/**
 * The warning a log record carries when the SAE still reconstructs worse than the batch mean
 * (explained variance below 0) once a tenth of the run's steps are done, else undefined.
 */
export function explainedVarianceWarning(
  step: number,
  totalSteps: number,
  explainedVariance: number,
): string | undefined {
  if (step * 10 < totalSteps || !(explainedVariance < 0)) return undefined;
  return `explained variance ${
    explainedVariance.toPrecision(3)
  } is still below 0 at step ${step} of ${totalSteps} (past a tenth of the run): the SAE ` +
    `reconstructs worse than the mean; try a smaller lr, l1_coefficient or decoder_init_norm`;
}
