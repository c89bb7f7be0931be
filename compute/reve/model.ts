/**
 * The REVE encoder on WebGPU, composed of our kernels (docs/ARCHITECTURE.md, "REVE").
 *
 * API (what extraction, the SAE trainer and the analysis use):
 *
 * ```ts
 * const model = await loadReve("path/to/reve-base");           // config.json + model.safetensors
 * const input: ReveInput = { eeg, batch: B, channels: C, samples: T, pos };  // pos [B,C,3] or [C,3]
 * // Host arrays, keyed by the names asked for (negative layers count from the end):
 * const out = await model.forward(input, { outputs: ["blocks.-2.hook_resid_post", "final"] });
 * // GPU-resident tensors (the caller owns them: destroy their buffers when done), no readback:
 * const acts = await model.forwardGpu(input, { outputs: [hookName(-2, "hook_resid_post")] });
 * model.dispose();
 * ```
 *
 * Output names are listed in hooks.ts: the golden outputs (`patch_embed`, `fourier`, `mlp4d`,
 * `pos_embed`, `hidden.{i}`, `blocks.{l}.attn_out`, `blocks.{l}.mlp_out`, `final`,
 * `attention_pooled`) and every hook point of every block. The forward stops after the last block
 * any requested output needs. Batches are split automatically so that no buffer exceeds the
 * adapter's `maxStorageBufferBindingSize` (or `maxBatch` trials, if given); trials of one call
 * share one channel set.
 */
import {
  BufferPool,
  CommandBatch,
  createMatrixTexture,
  createTensor,
  getGpu,
  type Gpu,
  MatrixTexture,
  matrixTextureProblem,
  readback,
  type Tensor,
  upload,
} from "../gpu/mod.ts";
import { add } from "../../kernels/elementwise.ts";
import { layerNorm } from "../../kernels/layernorm.ts";
import { destroyMatmulB, matmul, type MatmulB } from "../../kernels/matmul.ts";
import { attention, sliceColumns } from "../../kernels/attention.ts";
import { unfoldPatches } from "../../kernels/patch_embed.ts";
import { rmsNorm } from "../../kernels/rmsnorm.ts";
import {
  innerDim,
  mlpHidden,
  patchCount,
  patchStep,
  readReveConfig,
  type ReveConfig,
} from "./config.ts";
import {
  lastLayerNeeded,
  outputName,
  type OutputRequest,
  outputShape,
  parseOutputName,
} from "./hooks.ts";
import { type ReveInput, ReveInputError, sliceInput, validateInput } from "./input.ts";
import { paddedMlpHidden, padMlpInWeight, padMlpOutWeight } from "./mlp_padding.ts";
import { attentionPool } from "./pooling.ts";
import { positionInputs } from "./position.ts";
import { blockKeys, type HostTensor, readReveWeights, ReveWeightsError } from "./weights.ts";
import { resolveModelDir } from "./model_path.ts";

export interface ForwardOptions {
  /** Output and hook names; see hooks.ts. */
  outputs: readonly string[];
  /** At most this many trials per GPU pass (the binding limit may force fewer). */
  maxBatch?: number;
}

const LAYER_NORM_EPS = 1e-5;
const RMS_NORM_EPS = 1e-6;

/** Matmul weights are MatrixTextures where the device allows (faster on llvmpipe), else tensors. */
interface BlockWeights {
  attnNorm: Tensor;
  qkv: MatmulB;
  out: MatmulB;
  mlpNorm: Tensor;
  mlpIn: MatmulB;
  mlpOut: MatmulB;
}

interface ModelWeights {
  patchWeight: MatmulB;
  patchBias: Tensor;
  mlp4dWeight: MatmulB;
  mlp4dNormWeight: Tensor;
  mlp4dNormBias: Tensor;
  lnWeight: Tensor;
  lnBias: Tensor;
  /** `cls_query_token` as a `[D, 1]` column. */
  clsQuery: Tensor;
  blocks: BlockWeights[];
}

export interface ReveLoadOptions {
  /**
   * Hold the matmul weights in textures where the device allows it (default true); false keeps
   * them in storage buffers (for comparison: the outputs are the same).
   */
  textureWeights?: boolean;
}

