/**
 * Feature activations of a trained SAE on the GPU, for analysis: pre-activations by the training
 * encode kernel (chunked over tokens), then the inference activation (relu, jumprelu threshold or
 * per-token top-k) applied to each chunk on the host.
 */
import { CommandBatch, createTensor, type Gpu, readback, type Tensor, upload } from "../gpu/mod.ts";
import { type SaeKernelConfig, SCAN_SIZE } from "../../kernels/sae_common.ts";
import { type EncodeBuffers, encodeChunk } from "../../kernels/sae_encode.ts";
import type { LoadedSae } from "./checkpoint.ts";
import { chunkTokensFor } from "./sae.ts";

export class SaeEncoder {
  readonly #kcfg: SaeKernelConfig;
  readonly #params;
  readonly #threshold: Float32Array;

  constructor(readonly gpu: Gpu, readonly sae: LoadedSae) {
    this.#kcfg = {
      architecture: "relu",
      aux: "none",
      tokenNorm: false,
      dIn: sae.dIn,
      dSae: sae.dSae,
    };
    const t = (shape: number[], label: string, data: Float32Array) =>
      createTensor(gpu, shape, "f32", label, new Float32Array(data));
    this.#params = {
      wEnc: t([sae.dIn, sae.dSae], "W_enc", sae.wEnc),
      bEnc: t([sae.dSae], "b_enc", sae.bEnc),
      wDec: t([1], "unused", new Float32Array(1)),
      bDec: t([sae.dIn], "b_dec", sae.bDec),
      logThreshold: t([sae.dSae], "unused", new Float32Array(sae.dSae)),
    };
    this.#threshold = sae.architecture === "jumprelu" ? sae.threshold : new Float32Array(sae.dSae);
  }

  /** Feature activations z [n, d_sae] of tokens x [n, d_in] (raw activations, as trained on). */
  async encode(x: Float32Array, n: number): Promise<Float32Array> {
    const { dIn, dSae } = this.sae;
    if (x.length !== n * dIn) {
      throw new RangeError(`SaeEncoder.encode: x has ${x.length} values, expected ${n}×${dIn}`);
    }
    const out = new Float32Array(n * dSae);
    const chunk = chunkTokensFor(this.gpu, n, dSae);
    const xT = createTensor(this.gpu, [chunk, dIn], "f32", "sae_encoder.x");
    const pre = createTensor(this.gpu, [chunk, dSae], "f32", "sae_encoder.pre");
    const unused: Tensor[] = [];
    const u32 = (size: number, label: string) => {
      const t = createTensor(this.gpu, [size], "u32", label);
      unused.push(t);
      return t;
    };
    const runThreshold = createTensor(this.gpu, [1], "f32", "run_thr");
    unused.push(runThreshold);
    const bufs: EncodeBuffers = {
      x: xT,
      pre: [pre],
      sinceFired: u32(dSae, "since_fired"),
      tokThr: u32(chunk, "tok_thr"),
      auxThr: u32(chunk, "aux_thr"),
      scan: u32(SCAN_SIZE + dSae, "scan"),
      runThreshold,
      actIdx: u32(1, "act_idx"),
      actCnt: u32(1, "act_cnt"),
      featIdx: u32(1, "feat_idx"),
      featCnt: u32(1, "feat_cnt"),
    };
    try {
      for (let t0 = 0; t0 < n; t0 += chunk) {
        const m = Math.min(chunk, n - t0);
        upload(this.gpu, xT, x.slice(t0 * dIn, (t0 + m) * dIn));
        const batch = new CommandBatch(this.gpu, "sae encode");
        encodeChunk(batch, this.#kcfg, this.#params, bufs, 0, {
          nChunk: m,
          tok0: 0,
          nBatch: m,
          deadWindow: 0,
          k: 0,
          kAux: 0,
          sparsity: 0,
          mseScale: 0,
          bandwidth: 0,
          auxCoef: 0,
          momentum: 0,
          radixPass: 0,
        });
        await batch.submit();
        const p = await readback(this.gpu, pre, 0, m * dSae);
        this.#activate(p, m);
        out.set(p, t0 * dSae);
      }
    } finally {
      for (const t of [xT, pre, ...unused]) t.buffer.destroy();
    }
    return out;
  }

  #activate(p: Float32Array, m: number): void {
    const { dSae, architecture, k } = this.sae;
    for (let t = 0; t < m; t++) {
      const row = p.subarray(t * dSae, (t + 1) * dSae);
      let thr = 0;
      if (architecture === "topk") {
        const sorted = Float32Array.from(row).sort();
        thr = Math.max(0, sorted[dSae - Math.min(k, dSae)]);
      }
      for (let f = 0; f < dSae; f++) {
        const v = row[f];
        const keep = v > 0 && v > this.#threshold[f] && (architecture !== "topk" || v >= thr);
        row[f] = keep ? v : 0;
      }
    }
  }

  destroy(): void {
    for (const t of Object.values(this.#params)) t.buffer.destroy();
  }
}
