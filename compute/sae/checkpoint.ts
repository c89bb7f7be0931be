/**
 * SAE checkpoints, in the run folder's `sae/`: cfg.json (SAELens keys plus ours),
 * sae_weights.safetensors (SAELens names; activation normalisation folded in, BatchTopK saved as
 * JumpReLU with its running threshold) and train_state.safetensors (the unfolded parameters, Adam
 * moments, counters, step and the activation store's position: everything an exact resume needs).
 * Every file is written atomically; non-finite weights are refused before anything is written.
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import {
  assertFiniteTensors,
  floatTensor,
  readSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from "../io/safetensors.ts";
import { PARAM_NAMES, type ParamName } from "../../kernels/sae_common.ts";
import {
  dSaeOf,
  SAE_CONFIG_DEFAULTS,
  type SaeArchitecture,
  type SaeTrainConfig,
  validateSaeConfig,
} from "./config.ts";
import { paramShape, type SaeWeights } from "./sae.ts";
import type { ActivationSourceState } from "./activation_store.ts";
import { EegSaeError } from "../util/errors.ts";
import { isForeignSae, readForeignSae } from "./import_sae.ts";

export class CheckpointError extends EegSaeError {}

/** What the optimiser and bookkeeping need beyond the weights. */
export interface TrainState {
  /** Steps completed. */
  step: number;
  m: SaeWeights;
  v: SaeWeights;
  sinceFired: Uint32Array;
  actCount: Float32Array;
  /** Tokens counted into actCount since its last reset. */
  windowTokens: number;
  runThreshold: number;
  /** Activations are multiplied by this before the SAE sees them (1: no normalisation). */
  normFactor: number;
  sourceState: ActivationSourceState;
}

const SAELENS_NAMES: Record<ParamName, string> = {
  wEnc: "W_enc",
  bEnc: "b_enc",
  wDec: "W_dec",
  bDec: "b_dec",
  logThreshold: "log_threshold",
};

/** The architecture a checkpoint is used with at inference (BatchTopK runs as JumpReLU). */
export function inferenceArchitecture(a: SaeArchitecture): "relu" | "topk" | "jumprelu" {
  return a === "relu" ? "relu" : a === "topk" ? "topk" : "jumprelu";
}

const SAELENS_ARCH = { relu: "standard", topk: "topk", jumprelu: "jumprelu" } as const;

export function saeDir(out: string): string {
  return join(out, "sae");
}

function assertFinite(w: SaeWeights, what: string): void {
  for (const n of PARAM_NAMES) {
    const a = w[n];
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) {
        throw new CheckpointError(
          `${what}: ${SAELENS_NAMES[n]}[${i}] is ${a[i]}; refusing to write a poisoned checkpoint`,
        );
      }
    }
  }
}

/** cfg.json contents. */
export function checkpointConfig(cfg: SaeTrainConfig, step: number, sourceDescription: string) {
  const inf = inferenceArchitecture(cfg.architecture);
  const p = cfg.provenance;
  const layer = typeof p.block_layer === "number" ? p.block_layer : null;
  return {
    d_in: cfg.dIn,
    d_sae: dSaeOf(cfg),
    architecture: SAELENS_ARCH[inf],
    activation_fn_str: inf === "topk" ? "topk" : "relu",
    activation_fn_kwargs: inf === "topk" ? { k: cfg.k } : {},
    ...(inf === "topk" ? { k: cfg.k } : {}),
    hook_name: typeof p.hook_name === "string" ? p.hook_name : "activations",
    hook_layer: layer ?? 0,
    hook_head_index: null,
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    finetuning_scaling_factor: false,
    dtype: "float32",
    device: "cpu",
    context_size: typeof p.context_size === "number" ? p.context_size : 0,
    prepend_bos: false,
    model_name: typeof p.model === "string" ? p.model : "",
    dataset_path: sourceDescription,
    // ours
    model: p.model ?? null,
    block_layer: layer,
    expansion_factor: cfg.expansionFactor,
    l1_coefficient: cfg.l1Coefficient,
    decoder_init_norm: cfg.decoderInitNorm,
    training_architecture: cfg.architecture,
    data_source: sourceDescription,
    preprocessing: p.preprocessing ?? null,
    normalization_folded: cfg.normalizeActivations,
    steps: step,
    training: cfg,
  };
}

/**
 * Weights as saved for inference: normalisation folded in, JumpReLU threshold materialised
 * (BatchTopK's is `batchThreshold`, measured under these weights: SaeGpu.batchThreshold).
 */