/**
 * Loads `dir/config.json` and `dir/model.safetensors` and uploads the weights; `model` is that
 * folder or a hub name found in the HuggingFace cache (model_path.ts).
 */
export async function loadReve(
  model: string,
  gpu?: Gpu,
  opts: ReveLoadOptions = {},
): Promise<ReveModel> {
  const dir = await resolveModelDir(model);
  const cfg = await readReveConfig(`${dir}/config.json`);
  const weights = await readReveWeights(`${dir}/model.safetensors`, cfg);
  return ReveModel.fromWeights(cfg, weights, gpu ?? await getGpu(), opts);
}

/** What the last forward did: GPU passes (batch splits), blocks run per pass, dispatches. */
export interface PassStats {
  passes: number;
  blocksRun: number;
  dispatches: number;
}

export class ReveModel {
  readonly #pool: BufferPool;
  #stats: PassStats = { passes: 0, blocksRun: 0, dispatches: 0 };

  private constructor(
    readonly config: ReveConfig,
    readonly gpu: Gpu,
    readonly weights: ModelWeights,
  ) {
    this.#pool = new BufferPool(gpu);
  }

  /** Uploads validated host weights (see weights.ts); the map is emptied as tensors are uploaded. */
  static fromWeights(
    cfg: ReveConfig,
    host: Map<string, HostTensor>,
    gpu: Gpu,
    opts: ReveLoadOptions = {},
  ): ReveModel {
    const hostTensor = (key: string, pad: (t: HostTensor) => HostTensor): HostTensor => {
      const found = host.get(key);
      if (!found) throw new ReveWeightsError("fromWeights", [`missing key "${key}"`]);
      host.delete(key);
      return pad(found);
    };
    const take = (key: string, shape?: number[]): Tensor => {
      const t = hostTensor(key, (t) => t);
      return createTensor(gpu, shape ?? t.shape, "f32", key, t.data);
    };
    /** A PyTorch [out, in] weight, the B of a·Bᵀ. */
    const takeMatrix = (key: string, pad: (t: HostTensor) => HostTensor = (t) => t): MatmulB => {
      const t = hostTensor(key, pad);
      const [rows, cols] = t.shape;
      if (
        opts.textureWeights !== false && t.shape.length === 2 &&
        matrixTextureProblem(gpu, rows, cols) === undefined
      ) {
        return createMatrixTexture(gpu, rows, cols, t.data, key);
      }
      return createTensor(gpu, t.shape, "f32", key, t.data);
    };
    const D = cfg.embedDim;
    const hidden = mlpHidden(cfg);
    const padded = paddedMlpHidden(cfg);
    const weights: ModelWeights = {
      patchWeight: takeMatrix("to_patch_embedding.0.weight"),
      patchBias: take("to_patch_embedding.0.bias"),
      mlp4dWeight: takeMatrix("mlp4d.0.weight"),
      mlp4dNormWeight: take("mlp4d.2.weight"),
      mlp4dNormBias: take("mlp4d.2.bias"),
      lnWeight: take("ln.weight"),
      lnBias: take("ln.bias"),
      clsQuery: take("cls_query_token", [D, 1]),
      blocks: [],
    };
    for (let l = 0; l < cfg.depth; l++) {
      const k = blockKeys(l);
      weights.blocks.push({
        attnNorm: take(k.attnNorm),
        qkv: takeMatrix(k.qkv),
        out: takeMatrix(k.out),
        mlpNorm: take(k.mlpNorm),
        mlpIn: takeMatrix(
          k.mlpIn,
          (t) => padMlpInWeight(t, hidden, padded, cfg.useGeglu ? 2 : 1),
        ),
        mlpOut: takeMatrix(k.mlpOut, (t) => padMlpOutWeight(t, hidden, padded)),
      });
    }
    return new ReveModel(cfg, gpu, weights);
  }

