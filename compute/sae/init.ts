/**
 * SAE initialisation: random unit decoder rows, W_enc = c²·W_decᵀ (c = decoder_init_norm),
 * b_enc = 0, b_dec from data.
 */
import { Rng } from "../data/rng.ts";
import type { BDecInit, SaeTrainConfig } from "./config.ts";
import { dSaeOf } from "./config.ts";
import { kthLargest } from "../../kernels/sae_encode.ts";
import type { SaeWeights } from "./sae.ts";

export interface GeometricMedianOptions {
  maxIterations?: number;
  /** Stop when the update moves the estimate by less than this fraction of its norm. */
  tolerance?: number;
}

/**
 * Weiszfeld's algorithm for the geometric median of `n` points of dimension `d`: start at the
 * mean, reweight each point by 1/max(‖p − μ‖, 1e-6), stop on relative change or the iteration cap.
 */
export function geometricMedian(
  points: ArrayLike<number>,
  n: number,
  d: number,
  opts: GeometricMedianOptions = {},
): Float64Array {
  const maxIt = opts.maxIterations ?? 100;
  const tol = opts.tolerance ?? 1e-5;
  let mu = mean(points, n, d);
  for (let it = 0; it < maxIt; it++) {
    const next = new Float64Array(d);
    let wsum = 0;
    for (let i = 0; i < n; i++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (points[i * d + j] - mu[j]) ** 2;
      const w = 1 / Math.max(Math.sqrt(dist), 1e-6);
      wsum += w;
      for (let j = 0; j < d; j++) next[j] += w * points[i * d + j];
    }
    let change = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      next[j] /= wsum;
      change += (next[j] - mu[j]) ** 2;
      norm += next[j] ** 2;
    }
    mu = next;
    if (Math.sqrt(change) <= tol * Math.max(Math.sqrt(norm), 1e-12)) break;
  }
  return mu;
}

export function mean(points: ArrayLike<number>, n: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += points[i * d + j];
  for (let j = 0; j < d; j++) mu[j] /= Math.max(n, 1);
  return mu;
}

export function bDecFromSample(
  how: BDecInit,
  sample: ArrayLike<number>,
  n: number,
  d: number,
): Float32Array<ArrayBuffer> {
  if (how === "zeros") return new Float32Array(d);
  return Float32Array.from(how === "mean" ? mean(sample, n, d) : geometricMedian(sample, n, d));
}

/**
 * What initialisation draws before c is known: random unit decoder rows, the encoder's directions
 * (the same rows when tied) and b_dec from the sample. A fitted c is measured on these, so the
 * trainer draws them once for both fitDecoderInitNorm and initSaeWeights.
 */
export interface InitialStart {
  wDec: Float32Array<ArrayBuffer>;
  encRows: Float32Array<ArrayBuffer>;
  bDec: Float32Array<ArrayBuffer>;
}

export function initialStart(
  cfg: SaeTrainConfig,
  sample: ArrayLike<number>,
  nSample: number,
): InitialStart {
  return {
    ...initialRows(cfg),
    bDec: bDecFromSample(cfg.bDecInit, sample, nSample, cfg.dIn),
  };
}

/** Random unit decoder rows and the encoder's directions (the same rows when tied). */
function initialRows(
  cfg: SaeTrainConfig,
): { wDec: Float32Array<ArrayBuffer>; encRows: Float32Array<ArrayBuffer> } {
  const d = cfg.dIn;
  const m = dSaeOf(cfg);
  const rng = new Rng(cfg.seed);
  const unitRows = () => {
    const w = new Float32Array(m * d);
    for (let f = 0; f < m; f++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = rng.normal();
        w[f * d + j] = v;
        s += v * v;
      }
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < d; j++) w[f * d + j] *= inv;
    }
    return w;
  };
  const wDec = unitRows();
  return { wDec, encRows: cfg.initEncoderAsDecoderTranspose ? wDec : unitRows() };
}

/**
 * Initial weights; `sample` ([n, d_in]) sets b_dec. Deterministic for cfg.seed; cfg.decoderInitNorm
 * must be resolved (> 0, see fitDecoderInitNorm).
 *
 * The map is SAELens's: decoder rows of norm c and W_enc = W_decᵀ, so with relu each encode–decode
 * scales x − b_dec by about c²·d_sae/(2·d_in). Training keeps decoder rows unit-norm, so the rows
 * are stored unit-norm and the factor c² goes into W_enc: relu, topk and batchtopk are positively
 * homogeneous and rank pre-activations, so the map is the same and no renormalisation undoes it.
 */
export function initSaeWeights(
  cfg: SaeTrainConfig,
  sample: ArrayLike<number>,
  nSample: number,
  start: InitialStart = initialStart(cfg, sample, nSample),
): SaeWeights {
  const d = cfg.dIn;
  const m = dSaeOf(cfg);
  const { wDec, encRows, bDec } = start;
  const gain = cfg.decoderInitNorm ** 2;
  const wEnc = new Float32Array(d * m);
  for (let f = 0; f < m; f++) {
    for (let j = 0; j < d; j++) wEnc[j * m + f] = gain * encRows[f * d + j];
  }
  return {
    wEnc,
    bEnc: new Float32Array(m),
    wDec,
    bDec,
    logThreshold: new Float32Array(m).fill(Math.log(cfg.initialThreshold)),
  };
}

/** The most a fitted start's first reconstruction overshoots x − b_dec along it. */
export const INIT_OVERSHOOT = 2;
/** Tokens of the sample the fit encodes (the CPU encode costs d_in·d_sae per token). */
const FIT_TOKENS = 512;

/**
 * c for decoder_init_norm 0: the unit map's first reconstruction is measured on the sample, as
 * r = Σ⟨x − b_dec, x̂ − b_dec⟩ / Σ‖x − b_dec‖², and c² = min(1, INIT_OVERSHOOT / r). TopK's
 * unit map overshoots by about k·E[cos²] of the k best-aligned directions, which grows with
 * d_sae/d_in and k; an undershooting start lets the first winners grow and take every token, an
 * overshooting one makes winners shrink and others take their place (docs/ARCHITECTURE.md, "SAE").
 */
export function fitDecoderInitNorm(
  cfg: SaeTrainConfig,
  sample: ArrayLike<number>,
  nSample: number,
  start: InitialStart = initialStart(cfg, sample, nSample),
): number {
  const d = cfg.dIn;
  const m = dSaeOf(cfg);
  const { wDec, encRows, bDec } = start;
  const n = Math.min(nSample, FIT_TOKENS);
  const xc = new Float64Array(d);
  const pre = new Float64Array(m);
  const xhat = new Float64Array(d);
  let along = 0;
  let norm = 0;
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < d; j++) xc[j] = sample[t * d + j] - bDec[j];
    for (let f = 0; f < m; f++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += encRows[f * d + j] * xc[j];
      pre[f] = s;
    }
    const keep = cfg.architecture === "topk" || cfg.architecture === "batchtopk"
      ? Math.max(kthLargest(pre, cfg.k), 0)
      : 0;
    xhat.fill(0);
    for (let f = 0; f < m; f++) {
      if (pre[f] > 0 && pre[f] >= keep) {
        for (let j = 0; j < d; j++) xhat[j] += pre[f] * wDec[f * d + j];
      }
    }
    for (let j = 0; j < d; j++) {
      along += xc[j] * xhat[j];
      norm += xc[j] * xc[j];
    }
  }
  const r = norm > 0 ? along / norm : 0;
  return r > INIT_OVERSHOOT ? Math.sqrt(INIT_OVERSHOOT / r) : 1;
}