export function exportWeights(
  cfg: SaeTrainConfig,
  w: SaeWeights,
  state: Pick<TrainState, "normFactor">,
  batchThreshold: number,
): Record<string, TensorToWrite> {
  const d = cfg.dIn;
  const m = dSaeOf(cfg);
  const a = state.normFactor;
  const wEnc = w.wEnc.map((v) => v * a);
  const bEnc = w.bEnc.slice();
  const wDec = w.wDec.map((v) => v / a);
  if (cfg.finetuningMethod === "decoder") foldDecoderNorms(d, m, wEnc, bEnc, wDec);
  const out: Record<string, TensorToWrite> = {
    W_enc: { shape: [d, m], data: wEnc },
    b_enc: { shape: [m], data: bEnc },
    W_dec: { shape: [m, d], data: wDec },
    b_dec: { shape: [d], data: w.bDec.map((v) => v / a) },
  };
  if (cfg.architecture === "jumprelu") {
    out.threshold = { shape: [m], data: w.logThreshold.map((v) => Math.exp(v)) };
  } else if (cfg.architecture === "batchtopk") {
    out.threshold = { shape: [m], data: new Float32Array(m).fill(batchThreshold) };
  }
  return out;
}

/**
 * The decoder fine-tuning leaves rows of any norm n_f; saved rows are unit again with n_f moved
 * into feature f's encoder column and bias, the same function (ReLU is positively homogeneous), so
 * a feature's activation stays its contribution's norm, as for every other SAE saved here.
 */
function foldDecoderNorms(
  dIn: number,
  dSae: number,
  wEnc: Float32Array,
  bEnc: Float32Array,
  wDec: Float32Array,
): void {
  for (let f = 0; f < dSae; f++) {
    let sq = 0;
    for (let i = 0; i < dIn; i++) sq += wDec[f * dIn + i] ** 2;
    const n = Math.sqrt(sq);
    if (!(n > 0)) continue;
    for (let i = 0; i < dIn; i++) {
      wDec[f * dIn + i] /= n;
      wEnc[i * dSae + f] *= n;
    }
    bEnc[f] *= n;
  }
}

