/**
 * The SAE on the GPU: parameters, Adam moments and the buffers of one training step, and the
 * recording of a whole step (encode, selections, decode, losses, backward, projection, Adam,
 * renormalisation, counters) into one CommandBatch.
 */
import { CommandBatch, createTensor, type Gpu, readback, type Tensor, upload } from "../gpu/mod.ts";
import {
  PARAM_NAMES,
  type ParamName,
  type SaeDispatchParams,
  type SaeKernelConfig,
  type SaeParamTensors,
  type SaeStepBuffers,
  SCAN_SIZE,
  STAT_WIDTH,
} from "../../kernels/sae_common.ts";
import {
  compactActive,
  countDead,
  selectAuxk,
  selectBatchTopk,
  selectTopk,
} from "../../kernels/sae_encode.ts";
import { decodeKernel } from "../../kernels/sae_decode.ts";
import {
  backwardChunkDense,
  createDenseBuffers,
  decodeChunkDense,
  destroyDenseBuffers,
  encodeChunkMatmul,
  type SaeDenseBuffers,
  supportsDensePath,
  supportsGhostMatmul,
} from "../../kernels/sae_dense.ts";
import { backwardKernel, mseScale } from "../../kernels/sae_backward.ts";
import { constraintKernel } from "../../kernels/sae_constraint.ts";
import { type AdamSlot, adamStep, clipBufferSize } from "../../kernels/adam.ts";

/** Host copy of the parameters (SAELens shapes, row-major). */
export interface SaeWeights {
  wEnc: Float32Array<ArrayBuffer>; // [d_in, d_sae]
  bEnc: Float32Array<ArrayBuffer>; // [d_sae]
  wDec: Float32Array<ArrayBuffer>; // [d_sae, d_in]
  bDec: Float32Array<ArrayBuffer>; // [d_in]
  logThreshold: Float32Array<ArrayBuffer>; // [d_sae]
}

export function paramShape(name: ParamName, dIn: number, dSae: number): number[] {
  switch (name) {
    case "wEnc":
      return [dIn, dSae];
    case "wDec":
      return [dSae, dIn];
    case "bDec":
      return [dIn];
    default:
      return [dSae];
  }
}

/** Values of one step that are not compiled into the shaders. */
export interface SaeStepHyper {
  sparsity: number;
  deadWindow: number;
  k: number;
  kAux: number;
  bandwidth: number;
  auxCoef: number;
  momentum: number;
  /**
   * Decode and backward by matmuls (only relu and jumprelu; the default for them) instead of
   * per-entry lists; the trainer picks it from the measured L0 (densePathFor).
   */
  dense?: boolean;
  /**
   * On the dense path, ghost-gradient terms by matmuls instead of loops over dead features
   * (relu with ghost grads only); the trainer picks it from the measured dead fraction.
   */
  ghostMatmul?: boolean;
}

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
  maxGradNorm: number;
}

/** Tokens per encode chunk so a chunk's [tokens, d_sae] pre-activations fit one binding. */
export function chunkTokensFor(gpu: Gpu, nBatch: number, dSae: number, requested = 0): number {
  const limit = Math.floor(gpu.limits.maxStorageBufferBindingSize / (4 * dSae));
  const want = requested > 0 ? requested : 1024;
  return Math.max(1, Math.min(nBatch, want, limit));
}

function paramTensors(
  gpu: Gpu,
  dIn: number,
  dSae: number,
  label: string,
  w?: SaeWeights,
): SaeParamTensors {
  const t = {} as SaeParamTensors;
  for (const name of PARAM_NAMES) {
    t[name] = createTensor(gpu, paramShape(name, dIn, dSae), "f32", `${label}.${name}`, w?.[name]);
  }
  return t;
}

export class SaeGpu {
  readonly params: SaeParamTensors;
  readonly m: SaeParamTensors;
  readonly v: SaeParamTensors;
  readonly bufs: SaeStepBuffers;
  readonly dense: SaeDenseBuffers;
  readonly clip: Tensor<"f32">;
  readonly chunkSizes: number[];
  readonly chunkTokens: number;

