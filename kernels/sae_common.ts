/**
 * What the SAE shaders share: the architecture constants and common WGSL prepended to
 * sae_encode/decode/backward.wgsl, the per-dispatch parameter block, and the set of GPU buffers
 * one training step reads and writes.
 */
import {
  type Binding,
  type CommandBatch,
  shaderSource,
  type Tensor,
  type UniformFields,
  uniformFields,
} from "../compute/gpu/mod.ts";

export type SaeArchitecture = "relu" | "topk" | "batchtopk" | "jumprelu";
export const SAE_ARCHITECTURES: readonly SaeArchitecture[] = [
  "relu",
  "topk",
  "batchtopk",
  "jumprelu",
];

/** The auxiliary loss on dead features: ghost grads (relu) or AuxK (topk, batchtopk). */
export type AuxMode = "none" | "ghost" | "auxk";

/** Compile-time shape of the SAE kernels. */
export interface SaeKernelConfig {
  architecture: SaeArchitecture;
  aux: AuxMode;
  /** MSE divided by each token's norm ‖x_t‖ and averaged over elements (PatchSAE), else Σ_d/N. */
  tokenNorm: boolean;
  dIn: number;
  dSae: number;
}

/** Per-dispatch values (the SaeParams uniform of sae_common.wgsl). */
export interface SaeDispatchParams {
  nChunk: number;
  tok0: number;
  nBatch: number;
  deadWindow: number;
  k: number;
  kAux: number;
  sparsity: number;
  mseScale: number;
  bandwidth: number;
  auxCoef: number;
  momentum: number;
  radixPass: number;
}

const ARCH_CODE: Record<SaeArchitecture, number> = { relu: 0, topk: 1, batchtopk: 2, jumprelu: 3 };
const AUX_CODE: Record<AuxMode, number> = { none: 0, ghost: 1, auxk: 2 };

export function saeHeader(cfg: SaeKernelConfig): string {
  return [
    `const ARCH: u32 = ${ARCH_CODE[cfg.architecture]}u;`,
    `const AUX: u32 = ${AUX_CODE[cfg.aux]}u;`,
    `const TOKEN_NORM: u32 = ${cfg.tokenNorm ? 1 : 0}u;`,
    shaderSource("sae_common.wgsl"),
  ].join("\n");
}

/** The SaeParams uniform of sae_common.wgsl, by field name. */
export function saeParamsUniform(cfg: SaeKernelConfig, p: SaeDispatchParams): UniformFields {
  return uniformFields({
    n_chunk: p.nChunk,
    d_in: cfg.dIn,
    d_sae: cfg.dSae,
    tok0: p.tok0,
    n_batch: p.nBatch,
    dead_window: p.deadWindow,
    k: p.k,
    k_aux: p.kAux,
    sparsity: p.sparsity,
    mse_scale: p.mseScale,
    bandwidth: p.bandwidth,
    aux_coef: p.auxCoef,
    momentum: p.momentum,
    radix_pass: p.radixPass,
  });
}

/** One dispatch of an SAE shader, less what every SAE dispatch shares (see dispatchSae). */
export interface SaeDispatch {
  shader: string;
  entryPoint: string;
  /** WGSL appended after saeHeader: compile-time switches of one shader. */
  extraHeader?: string;
  /** Bindings by their WGSL names, less `params` (the SaeParams uniform every SAE shader reads). */
  bindings: Record<string, Binding>;
  workgroups: [number, number?, number?];
  label: string;
}

/** Records one SAE dispatch with the architecture header and the SaeParams uniform `params`. */
export function dispatchSae(
  batch: CommandBatch,
  cfg: SaeKernelConfig,
  p: SaeDispatchParams,
  d: SaeDispatch,
): void {
  const header = saeHeader(cfg);
  batch.dispatch({
    shader: d.shader,
    entryPoint: d.entryPoint,
    header: d.extraHeader === undefined ? header : `${header}\n${d.extraHeader}`,
    bindings: { params: saeParamsUniform(cfg, p), ...d.bindings },
    workgroups: d.workgroups,
    label: d.label,
  });
}