  /** Runs the forward and reads the requested outputs back to the host. */
  async forward(input: ReveInput, opts: ForwardOptions): Promise<Map<string, Float32Array>> {
    const plan = this.#plan(input, opts);
    const result = new Map<string, Float32Array>();
    for (const [name, r] of plan.requests) {
      const shape = outputShape(r, this.config, input.batch, input.channels, plan.patches);
      result.set(name, new Float32Array(shape.reduce((a, b) => a * b, 1)));
    }
    for (let from = 0; from < input.batch; from += plan.chunk) {
      const to = Math.min(input.batch, from + plan.chunk);
      const outputs = await this.#runChunk(sliceInput(input, from, to), plan);
      for (const [name, t] of outputs) {
        const host = result.get(name)!;
        const perTrial = host.length / input.batch;
        host.set(await readback(this.gpu, t), from * perTrial);
      }
      this.#releaseAll(outputs);
    }
    return result;
  }

  /**
   * Runs the forward and returns the requested outputs as GPU tensors of the whole batch (no
   * readback). The caller owns them and destroys their buffers when done.
   */
  async forwardGpu(input: ReveInput, opts: ForwardOptions): Promise<Map<string, Tensor>> {
    const plan = this.#plan(input, opts);
    const result = new Map<string, Tensor>();
    for (const [name, r] of plan.requests) {
      const shape = outputShape(r, this.config, input.batch, input.channels, plan.patches);
      result.set(name, createTensor(this.gpu, shape, "f32", name));
    }
    for (let from = 0; from < input.batch; from += plan.chunk) {
      const to = Math.min(input.batch, from + plan.chunk);
      const outputs = await this.#runChunk(sliceInput(input, from, to), plan);
      const copies = new CommandBatch(this.gpu, "reve outputs");
      for (const [name, t] of outputs) {
        copies.copy(t, 0, result.get(name)!, from * (t.byteSize / (to - from)), t.byteSize);
      }
      await copies.submit();
      this.#releaseAll(outputs);
    }
    return result;
  }

  get lastPass(): PassStats {
    return { ...this.#stats };
  }

  /** GPU bytes held by the weights (the MLP's padded to a hidden width of a multiple of 4). */
  get weightBytes(): number {
    return this.#weightTensors().reduce(
      (sum, t) => sum + (t instanceof MatrixTexture ? t.byteSize : t.buffer.size),
      0,
    );
  }

  /** How many weight matrices are held in textures (the rest of the weights are in buffers). */
  get textureWeightCount(): number {
    return this.#weightTensors().filter((t) => t instanceof MatrixTexture).length;
  }

  /** The most GPU bytes the activation pool has held at once (`BufferPool.peakBytes`). */
  get activationPeakBytes(): number {
    return this.#pool.peakBytes;
  }

  /** Destroys the weights and pooled buffers. */
  dispose(): void {
    for (const t of this.#weightTensors()) destroyMatmulB(t);
    this.#pool.trim();
  }

  #weightTensors(): MatmulB[] {
    const w = this.weights;
    return [
      w.patchWeight,
      w.patchBias,
      w.mlp4dWeight,
      w.mlp4dNormWeight,
      w.mlp4dNormBias,
      w.lnWeight,
      w.lnBias,
      w.clsQuery,
      ...w.blocks.flatMap((b) => Object.values(b)),
    ];
  }

  /** Trials per GPU pass such that every buffer of the pass fits one storage binding. */
  maxTrialsPerPass(channels: number, samples: number, withPattern: boolean): number {
    const cfg = this.config;
    const N = channels * patchCount(cfg, samples);
    const widest = Math.max(
      channels * samples,
      N * cfg.patchSize,
      N * cfg.embedDim,
      N * 3 * innerDim(cfg),
      N * (cfg.useGeglu ? 2 : 1) * paddedMlpHidden(cfg),
      withPattern ? cfg.heads * N * N : 0,
    );
    const limit = Math.min(
      this.gpu.limits.maxStorageBufferBindingSize,
      this.gpu.limits.maxBufferSize,
    );
    return Math.min(
      Math.floor(limit / (widest * 4)),
      this.gpu.limits.maxComputeWorkgroupsPerDimension,
    );
  }