  constructor(
    readonly gpu: Gpu,
    readonly kcfg: SaeKernelConfig,
    readonly nBatch: number,
    weights: SaeWeights,
    chunkTokens = 0,
  ) {
    const { dIn, dSae } = kcfg;
    this.params = paramTensors(gpu, dIn, dSae, "sae", weights);
    this.m = paramTensors(gpu, dIn, dSae, "adam_m");
    this.v = paramTensors(gpu, dIn, dSae, "adam_v");
    this.chunkTokens = chunkTokensFor(gpu, nBatch, dSae, chunkTokens);
    this.chunkSizes = [];
    for (let t0 = 0; t0 < nBatch; t0 += this.chunkTokens) {
      this.chunkSizes.push(Math.min(this.chunkTokens, nBatch - t0));
    }
    const nd = (label: string) => createTensor(gpu, [nBatch, dIn], "f32", label);
    this.bufs = {
      x: nd("sae.x"),
      xhat: nd("sae.xhat"),
      auxOut: nd("sae.aux_out"),
      de: nd("sae.de"),
      dg: nd("sae.dg"),
      dxc: nd("sae.dxc"),
      stats: createTensor(gpu, [nBatch, STAT_WIDTH], "f32", "sae.stats"),
      keyThr: createTensor(gpu, [2, nBatch], "u32", "sae.key_thr"),
      pre: this.chunkSizes.map((n, i) => createTensor(gpu, [n, dSae], "f32", `sae.pre[${i}]`)),
      dpre: createTensor(gpu, [this.chunkTokens, dSae], "f32", "sae.dpre"),
      act: createTensor(gpu, [this.chunkTokens * dSae + 2 * this.chunkTokens], "u32", "sae.act"),
      feat: createTensor(gpu, [dSae * this.chunkTokens + 2 * dSae], "u32", "sae.feat"),
      grads: paramTensors(gpu, dIn, dSae, "grad"),
      sinceFired: createTensor(gpu, [dSae], "u32", "sae.since_fired"),
      fired: createTensor(gpu, [dSae], "u32", "sae.fired"),
      actCount: createTensor(gpu, [dSae], "f32", "sae.act_count"),
      scan: createTensor(gpu, [SCAN_SIZE + dSae], "u32", "sae.scan"),
      runThreshold: createTensor(gpu, [1], "f32", "sae.run_threshold"),
    };
    this.dense = createDenseBuffers(gpu, kcfg, this.chunkTokens, this.chunkSizes.length);
    this.clip = createTensor(gpu, [clipBufferSize(this.#adamSlots())], "f32", "sae.clip");
  }

  /** Adam's tensors: every trained parameter, or W_dec alone for the decoder fine-tuning. */
  #adamSlots(decoderOnly = false): AdamSlot[] {
    const names = PARAM_NAMES.filter((n) =>
      decoderOnly ? n === "wDec" : n !== "logThreshold" || this.kcfg.architecture === "jumprelu"
    );
    return names.map((n) => ({
      param: this.params[n],
      grad: this.bufs.grads[n],
      m: this.m[n],
      v: this.v[n],
    }));
  }

  /** Uploads the step's tokens [nBatch, d_in]. */
  setBatch(x: Float32Array<ArrayBuffer>): void {
    upload(this.gpu, this.bufs.x, x);
  }

  #dispatchParams(h: SaeStepHyper, chunk: number): SaeDispatchParams {
    const isBatch = this.kcfg.architecture === "batchtopk";
    return {
      nChunk: this.chunkSizes[chunk],
      tok0: chunk * this.chunkTokens,
      nBatch: this.nBatch,
      deadWindow: h.deadWindow,
      k: isBatch ? h.k * this.nBatch : h.k,
      kAux: h.kAux,
      sparsity: h.sparsity,
      mseScale: mseScale(this.kcfg, this.nBatch),
      bandwidth: h.bandwidth,
      auxCoef: h.auxCoef,
      momentum: h.momentum,
      radixPass: 0,
    };
  }

  /** Records the forward pass, the losses and every gradient (grads, fired counts, stats). */
  recordForwardBackward(batch: CommandBatch, h: SaeStepHyper): void {
    const { kcfg: cfg, params, bufs } = this;
    const arch = cfg.architecture;
    const p0 = this.#dispatchParams(h, 0);
    countDead(batch, cfg, params, bufs, p0);
    const chunks = this.chunkSizes.length;
    const dense = supportsDensePath(arch) && h.dense !== false;
    const ghostMatmul = dense && supportsGhostMatmul(cfg) && h.ghostMatmul === true;
    this.chunkSizes.forEach((_, c) => {
      const p = this.#dispatchParams(h, c);
      encodeChunkMatmul(batch, cfg, params, bufs, this.dense, c, p);
      if (arch === "topk") selectTopk(batch, cfg, params, bufs, c, p);
      if (cfg.aux === "auxk") selectAuxk(batch, cfg, params, bufs, c, p);
    });
    if (arch === "batchtopk") selectBatchTopk(batch, cfg, params, bufs, this.chunkSizes, p0);
    // AuxK comes with topk/batchtopk only, which take the list path: its kernels read the lists.
    const auxk = cfg.aux === "auxk";
    this.chunkSizes.forEach((_, c) => {
      const p = this.#dispatchParams(h, c);
      if (dense) {
        decodeChunkDense(batch, cfg, params, bufs, this.dense, c, p, ghostMatmul);
      } else {
        compactActive(batch, cfg, params, bufs, c, p);
        decodeKernel(batch, "decode", cfg, params, bufs, c, p);
      }
      decodeKernel(batch, "token_loss", cfg, params, bufs, c, p);
      if (cfg.aux !== "none") {
        if (auxk) decodeKernel(batch, "auxk_decode", cfg, params, bufs, c, p);
        else if (!ghostMatmul) decodeKernel(batch, "aux_decode", cfg, params, bufs, c, p);
        decodeKernel(batch, "aux_loss", cfg, params, bufs, c, p);
      }
      if (dense) {
        backwardChunkDense(batch, cfg, params, bufs, this.dense, c, chunks, p, ghostMatmul);
      } else {
        backwardKernel(batch, "grad_pre", cfg, params, bufs, c, p);
        if (cfg.aux !== "none") {
          backwardKernel(batch, auxk ? "grad_pre_auxk" : "grad_pre_dead", cfg, params, bufs, c, p);
        }
        backwardKernel(batch, "grad_w_dec", cfg, params, bufs, c, p);
        backwardKernel(batch, "grad_w_enc", cfg, params, bufs, c, p);
        backwardKernel(batch, "grad_b_enc", cfg, params, bufs, c, p);
        backwardKernel(batch, "grad_x", cfg, params, bufs, c, p);
      }
      if (arch === "jumprelu") backwardKernel(batch, "grad_log_thr", cfg, params, bufs, c, p);
    });
    backwardKernel(batch, "grad_b_dec", cfg, params, bufs, 0, p0);
  }

  #constraintTensors() {
    return {
      wDec: this.params.wDec,
      gWDec: this.bufs.grads.wDec,
      fired: this.bufs.fired,
      sinceFired: this.bufs.sinceFired,
      actCount: this.bufs.actCount,
    };
  }

