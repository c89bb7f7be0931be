/**
 * Bindings for shaders/sae_backward.wgsl, and the float64 CPU reference of the whole SAE loss and
 * its gradients (every architecture, ghost grads, AuxK) that the GPU path and finite differences
 * are both checked against.
 */
import type { CommandBatch } from "../compute/gpu/mod.ts";
import {
  dispatchSae,
  rowCellWorkgroups,
  type SaeDispatchParams,
  type SaeKernelConfig,
  type SaeParamTensors,
  type SaeStepBuffers,
} from "./sae_common.ts";
import { encodeRef, kthLargest } from "./sae_encode.ts";

type BackwardEntry =
  | "grad_pre"
  | "grad_pre_dead"
  | "grad_pre_auxk"
  | "grad_w_dec"
  | "grad_w_enc"
  | "grad_b_enc"
  | "grad_x"
  | "grad_log_thr"
  | "grad_b_dec";

function workgroupsFor(
  e: BackwardEntry,
  cfg: SaeKernelConfig,
  nChunk: number,
): [number, number] {
  const f64 = Math.ceil(cfg.dSae / 64);
  const d64 = Math.ceil(cfg.dIn / 64);
  // grad_w_enc: four d_in rows per invocation.
  switch (e) {
    case "grad_pre":
    case "grad_pre_dead":
    case "grad_pre_auxk":
      return [nChunk, 1];
    case "grad_w_dec":
      return rowCellWorkgroups(cfg.dIn, cfg.dSae);
    case "grad_w_enc":
      return [f64, Math.ceil(cfg.dIn / 4)];
    case "grad_x":
      return rowCellWorkgroups(cfg.dIn, nChunk);
    case "grad_b_enc":
    case "grad_log_thr":
      return [f64, 1];
    case "grad_b_dec":
      return [d64, 1];
  }
}

/** Records one sae_backward.wgsl entry point over chunk `chunk`. */
export function backwardKernel(
  batch: CommandBatch,
  entryPoint: BackwardEntry,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  const g = bufs.grads;
  dispatchSae(batch, cfg, p, {
    shader: "sae_backward.wgsl",
    entryPoint,
    bindings: {
      x: bufs.x,
      pre: bufs.pre[chunk],
      w_enc: params.wEnc,
      w_dec: params.wDec,
      b_dec: params.bDec,
      log_thr: params.logThreshold,
      key_thr: bufs.keyThr,
      since_fired: bufs.sinceFired,
      de: bufs.de,
      dg: bufs.dg,
      dpre: bufs.dpre,
      g_w_enc: g.wEnc,
      g_b_enc: g.bEnc,
      g_w_dec: g.wDec,
      g_log_thr: g.logThreshold,
      dxc: bufs.dxc,
      g_b_dec: g.bDec,
      fired: bufs.fired,
      act_list: bufs.act,
      scan: bufs.scan,
      feat_list: bufs.feat,
    },
    workgroups: workgroupsFor(entryPoint, cfg, p.nChunk),
    label: `sae_backward.${entryPoint} chunk ${chunk} [${p.nChunk},${cfg.dSae}] d_in ${cfg.dIn}`,
  });
}

// ---- CPU reference (float64) ----

export interface RefParams {
  wEnc: ArrayLike<number>;
  bEnc: ArrayLike<number>;
  wDec: ArrayLike<number>;
  bDec: ArrayLike<number>;
  logThreshold: ArrayLike<number>;
}

export interface RefGrads {
  wEnc: Float64Array;
  bEnc: Float64Array;
  wDec: Float64Array;
  bDec: Float64Array;
  logThreshold: Float64Array;
}

/** The quantities the loss holds constant (not differentiated) and the discrete selections. */
export interface RefFrozen {
  active: Uint8Array; // [N, d_sae]
  auxSelected: Uint8Array; // [N, d_sae] AuxK selection (ghost: every dead feature)
  residual: Float64Array; // [N, d_in] x − x̂
  ghostScale: Float64Array; // [N]
  ghostRatio: Float64Array; // [N, d_in]
}

export interface RefInput {
  cfg: SaeKernelConfig;
  n: number;
  x: ArrayLike<number>;
  params: RefParams;
  dead: readonly boolean[];
  k: number;
  kAux: number;
  sparsity: number;
  bandwidth: number;
  auxCoef: number;
  /** Evaluate with these held fixed (finite differences); computed from the input when absent. */
  frozen?: RefFrozen;
}

export interface RefOutput {
  loss: number;
  mse: number;
  sparsityLoss: number;
  auxLoss: number;
  pre: Float64Array;
  z: Float64Array;
  xhat: Float64Array;
  frozen: RefFrozen;
  grads: RefGrads;
}

