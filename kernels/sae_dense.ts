/**
 * The SAE's matmul-based path for one chunk of tokens: the encode for every architecture, and for
 * dense activations (relu, jumprelu early in training, when about half of all entries are active
 * and per-entry lists cost more than they save) the decode and every gradient as tuned
 * register-tiled matmuls (kernels/matmul.ts) glued by shaders/sae_dense.wgsl. Each chunk gets
 * views of the chunk-sized buffers shaped to its token count, so no binding exceeds a chunk.
 * The CPU reference of the whole loss is kernels/sae_backward.ts's saeLossRef.
 */
import { type CommandBatch, createTensor, type Gpu, Tensor } from "../compute/gpu/mod.ts";
import { matmul } from "./matmul.ts";
import {
  decodeInputBindings,
  dispatchSae,
  type SaeArchitecture,
  type SaeDispatchParams,
  type SaeKernelConfig,
  type SaeParamTensors,
  type SaeStepBuffers,
} from "./sae_common.ts";

/**
 * Architectures whose decode and backward can run dense (activations are not k-sparse by
 * construction); they still take the list path while the batch is sparse (see densePathFor).
 */
export function supportsDensePath(arch: SaeArchitecture): boolean {
  return arch === "relu" || arch === "jumprelu";
}

/**
 * Above this fraction of active entries the dense path is faster on llvmpipe: measured at d_in 64,
 * d_sae 1024, 2048 tokens, the list path takes about 0.55× the dense time at 4% and 1.4–2× at 16%.
 */
export const DENSE_PATH_MIN_DENSITY = 0.08;

/**
 * Above this fraction of dead features the ghost-gradient terms are cheaper as three matmuls than
 * as loops over the dead features (measured at d_in 64, d_sae 1024, 2048 tokens: whole steps
 * about 2× faster with half the features dead, about 15% faster with a tenth; with none dead the
 * loops do nothing and the matmuls would be pure overhead).
 */
export const GHOST_MATMUL_MIN_DEAD_FRACTION = 0.05;

/** Whether a dense-path step of this config can take its ghost terms by matmuls. */
export function supportsGhostMatmul(cfg: SaeKernelConfig): boolean {
  return supportsDensePath(cfg.architecture) && cfg.aux === "ghost";
}

/** Whether a dense step should take the ghost terms by matmuls, given the last dead fraction. */
export function ghostMatmulFor(cfg: SaeKernelConfig, deadFraction?: number): boolean {
  return supportsGhostMatmul(cfg) && (deadFraction ?? 0) >= GHOST_MATMUL_MIN_DEAD_FRACTION;
}

/** Whether a step should run dense, given the mean L0 last measured (undefined: none yet). */
export function densePathFor(arch: SaeArchitecture, dSae: number, l0?: number): boolean {
  if (!supportsDensePath(arch)) return false;
  return l0 === undefined || l0 / dSae >= DENSE_PATH_MIN_DENSITY;
}

/** Chunk-sized staging buffers of the matmul path (views are cut per chunk). */
export interface SaeDenseBuffers {
  rows: Tensor<"f32">; // [chunk, d_in]: x − b_dec
  cols: Tensor<"f32">; // [d_in, chunk]: the same, transposed
  deRows: Tensor<"f32">; // [chunk, d_in]: dL/dx̂ (dense path only)
  deCols: Tensor<"f32">; // [d_in, chunk]: the same, transposed (dense path only)
  out: Tensor<"f32">; // [chunk, d_in]: x̂ or dL/d(x − b_dec) before it is copied into place
  z: Tensor<"f32">; // [chunk, d_sae] (dense path only)
  gT: Tensor<"f32">; // [d_in, d_sae]: zᵀ·de transposed (dense path only)
  gEncTmp: Tensor<"f32">; // [d_in, d_sae]: W_enc gradient ping-pong partner (several chunks)
  // Ghost grads by matmuls (relu with ghost grads only):
  ghost: Tensor<"f32">; // [chunk, d_sae]: exp(pre) of dead features, 0 elsewhere
  dgz: Tensor<"f32">; // [chunk, d_sae]: dL/d aux_out · W_decᵀ
  dgRows: Tensor<"f32">; // [chunk, d_in]: dL/d aux_out
  dgCols: Tensor<"f32">; // [d_in, chunk]: the same, transposed
  gAuxT: Tensor<"f32">; // [d_in, d_sae]: dgᵀ·ghost
}