  /**
   * BatchTopK: the threshold of the batch last set, under the current weights: its (k·N)-th largest
   * positive pre-activation (0 when fewer are positive). What a checkpoint exports for inference,
   * where the running average still weighs thresholds of earlier weights (0.99^123 = 29 % of the
   * first batch's after 123 steps). Changes no parameter; momentum 1 keeps the running threshold.
   */
  async batchThreshold(h: SaeStepHyper): Promise<number> {
    const { kcfg: cfg, params, bufs } = this;
    const hold = { ...h, momentum: 1 };
    const p0 = this.#dispatchParams(hold, 0);
    const batch = new CommandBatch(this.gpu, "sae batch threshold");
    countDead(batch, cfg, params, bufs, p0);
    this.chunkSizes.forEach((_, c) => {
      encodeChunkMatmul(batch, cfg, params, bufs, this.dense, c, this.#dispatchParams(hold, c));
    });
    selectBatchTopk(batch, cfg, params, bufs, this.chunkSizes, p0);
    await batch.submit();
    const key = (await readback(this.gpu, bufs.keyThr))[0];
    // A positive float's selection key is its bit pattern.
    return new Float32Array(Uint32Array.of(key).buffer)[0];
  }

  /** Projects the decoder gradient off the rows (before the step: after it, it would do nothing). */
  recordProjection(batch: CommandBatch): void {
    constraintKernel(
      batch,
      "project_decoder_grad",
      this.kcfg.dIn,
      this.kcfg.dSae,
      this.#constraintTensors(),
    );
  }

  /**
   * Adam, then unit-norm decoder rows and the firing counters. With `decoderOnly` (the decoder
   * fine-tuning) Adam updates W_dec alone and its rows keep the norms it gives them.
   */
  recordUpdate(batch: CommandBatch, a: AdamSettings, decoderOnly = false): void {
    adamStep(batch, this.#adamSlots(decoderOnly), this.clip, a, a.maxGradNorm);
    const t = this.#constraintTensors();
    if (!decoderOnly) constraintKernel(batch, "renorm_decoder", this.kcfg.dIn, this.kcfg.dSae, t);
    constraintKernel(batch, "update_counters", this.kcfg.dIn, this.kcfg.dSae, t);
  }

  /** One whole training step; `decoderOnly`: a step of the decoder fine-tuning. */
  recordStep(batch: CommandBatch, h: SaeStepHyper, a: AdamSettings, decoderOnly = false): void {
    this.recordForwardBackward(batch, h);
    if (!decoderOnly) this.recordProjection(batch);
    this.recordUpdate(batch, a, decoderOnly);
  }

  async readTensors(t: SaeParamTensors): Promise<SaeWeights> {
    const out = {} as SaeWeights;
    for (const n of PARAM_NAMES) out[n] = await readback(this.gpu, t[n]);
    return out;
  }

  writeTensors(t: SaeParamTensors, w: SaeWeights): void {
    for (const n of PARAM_NAMES) upload(this.gpu, t[n], w[n]);
  }

  destroy(): void {
    const all: Tensor[] = [
      ...Object.values(this.params),
      ...Object.values(this.m),
      ...Object.values(this.v),
      ...Object.values(this.bufs.grads),
      this.bufs.x,
      this.bufs.xhat,
      this.bufs.auxOut,
      this.bufs.de,
      this.bufs.dg,
      this.bufs.dxc,
      this.bufs.stats,
      this.bufs.keyThr,
      ...this.bufs.pre,
      this.bufs.dpre,
      this.bufs.act,
      this.bufs.feat,
      this.bufs.sinceFired,
      this.bufs.fired,
      this.bufs.actCount,
      this.bufs.scan,
      this.bufs.runThreshold,
      this.clip,
    ];
    for (const t of all) t.buffer.destroy();
    destroyDenseBuffers(this.dense);
  }
}