const EXP_CLAMP = 30;

/** mse_scale of the shaders: 1/(N·d_in) with token_norm, else 1/N. */
export function mseScale(cfg: SaeKernelConfig, n: number): number {
  return cfg.tokenNorm ? 1 / (n * cfg.dIn) : 1 / n;
}

function activeMask(inp: RefInput, pre: Float64Array): Uint8Array {
  const { n } = inp;
  const { dSae: m, architecture } = inp.cfg;
  const active = new Uint8Array(n * m);
  if (architecture === "relu") {
    for (let i = 0; i < n * m; i++) active[i] = pre[i] > 0 ? 1 : 0;
  } else if (architecture === "jumprelu") {
    for (let t = 0; t < n; t++) {
      for (let f = 0; f < m; f++) {
        active[t * m + f] = pre[t * m + f] > Math.exp(inp.params.logThreshold[f]) ? 1 : 0;
      }
    }
  } else if (architecture === "topk") {
    for (let t = 0; t < n; t++) {
      const row = pre.subarray(t * m, (t + 1) * m);
      const thr = Math.max(kthLargest(row, inp.k), 0);
      for (let f = 0; f < m; f++) active[t * m + f] = row[f] > 0 && row[f] >= thr ? 1 : 0;
    }
  } else {
    const thr = Math.max(kthLargest(pre, inp.k * n), 0);
    for (let i = 0; i < n * m; i++) active[i] = pre[i] > 0 && pre[i] >= thr ? 1 : 0;
  }
  return active;
}

function auxSelection(inp: RefInput, pre: Float64Array): Uint8Array {
  const { n } = inp;
  const m = inp.cfg.dSae;
  const sel = new Uint8Array(n * m);
  if (inp.cfg.aux === "none") return sel;
  for (let t = 0; t < n; t++) {
    const deadVals: number[] = [];
    for (let f = 0; f < m; f++) if (inp.dead[f]) deadVals.push(pre[t * m + f]);
    const thr = inp.cfg.aux === "auxk" ? kthLargest(deadVals, inp.kAux) : -Infinity;
    for (let f = 0; f < m; f++) {
      sel[t * m + f] = inp.dead[f] && pre[t * m + f] >= thr ? 1 : 0;
    }
  }
  return sel;
}

