/**
 * Bindings for shaders/sae_encode.wgsl (encode one chunk, TopK/AuxK per-token thresholds, the
 * BatchTopK batch threshold, the dead-feature count) and their CPU references.
 */
import type { CommandBatch } from "../compute/gpu/mod.ts";
import {
  dispatchSae,
  type SaeDispatchParams,
  type SaeKernelConfig,
  type SaeParamTensors,
  type SaeStepBuffers,
} from "./sae_common.ts";

const TOKENS_PER_INVOCATION = 4;
const FEATURES_PER_INVOCATION = 4;

/** The step buffers sae_encode.wgsl binds (an inference encoder provides just these). */
export type EncodeBuffers = Pick<
  SaeStepBuffers,
  | "x"
  | "pre"
  | "sinceFired"
  | "keyThr"
  | "scan"
  | "runThreshold"
  | "act"
  | "feat"
>;

function encodeDispatch(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunk: number,
  p: SaeDispatchParams,
  entryPoint: string,
  workgroups: [number, number?, number?],
): void {
  dispatchSae(batch, cfg, p, {
    shader: "sae_encode.wgsl",
    entryPoint,
    bindings: {
      x: bufs.x,
      w_enc: params.wEnc,
      b_enc: params.bEnc,
      b_dec: params.bDec,
      pre: bufs.pre[chunk],
      log_thr: params.logThreshold,
      since_fired: bufs.sinceFired,
      key_thr: bufs.keyThr,
      scan: bufs.scan,
      run_thr: bufs.runThreshold,
      act_list: bufs.act,
      feat_list: bufs.feat,
    },
    workgroups,
    label:
      `sae_encode.${entryPoint} chunk ${chunk} [${p.nChunk},${cfg.dIn}]x[${cfg.dIn},${cfg.dSae}]`,
  });
}

/** pre[chunk] = (x[tok0..] − b_dec)·W_enc + b_enc. */
export function encodeChunk(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  encodeDispatch(batch, cfg, params, bufs, chunk, p, "encode", [
    Math.ceil(cfg.dSae / (64 * FEATURES_PER_INVOCATION)),
    Math.ceil(p.nChunk / TOKENS_PER_INVOCATION),
  ]);
}

/**
 * Each token's active features into actIdx/actCnt and each feature's active tokens into
 * featIdx/featCnt, both in increasing order (after every selection).
 */
export function compactActive(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  encodeDispatch(batch, cfg, params, bufs, chunk, p, "compact", [p.nChunk]);
  encodeDispatch(batch, cfg, params, bufs, chunk, p, "compact_features", [
    Math.ceil(cfg.dSae / 64),
  ]);
}

/** Per-token k-th largest positive pre-activation key (TopK) into tokThr. */
export function selectTopk(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  encodeDispatch(batch, cfg, params, bufs, chunk, p, "select_topk", [p.nChunk]);
}

/** Per-token k_aux-th largest dead-feature pre-activation key (AuxK) into auxThr. */
export function selectAuxk(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  encodeDispatch(batch, cfg, params, bufs, chunk, p, "select_auxk", [p.nChunk]);
}

/** scan[0] = number of dead features; resets the BatchTopK radix state. */
export function countDead(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  p: SaeDispatchParams,
): void {
  encodeDispatch(batch, cfg, params, bufs, 0, p, "count_dead", [1]);
}

/**
 * BatchTopK: the (k·N)-th largest positive pre-activation over every chunk, by four radix passes
 * (histogram over all chunks, then one select), written to tokThr for every token.
 */
export function selectBatchTopk(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: EncodeBuffers,
  chunkSizes: number[],
  p: SaeDispatchParams,
): void {
  for (let pass = 0; pass < 4; pass++) {
    chunkSizes.forEach((nChunk, chunk) => {
      const groups = Math.min(256, Math.ceil((nChunk * cfg.dSae) / (256 * 16)));
      encodeDispatch(
        batch,
        cfg,
        params,
        bufs,
        chunk,
        { ...p, nChunk, radixPass: pass },
        "batch_hist",
        [
          groups,
        ],
      );
    });
    encodeDispatch(batch, cfg, params, bufs, 0, { ...p, radixPass: pass }, "batch_select", [1]);
  }
}

// ---- CPU references (float64) ----

/** pre = (x − b_dec)·W_enc + b_enc for x [n, dIn]. */
export function encodeRef(
  x: ArrayLike<number>,
  n: number,
  dIn: number,
  dSae: number,
  wEnc: ArrayLike<number>,
  bEnc: ArrayLike<number>,
  bDec: ArrayLike<number>,
): Float64Array {
  const pre = new Float64Array(n * dSae);
  for (let t = 0; t < n; t++) {
    for (let f = 0; f < dSae; f++) pre[t * dSae + f] = bEnc[f];
    for (let d = 0; d < dIn; d++) {
      const xc = x[t * dIn + d] - bDec[d];
      if (xc === 0) continue;
      const row = d * dSae;
      for (let f = 0; f < dSae; f++) pre[t * dSae + f] += xc * wEnc[row + f];
    }
  }
  return pre;
}

/** The k-th largest of `values` (−Infinity when there are fewer than k). */
export function kthLargest(values: ArrayLike<number>, k: number): number {
  if (k <= 0 || values.length < k) return -Infinity;
  const sorted = Float64Array.from(values).sort();
  return sorted[sorted.length - k];
}