export function createDenseBuffers(
  gpu: Gpu,
  cfg: SaeKernelConfig,
  chunkTokens: number,
  chunks: number,
): SaeDenseBuffers {
  const { dIn, dSae } = cfg;
  const dense = supportsDensePath(cfg.architecture);
  const ghost = supportsGhostMatmul(cfg);
  const f32 = (shape: number[], label: string) => createTensor(gpu, shape, "f32", label);
  return {
    rows: f32([chunkTokens, dIn], "sae.dense.rows"),
    cols: f32([dIn, chunkTokens], "sae.dense.cols"),
    deRows: f32(dense ? [chunkTokens, dIn] : [1], "sae.dense.de_rows"),
    deCols: f32(dense ? [dIn, chunkTokens] : [1], "sae.dense.de_cols"),
    out: f32([chunkTokens, dIn], "sae.dense.out"),
    z: f32(dense ? [chunkTokens, dSae] : [1], "sae.dense.z"),
    gT: f32(dense ? [dIn, dSae] : [1], "sae.dense.g_t"),
    gEncTmp: f32(dense && chunks > 1 ? [dIn, dSae] : [1], "sae.dense.g_enc_tmp"),
    ghost: f32(ghost ? [chunkTokens, dSae] : [1], "sae.dense.ghost"),
    dgz: f32(ghost ? [chunkTokens, dSae] : [1], "sae.dense.dgz"),
    dgRows: f32(ghost ? [chunkTokens, dIn] : [1], "sae.dense.dg_rows"),
    dgCols: f32(ghost ? [dIn, chunkTokens] : [1], "sae.dense.dg_cols"),
    gAuxT: f32(ghost ? [dIn, dSae] : [1], "sae.dense.g_aux_t"),
  };
}

export function destroyDenseBuffers(b: SaeDenseBuffers): void {
  for (const t of Object.values(b)) t.buffer.destroy();
}

function view(t: Tensor<"f32">, shape: number[]): Tensor<"f32"> {
  return new Tensor(t.buffer, shape, "f32", t.label);
}

type DenseEntry =
  | "stage_x"
  | "stage_de"
  | "stage_dg"
  | "activate"
  | "mask_grad"
  | "finish_w_dec"
  | "feature_sums";

/** The rows/cols buffers an entry point stages into (or reads). */
function stagingPair(
  entryPoint: DenseEntry,
  dense: SaeDenseBuffers,
): { rows: Tensor<"f32">; cols: Tensor<"f32"> } {
  if (entryPoint === "stage_de") return { rows: dense.deRows, cols: dense.deCols };
  if (entryPoint === "stage_dg") return { rows: dense.dgRows, cols: dense.dgCols };
  return { rows: dense.rows, cols: dense.cols };
}

function denseDispatch(
  batch: CommandBatch,
  entryPoint: DenseEntry,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  dense: SaeDenseBuffers,
  chunk: number,
  p: SaeDispatchParams,
  ghostMatmul: boolean,
): void {
  const { dIn, dSae } = cfg;
  const d64 = Math.ceil(dIn / 64);
  const f64 = Math.ceil(dSae / 64);
  const workgroups: Record<DenseEntry, [number, number]> = {
    stage_x: [d64, p.nChunk],
    stage_de: [d64, p.nChunk],
    stage_dg: [d64, p.nChunk],
    activate: [f64, p.nChunk],
    mask_grad: [f64, p.nChunk],
    finish_w_dec: [d64, dSae],
    feature_sums: [f64, 1],
  };
  dispatchSae(batch, cfg, p, {
    shader: "sae_dense.wgsl",
    entryPoint,
    extraHeader: `const GHOST_DENSE: bool = ${ghostMatmul};`,
    bindings: {
      ...decodeInputBindings(params, bufs, chunk),
      de: bufs.de,
      dg: bufs.dg,
      ...stagingPair(entryPoint, dense),
      z: dense.z,
      dpre: bufs.dpre,
      g_t: dense.gT,
      g_w_dec: bufs.grads.wDec,
      g_b_enc: bufs.grads.bEnc,
      fired: bufs.fired,
      ghost: dense.ghost,
      dgz: dense.dgz,
      g_aux_t: dense.gAuxT,
    },
    workgroups: workgroups[entryPoint],
    label: `sae_dense.${entryPoint} chunk ${chunk} [${p.nChunk},${dSae}] d_in ${dIn}`,
  });
}