export async function saveCheckpoint(
  out: string,
  cfg: SaeTrainConfig,
  weights: SaeWeights,
  state: TrainState,
  sourceDescription: string,
  batchThreshold = 0,
): Promise<void> {
  assertFinite(weights, `checkpoint at step ${state.step}`);
  const dir = saeDir(out);
  const trainTensors: Record<string, TensorToWrite> = {
    since_fired: { shape: [state.sinceFired.length], data: new Int32Array(state.sinceFired) },
    act_count: { shape: [state.actCount.length], data: state.actCount },
  };
  for (const n of PARAM_NAMES) {
    const shape = paramShape(n, cfg.dIn, dSaeOf(cfg));
    trainTensors[`param.${n}`] = { shape, data: weights[n] };
    trainTensors[`adam_m.${n}`] = { shape, data: state.m[n] };
    trainTensors[`adam_v.${n}`] = { shape, data: state.v[n] };
  }
  const meta = {
    step: String(state.step),
    window_tokens: String(state.windowTokens),
    run_threshold: String(state.runThreshold),
    norm_factor: String(state.normFactor),
    source_state: JSON.stringify(state.sourceState),
    d_in: String(cfg.dIn),
  };
  // Train state first: a crash between the files leaves the newer state with older weights,
  // which resume (reading only train_state) still continues exactly.
  await writeSafetensors(join(dir, "train_state.safetensors"), trainTensors, meta);
  await writeSafetensors(
    join(dir, "sae_weights.safetensors"),
    exportWeights(cfg, weights, state, batchThreshold),
  );
  await writeJsonAtomic(
    join(dir, "cfg.json"),
    checkpointConfig(cfg, state.step, sourceDescription),
  );
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The training config and full train state of a run folder, for --resume. */
export async function loadTrainState(
  out: string,
): Promise<{ cfg: SaeTrainConfig; weights: SaeWeights; state: TrainState }> {
  const dir = saeDir(out);
  const json = await readJson(join(dir, "cfg.json"));
  const training = json.training as SaeTrainConfig | undefined;
  if (!training || typeof training !== "object") {
    throw new CheckpointError(`${join(dir, "cfg.json")}: missing the "training" section`);
  }
  // Runs saved before decoder_init_norm existed were initialised with unit rows (c = 1), and
  // those saved before resampling or fine-tuning existed did neither.
  const cfg: SaeTrainConfig = {
    ...training,
    decoderInitNorm: training.decoderInitNorm ?? 1,
    resampleDeadEvery: training.resampleDeadEvery ?? 0,
    resampleDeadUntil: training.resampleDeadUntil ?? SAE_CONFIG_DEFAULTS.resampleDeadUntil,
    finetuningMethod: training.finetuningMethod ?? "none",
    finetuningTokens: training.finetuningTokens ?? 0,
  };
  validateSaeConfig(cfg);
  const path = join(dir, "train_state.safetensors");
  try {
    await Deno.stat(path);
  } catch {
    throw new CheckpointError(
      `${path} does not exist: the run in ${out} stopped before its first checkpoint (one every ` +
        `${cfg.checkpointEvery} steps), so there is nothing to resume; train again with a new --out`,
    );
  }
  const file = await readSafetensors(path);
  assertFiniteTensors(file);
  const m = dSaeOf(cfg);
  const pick = (prefix: string): SaeWeights => {
    const w = {} as SaeWeights;
    for (const n of PARAM_NAMES) {
      w[n] = floatTensor(file, `${prefix}.${n}`, paramShape(n, cfg.dIn, m)).data as Float32Array<
        ArrayBuffer
      >;
    }
    return w;
  };
  const since = file.tensors.get("since_fired");
  if (!since || !(since.data instanceof Int32Array) || since.data.length !== m) {
    throw new CheckpointError(`${path}: 'since_fired' must be I32 [${m}]`);
  }
  const meta = file.metadata;
  const num = (k: string) => {
    const v = Number(meta[k]);
    if (meta[k] === undefined || !Number.isFinite(v)) {
      throw new CheckpointError(`${path}: metadata '${k}' is missing or not a number`);
    }
    return v;
  };
  return {
    cfg,
    weights: pick("param"),
    state: {
      step: num("step"),
      m: pick("adam_m"),
      v: pick("adam_v"),
      sinceFired: new Uint32Array(since.data),
      actCount: floatTensor(file, "act_count", [m]).data,
      windowTokens: num("window_tokens"),
      runThreshold: num("run_threshold"),
      normFactor: num("norm_factor"),
      sourceState: JSON.parse(meta.source_state ?? "{}"),
    },
  };
}

/** An SAE for inference, in the raw activation space (normalisation already folded in). */
export interface LoadedSae {
  dIn: number;
  dSae: number;
  architecture: "relu" | "topk" | "jumprelu";
  /** TopK's k (0 otherwise). */
  k: number;
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
  bDec: Float32Array;
  /** JumpReLU per-feature threshold (zeros otherwise). */
  threshold: Float32Array;
  cfg: Record<string, unknown>;
}

/** TopK's k from cfg.json: `k`, or SAELens' `activation_fn_kwargs.k`; 0 when neither is a number. */
function topkOf(cfg: Record<string, unknown>): number {
  const kwargs = cfg.activation_fn_kwargs as Record<string, unknown> | undefined;
  const k = typeof cfg.k === "number" ? cfg.k : kwargs?.k;
  return typeof k === "number" ? k : 0;
}

/**
 * Loads `DIR/sae` (or DIR itself when it holds cfg.json) as written by saveCheckpoint, or any
 * layout import_sae.ts reads (a `.pt`, `.pkl.gz` or bare `.safetensors`, a SAELens 6 folder).
 */
export async function loadSae(dir: string): Promise<LoadedSae> {
  if (await isForeignSae(dir)) {
    const sae = await readForeignSae(dir);
    return loadedSae(sae.cfg, dir, (name) => {
      const t = sae.tensors[name];
      if (!t) throw new CheckpointError(`${dir}: no ${name} tensor`);
      return t.data;
    });
  }
  let base = dir;
  try {
    await Deno.stat(join(dir, "cfg.json"));
  } catch {
    base = saeDir(dir);
  }
  const cfg = await readJson(join(base, "cfg.json"));
  const file = await readSafetensors(join(base, "sae_weights.safetensors"));
  assertFiniteTensors(file);
  return loadedSae(
    cfg,
    join(base, "cfg.json"),
    (name, shape) => floatTensor(file, name, shape).data,
  );
}

function loadedSae(
  cfg: Record<string, unknown>,
  where: string,
  tensor: (name: string, shape: number[]) => Float32Array,
): LoadedSae {
  const dIn = cfg.d_in;
  const dSae = cfg.d_sae;
  if (typeof dIn !== "number" || typeof dSae !== "number") {
    throw new CheckpointError(`${where}: d_in and d_sae must be numbers`);
  }
  const arch = cfg.architecture === "standard" ? "relu" : cfg.architecture;
  if (arch !== "relu" && arch !== "topk" && arch !== "jumprelu") {
    throw new CheckpointError(`${where}: unsupported architecture ${cfg.architecture}`);
  }
  return {
    dIn,
    dSae,
    architecture: arch,
    k: topkOf(cfg),
    wEnc: tensor("W_enc", [dIn, dSae]),
    bEnc: tensor("b_enc", [dSae]),
    wDec: tensor("W_dec", [dSae, dIn]),
    bDec: tensor("b_dec", [dIn]),
    threshold: arch === "jumprelu" ? tensor("threshold", [dSae]) : new Float32Array(dSae),
    cfg,
  };
}