/** Workgroup grid of a kernel over (row, 4 columns of d_in) cells (row_cell in sae_common.wgsl). */
export function rowCellWorkgroups(dIn: number, rows: number): [number, number] {
  const cpr = Math.ceil(dIn / 4);
  if (cpr >= 64) return [Math.ceil(dIn / 256), rows];
  return [1, Math.ceil(rows / Math.floor(64 / cpr))];
}

/** Learned parameters (SAELens names and shapes; logThreshold only matters for jumprelu). */
export interface SaeParamTensors {
  wEnc: Tensor<"f32">; // [d_in, d_sae]
  bEnc: Tensor<"f32">; // [d_sae]
  wDec: Tensor<"f32">; // [d_sae, d_in]
  bDec: Tensor<"f32">; // [d_in]
  logThreshold: Tensor<"f32">; // [d_sae]
}

export const PARAM_NAMES = ["wEnc", "bEnc", "wDec", "bDec", "logThreshold"] as const;
export type ParamName = typeof PARAM_NAMES[number];

/** Every buffer of a training step besides the parameters. */
export interface SaeStepBuffers {
  x: Tensor<"f32">; // [N, d_in]
  xhat: Tensor<"f32">; // [N, d_in]
  auxOut: Tensor<"f32">; // [N, d_in]
  de: Tensor<"f32">; // [N, d_in]
  dg: Tensor<"f32">; // [N, d_in]
  dxc: Tensor<"f32">; // [N, d_in]
  stats: Tensor<"f32">; // [N, 8]
  /** Per token: the TopK selection-key threshold, then (from N on) the AuxK one. */
  keyThr: Tensor<"u32">; // [2, N]
  /** One pre-activation buffer per chunk of tokens: the whole [N, d_sae] is never one buffer. */
  pre: Tensor<"f32">[];
  dpre: Tensor<"f32">; // [chunk, d_sae]
  /**
   * Per token of the current chunk, a row of d_sae: its active features in order from the front,
   * the dead features AuxK selects but that are not active from the back; then the active counts
   * at n_chunk · d_sae and the AuxK-only counts after them (one buffer, so kernels stay within 8
   * storage bindings).
   */
  act: Tensor<"u32">; // [chunk · d_sae + 2 · chunk]
  /** Per feature, a row of n_chunk: the same split over tokens, then the two counts. */
  feat: Tensor<"u32">; // [d_sae · chunk + 2 · d_sae]
  grads: SaeParamTensors;
  sinceFired: Tensor<"u32">; // [d_sae]
  fired: Tensor<"u32">; // [d_sae]
  actCount: Tensor<"f32">; // [d_sae]
  scan: Tensor<"u32">; // [272 + d_sae]: counters, radix histogram, dead-feature list
  runThreshold: Tensor<"f32">; // [1]
}

/** Fixed part of the `scan` buffer (DEAD_LIST in sae_common.wgsl); the dead list follows. */
export const SCAN_SIZE = 272;

/** Index of each per-token statistic in `stats` rows. */
export const STAT = {
  sqErr: 0,
  xSq: 1,
  xhatSq: 2,
  xDotXhat: 3,
  l1: 4,
  l0: 5,
  mseLoss: 6,
  auxLoss: 7,
} as const;
export const STAT_WIDTH = 8;

/**
 * Bindings that sae_decode.wgsl and sae_dense.wgsl declare alike: x, this chunk's
 * pre-activations, W_dec, b_dec, log θ, the TopK/AuxK thresholds and since_fired.
 */
export function decodeInputBindings(
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  chunk: number,
): Record<string, Binding> {
  return {
    x: bufs.x,
    pre: bufs.pre[chunk],
    w_dec: params.wDec,
    b_dec: params.bDec,
    log_thr: params.logThreshold,
    key_thr: bufs.keyThr,
    since_fired: bufs.sinceFired,
  };
}