/** Copies chunk rows [nChunk, d_in] from dense.out into `target` [N, d_in] at token tok0. */
function copyRowsOut(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  dense: SaeDenseBuffers,
  target: Tensor<"f32">,
  p: SaeDispatchParams,
): void {
  batch.copy(dense.out, 0, target, p.tok0 * cfg.dIn * 4, p.nChunk * cfg.dIn * 4);
}

/**
 * pre[chunk] = (x[tok0..] − b_dec)·W_enc + b_enc by the tuned matmul; ReLU fused when nothing
 * needs the negative pre-activations (relu without ghost grads). Leaves x − b_dec staged in
 * dense.rows/cols, which the W_enc gradient reuses when the batch is one chunk.
 */
export function encodeChunkMatmul(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  dense: SaeDenseBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  denseDispatch(batch, "stage_x", cfg, params, bufs, dense, chunk, p, false);
  const fuseRelu = cfg.architecture === "relu" && cfg.aux === "none";
  matmul(batch, view(dense.rows, [p.nChunk, cfg.dIn]), params.wEnc, bufs.pre[chunk], {
    bias: params.bEnc,
    activation: fuseRelu ? "relu" : "none",
  });
}

/**
 * x̂ of the chunk: z·W_dec + b_dec, written into bufs.xhat; with ghostMatmul also the dead
 * features' decode (no b_dec) into bufs.auxOut, in place of sae_decode's aux_decode loop.
 */
export function decodeChunkDense(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  dense: SaeDenseBuffers,
  chunk: number,
  p: SaeDispatchParams,
  ghostMatmul: boolean,
): void {
  denseDispatch(batch, "activate", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  const out = view(dense.out, [p.nChunk, cfg.dIn]);
  matmul(batch, view(dense.z, [p.nChunk, cfg.dSae]), params.wDec, out, { bias: params.bDec });
  copyRowsOut(batch, cfg, dense, bufs.xhat, p);
  if (ghostMatmul) {
    matmul(batch, view(dense.ghost, [p.nChunk, cfg.dSae]), params.wDec, out);
    copyRowsOut(batch, cfg, dense, bufs.auxOut, p);
  }
}

/**
 * Every gradient of the chunk after its losses: dpre, W_dec (accumulated, with the dead features'
 * auxiliary term), W_enc (accumulated by ping-pong through matmul's residual so the last chunk
 * lands in grads.wEnc), b_enc, the fired counts and dL/d(x − b_dec) into bufs.dxc. With
 * ghostMatmul the dead features' terms come from matmuls (decodeChunkDense must have had it too).
 */
export function backwardChunkDense(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  dense: SaeDenseBuffers,
  chunk: number,
  chunks: number,
  p: SaeDispatchParams,
  ghostMatmul: boolean,
): void {
  const { dIn, dSae } = cfg;
  const nc = p.nChunk;
  const dpre = view(bufs.dpre, [nc, dSae]);
  const gEnc = (c: number) => ((chunks - 1 - c) % 2 === 0 ? bufs.grads.wEnc : dense.gEncTmp);
  denseDispatch(batch, "stage_de", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  matmul(batch, view(dense.deRows, [nc, dIn]), params.wDec, dpre, { transposeB: true });
  if (ghostMatmul) {
    denseDispatch(batch, "stage_dg", cfg, params, bufs, dense, chunk, p, ghostMatmul);
    const dgz = view(dense.dgz, [nc, dSae]);
    matmul(batch, view(dense.dgRows, [nc, dIn]), params.wDec, dgz, { transposeB: true });
    matmul(batch, view(dense.dgCols, [dIn, nc]), view(dense.ghost, [nc, dSae]), dense.gAuxT);
  }
  denseDispatch(batch, "mask_grad", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  matmul(batch, view(dense.deCols, [dIn, nc]), view(dense.z, [nc, dSae]), dense.gT);
  denseDispatch(batch, "finish_w_dec", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  // With several chunks the staging holds the last chunk encoded, not this one.
  if (chunks > 1) denseDispatch(batch, "stage_x", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  matmul(
    batch,
    view(dense.cols, [dIn, nc]),
    dpre,
    gEnc(chunk),
    chunk > 0 ? { residual: gEnc(chunk - 1) } : {},
  );
  denseDispatch(batch, "feature_sums", cfg, params, bufs, dense, chunk, p, ghostMatmul);
  matmul(batch, dpre, params.wEnc, view(dense.out, [nc, dIn]), { transposeB: true });
  copyRowsOut(batch, cfg, dense, bufs.dxc, p);
}
