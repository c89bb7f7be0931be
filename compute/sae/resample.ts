/**
 * Dead-feature resampling: a feature that has not fired for a whole resampling interval gets a new
 * direction, the residual x − x̂ of a token the SAE reconstructs badly (drawn with probability ∝
 * ‖x − x̂‖²), so it starts where the dictionary is missing something (docs/ARCHITECTURE.md, "SAE").
 */
import { Rng } from "../data/rng.ts";
import type { SaeWeights } from "./sae.ts";

/** Adam's moments of the parameters a resample rewrites. */
export interface AdamMoments {
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
}

export interface ResampleInput {
  dIn: number;
  dSae: number;
  /** Features to resample, ascending. */
  dead: readonly number[];
  /** The step's tokens and their reconstructions, [n, d_in] each. */
  x: Float32Array;
  xhat: Float32Array;
  /** New encoder columns get this fraction of the mean alive encoder-column norm. */
  encoderScale: number;
  seed: number;
}

/**
 * Rewrites the dead features in place: decoder row = unit residual of a drawn token, encoder column
 * = that residual scaled, b_enc = 0, and their Adam moments zeroed so the old statistics do not
 * steer the new direction. Returns how many were resampled (0 when no token has any error).
 */
export function resampleDeadFeatures(
  w: SaeWeights,
  moments: { m: AdamMoments; v: AdamMoments },
  inp: ResampleInput,
): number {
  const { dIn: d, dSae: m, dead, x, xhat } = inp;
  if (dead.length === 0) return 0;
  const n = x.length / d;
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let t = 0; t < n; t++) {
    let e = 0;
    for (let j = 0; j < d; j++) e += (x[t * d + j] - xhat[t * d + j]) ** 2;
    total += e;
    cumulative[t] = total;
  }
  if (!(total > 0)) return 0;
  const isDead = new Uint8Array(m);
  for (const f of dead) isDead[f] = 1;
  let aliveNorm = 0;
  let alive = 0;
  for (let f = 0; f < m; f++) {
    if (isDead[f]) continue;
    let s = 0;
    for (let j = 0; j < d; j++) s += w.wEnc[j * m + f] ** 2;
    aliveNorm += Math.sqrt(s);
    alive++;
  }
  // With every feature dead there is no scale to match; the residual's own unit scale stands in.
  const scale = inp.encoderScale * (alive > 0 ? aliveNorm / alive : 1);
  const rng = new Rng(inp.seed);
  const r = new Float64Array(d);
  for (const f of dead) {
    const t = drawIndex(cumulative, total * rng.next());
    let norm = 0;
    for (let j = 0; j < d; j++) {
      r[j] = x[t * d + j] - xhat[t * d + j];
      norm += r[j] * r[j];
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) {
      const u = r[j] / norm;
      w.wDec[f * d + j] = u;
      w.wEnc[j * m + f] = u * scale;
    }
    w.bEnc[f] = 0;
    for (const mom of [moments.m, moments.v]) {
      mom.bEnc[f] = 0;
      for (let j = 0; j < d; j++) {
        mom.wDec[f * d + j] = 0;
        mom.wEnc[j * m + f] = 0;
      }
    }
  }
  return dead.length;
}

/** The first index whose cumulative weight exceeds `u` (tokens of zero error are never drawn). */
function drawIndex(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
