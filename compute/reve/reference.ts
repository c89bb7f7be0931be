/**
 * A plain float64 CPU forward of REVE, written straight from docs/ARCHITECTURE.md, "REVE" and
 * independent of the GPU path: the tests use it to check configs the golden files do not cover
 * (H·Dh ≠ D, GELU MLPs, other patch sizes, overlaps and freqs, tails). Slow; tiny models only.
 */
import { attentionRef } from "../../kernels/attention.ts";
import { innerDim, mlpHidden, patchCount, patchStep, type ReveConfig } from "./config.ts";
import { fourierEmbedding } from "./fourier.ts";
import { blockKeys, type HostTensor } from "./weights.ts";

/** Golden outputs plus every hook of every block, by canonical name, in float64. */
export function reveReferenceForward(
  cfg: ReveConfig,
  weights: ReadonlyMap<string, HostTensor>,
  eeg: ArrayLike<number>,
  pos: ArrayLike<number>,
  batch: number,
  channels: number,
  samples: number,
): Map<string, Float64Array> {
  const w = (key: string) => weights.get(key)!.data;
  const D = cfg.embedDim;
  const P = cfg.patchSize;
  const step = patchStep(cfg);
  const p = patchCount(cfg, samples);
  const N = channels * p;
  const rows = batch * N;
  const out = new Map<string, Float64Array>();

  const patches = new Float64Array(rows * P);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < p; i++) {
        const src = (b * channels + c) * samples + i * step;
        const dst = ((b * channels + c) * p + i) * P;
        for (let j = 0; j < P; j++) patches[dst + j] = eeg[src + j];
      }
    }
  }
  const patchEmbed = linear(patches, rows, P, w("to_patch_embedding.0.weight"), D);
  addBias(patchEmbed, w("to_patch_embedding.0.bias"));
  out.set("patch_embed", patchEmbed);

  const fourier = new Float64Array(rows * D);
  const xyzt = new Float64Array(rows * 4);
  for (let b = 0; b < batch; b++) {
    const trialPos = Array.from({ length: channels * 3 }, (_, k) => pos[b * channels * 3 + k]);
    fourier.set(fourierEmbedding(trialPos, channels, p, D, cfg.freqs), b * N * D);
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < p; i++) {
        const r = (b * N + c * p + i) * 4;
        xyzt.set([trialPos[c * 3], trialPos[c * 3 + 1], trialPos[c * 3 + 2], i], r);
      }
    }
  }
  out.set("fourier", fourier);
  const mlp4d = linear(xyzt, rows, 4, w("mlp4d.0.weight"), D).map(geluF64);
  layerNorm(mlp4d, D, w("mlp4d.2.weight"), w("mlp4d.2.bias"));
  out.set("mlp4d", mlp4d);
  const posEmbed = fourier.map((v, k) => v + mlp4d[k]);
  layerNorm(posEmbed, D, w("ln.weight"), w("ln.bias"));
  out.set("pos_embed", posEmbed);

  let x = patchEmbed.map((v, k) => v + posEmbed[k]);
  out.set("hidden.0", x);
  const inner = innerDim(cfg);
  const hidden = mlpHidden(cfg);
  for (let l = 0; l < cfg.depth; l++) {
    const k = blockKeys(l);
    const pre = `blocks.${l}.`;
    out.set(pre + "hook_resid_pre", x);
    const qkv = linear(rmsNorm(x, D, w(k.attnNorm)), rows, D, w(k.qkv), 3 * inner);
    for (const [part, name] of ["q", "k", "v"].entries()) {
      const h = new Float64Array(rows * inner);
      for (let r = 0; r < rows; r++) {
        h.set(
          qkv.subarray(r * 3 * inner + part * inner, r * 3 * inner + (part + 1) * inner),
          r * inner,
        );
      }
      out.set(`${pre}attn.hook_${name}`, h);
    }
    const att = attentionRef(qkv, batch, N, cfg.heads, cfg.headDim);
    out.set(pre + "attn.hook_pattern", att.pattern);
    const attnOut = linear(att.out, rows, inner, w(k.out), D);
    out.set(pre + "attn_out", attnOut);
    out.set(pre + "attn.hook_attn_out", attnOut);
    const mid = x.map((v, i) => v + attnOut[i]);
    out.set(pre + "hook_resid_mid", mid);
    const mlpIn = rmsNorm(mid, D, w(k.mlpNorm));
    out.set(pre + "mlp.hook_mlp_in", mlpIn);
    const up = linear(mlpIn, rows, D, w(k.mlpIn), cfg.useGeglu ? 2 * hidden : hidden);
    let act: Float64Array;
    if (cfg.useGeglu) {
      act = new Float64Array(rows * hidden);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < hidden; j++) {
          act[r * hidden + j] = up[r * 2 * hidden + j] * geluF64(up[r * 2 * hidden + hidden + j]);
        }
      }
    } else act = up.map(geluF64);
    const mlpOut = linear(act, rows, hidden, w(k.mlpOut), D);
    out.set(pre + "mlp_out", mlpOut);
    out.set(pre + "mlp.hook_mlp_out", mlpOut);
    x = mid.map((v, i) => v + mlpOut[i]);
    out.set(pre + "hook_resid_post", x);
    out.set(`hidden.${l + 1}`, x);
  }
  out.set("final", x);

  const cls = w("cls_query_token");
  const pooled = new Float64Array(batch * D);
  const s = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += cls[d] * x[(b * N + n) * D + d];
      s[n] = dot / Math.sqrt(D);
      max = Math.max(max, s[n]);
    }
    let sum = 0;
    for (let n = 0; n < N; n++) sum += s[n] = Math.exp(s[n] - max);
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) pooled[b * D + d] += (s[n] / sum) * x[(b * N + n) * D + d];
    }
  }
  out.set("attention_pooled", pooled);
  return out;
}

/** x [rows, K] · Wᵀ with W [N, K] (PyTorch layout). */
function linear(
  x: ArrayLike<number>,
  rows: number,
  k: number,
  weight: ArrayLike<number>,
  n: number,
): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += x[r * k + i] * weight[j * k + i];
      y[r * n + j] = acc;
    }
  }
  return y;
}

function addBias(y: Float64Array, bias: ArrayLike<number>): void {
  for (let i = 0; i < y.length; i++) y[i] += bias[i % bias.length];
}

/** In place, eps 1e-5, biased variance. */
function layerNorm(x: Float64Array, d: number, weight: ArrayLike<number>, bias: ArrayLike<number>) {
  for (let r = 0; r < x.length / d; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mean = row.reduce((a, b) => a + b, 0) / d;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    for (let j = 0; j < d; j++) row[j] = (row[j] - mean) * inv * weight[j] + bias[j];
  }
}

/** eps 1e-6 inside the rsqrt, weight only. */
function rmsNorm(x: Float64Array, d: number, weight: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[r * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + 1e-6);
    for (let j = 0; j < d; j++) y[r * d + j] = x[r * d + j] * inv * weight[j];
  }
  return y;
}

/** Exact GELU, x·Φ(x). */
export function geluF64(x: number): number {
  return 0.5 * x * (1 + erfF64(x / Math.SQRT2));
}

/** erf to ~1e-14: Maclaurin series below 3, Lentz continued fraction for erfc above. */
export function erfF64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
