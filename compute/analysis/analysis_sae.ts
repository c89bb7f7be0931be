/**
 * A trained SAE loaded for analysis (feature statistics, probe): dense encode and decode of a batch
 * of tokens kept on the GPU, z = act((x − b_dec)·W_enc + b_enc) and x̂ = z·W_dec + b_dec
 * (docs/ARCHITECTURE.md, "SAE"), with the shared matmul kernel (the b_dec subtraction folded into
 * the encoder bias). act is ReLU, JumpReLU with per-feature thresholds (how JumpReLU and BatchTopK
 * SAEs are saved), or ReLU then each token's k largest (per-token TopK).
 */
import { type CommandBatch, createTensor, type Gpu, type Tensor } from "../gpu/mod.ts";
import { loadSae } from "../sae/checkpoint.ts";
import { matmul } from "../../kernels/matmul.ts";
import { jumpReluInPlace } from "../../kernels/jumprelu.ts";
import { topkRowsInPlace } from "../../kernels/topk_rows.ts";
import { EegSaeError } from "../util/errors.ts";

export class AnalysisSaeError extends EegSaeError {}

/** The host parameters, SAELens names and shapes. */
export interface SaeParameters {
  dIn: number;
  dSae: number;
  /** [d_in, d_sae] */
  wEnc: Float32Array;
  bEnc: Float32Array;
  /** [d_sae, d_in] */
  wDec: Float32Array;
  bDec: Float32Array;
  /** JumpReLU thresholds [d_sae]; absent for ReLU. */
  threshold?: Float32Array;
  /** Per-token TopK: each token keeps its k largest activations. */
  k?: number;
}

/** The fields of sae/cfg.json the analyses use. */
export interface AnalysisSaeCfg {
  hook_name: string;
  [key: string]: unknown;
}

export class AnalysisSae {
  readonly dIn: number;
  readonly dSae: number;
  readonly #wEnc: Tensor<"f32">;
  readonly #encBias: Tensor<"f32">;
  readonly #wDec: Tensor<"f32">;
  readonly #bDec: Tensor<"f32">;
  readonly #threshold: Tensor<"f32"> | null;

  constructor(readonly gpu: Gpu, readonly params: SaeParameters) {
    const { dIn, dSae, wEnc, bEnc, bDec } = params;
    this.dIn = dIn;
    this.dSae = dSae;
    // (x − b_dec)·W_enc + b_enc = x·W_enc + (b_enc − b_dec·W_enc)
    const encBias = new Float32Array(dSae);
    for (let f = 0; f < dSae; f++) {
      let s = bEnc[f];
      for (let d = 0; d < dIn; d++) s -= bDec[d] * wEnc[d * dSae + f];
      encBias[f] = s;
    }
    this.#wEnc = createTensor(gpu, [dIn, dSae], "f32", "sae.W_enc", Float32Array.from(wEnc));
    this.#encBias = createTensor(gpu, [dSae], "f32", "sae.enc_bias", encBias);
    this.#wDec = createTensor(gpu, [dSae, dIn], "f32", "sae.W_dec", Float32Array.from(params.wDec));
    this.#bDec = createTensor(gpu, [dIn], "f32", "sae.b_dec", Float32Array.from(bDec));
    this.#threshold = params.threshold
      ? createTensor(gpu, [dSae], "f32", "sae.threshold", Float32Array.from(params.threshold))
      : null;
  }

  /** Records z = act(encode(x)) [n, d_sae] and x̂ = decode(z) [n, d_in] for x [n, d_in]. */
  encodeDecode(batch: CommandBatch, x: Tensor, z: Tensor, xHat: Tensor): void {
    const n = x.size / this.dIn;
    const x2 = x.reshape([n, this.dIn]);
    const z2 = z.reshape([n, this.dSae]);
    const activation = this.#threshold ? "none" : "relu";
    matmul(batch, x2, this.#wEnc, z2, { bias: this.#encBias, activation });
    if (this.#threshold) jumpReluInPlace(batch, z2, this.#threshold);
    if (this.params.k !== undefined) topkRowsInPlace(batch, z2, this.params.k);
    matmul(batch, z2, this.#wDec, xHat.reshape([n, this.dIn]), { bias: this.#bDec });
  }

  /** Cosine neighbours by decoder direction: for each feature the `count` most similar others. */
  decoderNeighbours(
    features: readonly number[],
    count: number,
  ): { id: number; cosine: number }[][] {
    const { dIn, dSae, wDec } = this.params;
    const norms = new Float64Array(dSae);
    for (let f = 0; f < dSae; f++) {
      let s = 0;
      for (let d = 0; d < dIn; d++) s += wDec[f * dIn + d] ** 2;
      norms[f] = Math.sqrt(s) || 1;
    }
    return features.map((f) => {
      const sims: { id: number; cosine: number }[] = [];
      for (let g = 0; g < dSae; g++) {
        if (g === f) continue;
        let s = 0;
        for (let d = 0; d < dIn; d++) s += wDec[f * dIn + d] * wDec[g * dIn + d];
        sims.push({ id: g, cosine: s / (norms[f] * norms[g]) });
      }
      sims.sort((a, b) => b.cosine - a.cosine || a.id - b.id);
      return sims.slice(0, count);
    });
  }

  dispose(): void {
    for (const t of [this.#wEnc, this.#encBias, this.#wDec, this.#bDec]) t.buffer.destroy();
    this.#threshold?.buffer.destroy();
  }
}

/**
 * Loads a checkpoint (compute/sae/checkpoint.ts layout, SAELens names, or any layout
 * compute/sae/import_sae.ts reads); `hook` stands in for a checkpoint that records none.
 */
export async function loadAnalysisSae(
  dir: string,
  gpu: Gpu,
  hook?: string,
): Promise<{ sae: AnalysisSae; cfg: AnalysisSaeCfg }> {
  const loaded = await loadSae(dir);
  const recorded = loaded.cfg.hook_name;
  if (typeof recorded !== "string" && hook === undefined) {
    throw new AnalysisSaeError(
      `${dir}: cfg.json has no "hook_name" string (which REVE hook to read); give --hook`,
    );
  }
  const { dIn, dSae, wEnc, bEnc, wDec, bDec } = loaded;
  const params: SaeParameters = { dIn, dSae, wEnc, bEnc, wDec, bDec };
  if (loaded.architecture === "jumprelu") params.threshold = loaded.threshold;
  if (loaded.architecture === "topk") {
    if (!Number.isInteger(loaded.k) || loaded.k < 1) {
      throw new AnalysisSaeError(
        `${dir}: cfg.json says architecture "topk" but has no k ≥ 1 (k or activation_fn_kwargs.k)`,
      );
    }
    params.k = loaded.k;
  }
  return {
    sae: new AnalysisSae(gpu, params),
    cfg: { ...loaded.cfg, hook_name: typeof recorded === "string" ? recorded : hook! },
  };
}