  #plan(input: ReveInput, opts: ForwardOptions) {
    const patches = validateInput(this.config, input);
    const requests = new Map<string, OutputRequest>();
    for (const name of opts.outputs) requests.set(name, parseOutputName(name, this.config.depth));
    const lastLayer = Math.max(
      -1,
      ...[...requests.values()].map((r) => lastLayerNeeded(r, this.config.depth)),
    );
    const withPattern = [...requests.values()].some((r) =>
      r.kind === "block" && r.point === "attn.hook_pattern"
    );
    const fit = this.maxTrialsPerPass(input.channels, input.samples, withPattern);
    if (fit < 1) {
      throw new ReveInputError(
        `one trial of ${input.channels}×${input.samples} needs a buffer larger than this adapter's ` +
          `binding limit (${this.gpu.limits.maxStorageBufferBindingSize} bytes)`,
      );
    }
    const chunk = Math.max(1, Math.min(fit, opts.maxBatch ?? Infinity));
    this.#stats = { passes: 0, blocksRun: lastLayer + 1, dispatches: 0 };
    return { patches, requests, lastLayer, chunk };
  }

  #releaseAll(outputs: Map<string, Tensor>): void {
    for (const t of new Set(outputs.values())) this.#pool.release(t);
  }

  /** One GPU pass over a slice that fits the binding limits; returns pool tensors by name. */
  async #runChunk(
    input: ReveInput,
    plan: { patches: number; requests: Map<string, OutputRequest>; lastLayer: number },
  ): Promise<Map<string, Tensor>> {
    const cfg = this.config;
    const gpu = this.gpu;
    const pool = this.#pool;
    const w = this.weights;
    const { batch: B, channels: C, samples: T } = input;
    const p = plan.patches;
    const N = C * p;
    const rows = B * N;
    const D = cfg.embedDim;
    const inner = innerDim(cfg);
    const hidden = paddedMlpHidden(cfg);

    // Canonical name → the names the caller used for it.
    const wanted = new Map<string, string[]>();
    for (const [name, r] of plan.requests) {
      const key = outputName(r);
      wanted.set(key, [...(wanted.get(key) ?? []), name]);
    }
    const result = new Map<string, Tensor>();
    const kept = new Set<Tensor>();
    let scratch: Tensor[] = [];
    const take = (shape: number[], label: string): Tensor => {
      const t = pool.acquire(shape, "f32", label);
      scratch.push(t);
      return t;
    };
    /** Marks t as the output for every canonical name given that was asked for. */
    const offer = (t: Tensor, ...names: string[]): boolean => {
      let used = false;
      for (const key of names) {
        for (const name of wanted.get(key) ?? []) {
          const shape = outputShape(plan.requests.get(name)!, cfg, B, C, p);
          result.set(name, t.reshape(shape));
          used = true;
        }
      }
      if (used) kept.add(t);
      return used;
    };
    const isWanted = (...names: string[]) => names.some((n) => wanted.has(n));
    const releaseScratch = () => {
      for (const t of scratch) if (!kept.has(t)) pool.release(t);
      scratch = [];
    };

    const batch = new CommandBatch(gpu, `reve forward ${B}×${C}×${T}`);
    // Patch and position embeddings.
    const eeg = take([B, C, T], "eeg");
    upload(gpu, eeg, input.eeg);
    const patches = take([rows, cfg.patchSize], "patches");
    unfoldPatches(batch, eeg, patches, cfg.patchSize, patchStep(cfg));
    const patchEmbed = take([rows, D], "patch_embed");
    matmul(batch, patches, w.patchWeight, patchEmbed, { transposeB: true, bias: w.patchBias });
    offer(patchEmbed, "patch_embed");

    const host = positionInputs(cfg, input, p);
    const fourier = take([rows, D], "fourier");
    upload(gpu, fourier, host.fourier);
    offer(fourier, "fourier");
    const xyzt = take([rows, 4], "xyzt");
    upload(gpu, xyzt, host.xyzt);
    const mlp4dHidden = take([rows, D], "mlp4d hidden");
    matmul(batch, xyzt, w.mlp4dWeight, mlp4dHidden, { transposeB: true, activation: "gelu" });
    const mlp4d = take([rows, D], "mlp4d");
    layerNorm(batch, mlp4dHidden, w.mlp4dNormWeight, w.mlp4dNormBias, mlp4d, LAYER_NORM_EPS);
    offer(mlp4d, "mlp4d");
    const posSum = take([rows, D], "fourier + mlp4d");
    add(batch, fourier, mlp4d, posSum);
    const posEmbed = take([rows, D], "pos_embed");
    layerNorm(batch, posSum, w.lnWeight, w.lnBias, posEmbed, LAYER_NORM_EPS);
    offer(posEmbed, "pos_embed");
    let x = pool.acquire([rows, D], "f32", "hidden.0");
    add(batch, patchEmbed, posEmbed, x);
    releaseScratch();

    // out = residual + a·Wᵀ, the projection fused into the matmul unless it is asked for.
    const addProjection = (
      a: Tensor,
      weight: MatmulB,
      residual: Tensor,
      out: Tensor,
      names: [string, string],
    ) => {
      if (!isWanted(...names)) {
        matmul(batch, a, weight, out, { transposeB: true, residual });
        return;
      }
      const projection = take([rows, D], names[0]);
      matmul(batch, a, weight, projection, { transposeB: true });
      offer(projection, ...names);
      add(batch, residual, projection, out);
    };

    for (let l = 0; l <= plan.lastLayer; l++) {
      const bw = w.blocks[l];
      const pre = `blocks.${l}.`;
      offer(
        x,
        `hidden.${l}`,
        pre + "hook_resid_pre",
        ...(l > 0 ? [`blocks.${l - 1}.hook_resid_post`] : []),
      );
      scratch.push(x);

      const xn = take([rows, D], "attn norm");
      rmsNorm(batch, x, bw.attnNorm, xn, RMS_NORM_EPS);
      const qkv = take([rows, 3 * inner], "qkv");
      matmul(batch, xn, bw.qkv, qkv, { transposeB: true });
      for (const [part, name] of ["q", "k", "v"].entries()) {
        if (!isWanted(`${pre}attn.hook_${name}`)) continue;
        const h = take([B, N, cfg.heads, cfg.headDim], `hook_${name}`);
        sliceColumns(batch, qkv, h, part * inner);
        offer(h, `${pre}attn.hook_${name}`);
      }
      let pattern: Tensor | undefined;
      if (isWanted(pre + "attn.hook_pattern")) {
        pattern = take([B, cfg.heads, N, N], "hook_pattern");
        offer(pattern, pre + "attn.hook_pattern");
      }
      const att = take([B, N, inner], "attention");
      attention(batch, qkv.reshape([B, N, 3 * inner]), att, {
        heads: cfg.heads,
        headDim: cfg.headDim,
        pattern,
      });
      const mid = take([rows, D], "resid_mid");
      addProjection(att.reshape([rows, inner]), bw.out, x, mid, [
        pre + "attn_out",
        pre + "attn.hook_attn_out",
      ]);
      offer(mid, pre + "hook_resid_mid");

      const mlpIn = take([rows, D], "mlp_in");
      rmsNorm(batch, mid, bw.mlpNorm, mlpIn, RMS_NORM_EPS);
      offer(mlpIn, pre + "mlp.hook_mlp_in");
      let act: Tensor;
      if (cfg.useGeglu) {
        // One pass: the product's value and gate halves meet in the matmul's epilogue.
        act = take([rows, hidden], "geglu");
        matmul(batch, mlpIn, bw.mlpIn, act, { transposeB: true, activation: "geglu" });
      } else {
        act = take([rows, hidden], "mlp up gelu");
        matmul(batch, mlpIn, bw.mlpIn, act, { transposeB: true, activation: "gelu" });
      }
      const next = pool.acquire([rows, D], "f32", `hidden.${l + 1}`);
      addProjection(act, bw.mlpOut, mid, next, [pre + "mlp_out", pre + "mlp.hook_mlp_out"]);
      releaseScratch();
      x = next;
    }
    const L = plan.lastLayer + 1;
    offer(x, `hidden.${L}`, ...(L > 0 ? [`blocks.${L - 1}.hook_resid_post`] : []));
    if (L === cfg.depth) {
      offer(x, "final");
      if (isWanted("attention_pooled")) {
        offer(
          attentionPool(batch, pool, x.reshape([B, N, D]), w.clsQuery, scratch),
          "attention_pooled",
        );
      }
    }
    scratch.push(x);
    this.#stats.passes++;
    this.#stats.dispatches += batch.dispatchCount;
    try {
      await batch.submit();
    } finally {
      releaseScratch();
    }
    return result;
  }
}