/** Loss and gradients of every parameter, in float64. */
export function saeLossRef(inp: RefInput): RefOutput {
  const { cfg, n, x, params: P } = inp;
  const { dIn: D, dSae: F } = cfg;
  const pre = encodeRef(x, n, D, F, P.wEnc, P.bEnc, P.bDec);
  const active = inp.frozen?.active ?? activeMask(inp, pre);
  const z = new Float64Array(n * F);
  for (let i = 0; i < n * F; i++) z[i] = active[i] ? pre[i] : 0;
  const xhat = new Float64Array(n * D);
  for (let t = 0; t < n; t++) {
    for (let d = 0; d < D; d++) xhat[t * D + d] = P.bDec[d];
    for (let f = 0; f < F; f++) {
      const zv = z[t * F + f];
      if (zv !== 0) { for (let d = 0; d < D; d++) xhat[t * D + d] += zv * P.wDec[f * D + d]; }
    }
  }
  const c = mseScale(cfg, n);
  const w = new Float64Array(n);
  const de = new Float64Array(n * D);
  let mse = 0;
  for (let t = 0; t < n; t++) {
    let xn = 0;
    for (let d = 0; d < D; d++) xn += x[t * D + d] ** 2;
    w[t] = cfg.tokenNorm ? 1 / Math.max(Math.sqrt(xn), 1e-6) : 1;
    for (let d = 0; d < D; d++) {
      const e = xhat[t * D + d] - x[t * D + d];
      mse += c * w[t] * e * e;
      de[t * D + d] = 2 * c * w[t] * e;
    }
  }
  let sparsityLoss = 0;
  if (cfg.architecture === "relu") {
    for (let i = 0; i < n * F; i++) sparsityLoss += (inp.sparsity / n) * Math.abs(z[i]);
  } else if (cfg.architecture === "jumprelu") {
    for (let i = 0; i < n * F; i++) sparsityLoss += (inp.sparsity / n) * active[i];
  }

  // Auxiliary loss on dead features.
  const nDead = inp.dead.filter(Boolean).length;
  const auxSelected = inp.frozen?.auxSelected ?? auxSelection(inp, pre);
  const residual = inp.frozen?.residual ?? Float64Array.from(xhat, (v, i) => x[i] - v);
  const auxA = new Float64Array(n * F);
  const auxDeriv = new Float64Array(n * F);
  if (cfg.aux !== "none" && nDead > 0) {
    for (let i = 0; i < n * F; i++) {
      if (!auxSelected[i]) continue;
      if (cfg.aux === "ghost") {
        auxA[i] = Math.exp(Math.min(pre[i], EXP_CLAMP));
        auxDeriv[i] = pre[i] < EXP_CLAMP ? auxA[i] : 0;
      } else {
        auxA[i] = pre[i];
        auxDeriv[i] = 1;
      }
    }
  }
  const g = new Float64Array(n * D);
  for (let t = 0; t < n; t++) {
    for (let f = 0; f < F; f++) {
      const a = auxA[t * F + f];
      if (a !== 0) { for (let d = 0; d < D; d++) g[t * D + d] += a * P.wDec[f * D + d]; }
    }
  }
  const dg = new Float64Array(n * D);
  const ghostScale = inp.frozen?.ghostScale ?? new Float64Array(n);
  const ghostRatio = inp.frozen?.ghostRatio ?? new Float64Array(n * D);
  let auxLoss = 0;
  if (cfg.aux === "ghost" && nDead > 0) {
    for (let t = 0; t < n; t++) {
      let rr = 0;
      let gg = 0;
      for (let d = 0; d < D; d++) {
        rr += residual[t * D + d] ** 2;
        gg += g[t * D + d] ** 2;
      }
      const rnorm = Math.sqrt(rr);
      if (!inp.frozen) ghostScale[t] = rnorm / (1e-6 + 2 * Math.sqrt(gg));
      const s = ghostScale[t];
      const q = cfg.tokenNorm ? 1 / Math.max(rnorm, 1e-6) : 1;
      for (let d = 0; d < D; d++) {
        const i = t * D + d;
        const u = s * g[i] - residual[i];
        const h = u * u * q;
        if (!inp.frozen) ghostRatio[i] = (w[t] * residual[i] ** 2) / (h + 1e-6);
        auxLoss += c * ghostRatio[i] * h;
        dg[i] = c * ghostRatio[i] * 2 * u * s * q;
      }
    }
  } else if (cfg.aux === "auxk" && nDead > 0) {
    const ca = inp.auxCoef * Math.min(nDead / Math.max(inp.kAux, 1), 1) / n;
    for (let i = 0; i < n * D; i++) {
      const u = g[i] - residual[i];
      auxLoss += ca * u * u;
      dg[i] = 2 * ca * u;
    }
  }

  // Backward.
  const gr: RefGrads = {
    wEnc: new Float64Array(D * F),
    bEnc: new Float64Array(F),
    wDec: new Float64Array(F * D),
    bDec: new Float64Array(D),
    logThreshold: new Float64Array(F),
  };
  const dpre = new Float64Array(n * F);
  for (let t = 0; t < n; t++) {
    for (let f = 0; f < F; f++) {
      const i = t * F + f;
      let dz = 0;
      for (let d = 0; d < D; d++) dz += de[t * D + d] * P.wDec[f * D + d];
      if (active[i]) dpre[i] = dz + (cfg.architecture === "relu" ? inp.sparsity / n : 0);
      if (auxDeriv[i] !== 0) {
        let s = 0;
        for (let d = 0; d < D; d++) s += dg[t * D + d] * P.wDec[f * D + d];
        dpre[i] += auxDeriv[i] * s;
      }
      if (cfg.architecture === "jumprelu") {
        const theta = Math.exp(P.logThreshold[f]);
        const u = (pre[i] - theta) / inp.bandwidth;
        if (u > -0.5 && u < 0.5) {
          gr.logThreshold[f] += theta *
            (-(theta / inp.bandwidth) * dz - inp.sparsity / n / inp.bandwidth);
        }
      }
      for (let d = 0; d < D; d++) {
        gr.wDec[f * D + d] += z[i] * de[t * D + d] + auxA[i] * dg[t * D + d];
      }
    }
  }
  for (let t = 0; t < n; t++) {
    for (let d = 0; d < D; d++) gr.bDec[d] += de[t * D + d];
    for (let f = 0; f < F; f++) {
      const gp = dpre[t * F + f];
      if (gp === 0) continue;
      gr.bEnc[f] += gp;
      for (let d = 0; d < D; d++) {
        const xc = x[t * D + d] - P.bDec[d];
        gr.wEnc[d * F + f] += xc * gp;
        gr.bDec[d] -= gp * P.wEnc[d * F + f];
      }
    }
  }
  return {
    loss: mse + sparsityLoss + auxLoss,
    mse,
    sparsityLoss,
    auxLoss,
    pre,
    z,
    xhat,
    frozen: { active, auxSelected, residual, ghostScale, ghostRatio },
    grads: gr,
  };
}
