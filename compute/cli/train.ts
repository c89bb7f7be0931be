/** `deno task train`: trains a sparse autoencoder on activations (see compute/pipeline/train_run.ts). */
import { runCli } from "./run_cli.ts";
import { bool, FlagError, type FlagSpec, type FlagValues, num, optStr, str } from "./flags.ts";
import { runTraining } from "../pipeline/train_run.ts";
import type { SaeTrainConfig } from "../sae/config.ts";
import { SAE_ARCHITECTURES } from "../../kernels/sae_common.ts";
import { SCALING_MODES } from "../data/preprocess.ts";
import type { ScalingMode } from "../data/trials.ts";

const FLAGS: FlagSpec[] = [
  {
    name: "activations",
    type: "string",
    help: "activations .npy [N, d_in] or a folder of .npy shards",
  },
  {
    name: "db_path",
    type: "string",
    help: "LMDB dataset: REVE activations are extracted to OUT/activations, then trained on",
  },
  {
    name: "model_name",
    type: "string",
    help: "REVE model folder (HF layout), for --db_path",
    default: "",
  },
  {
    name: "scaling",
    type: "string",
    help: "signal scaling before REVE (--db_path)",
    default: "zscore_clip15",
    choices: SCALING_MODES,
  },
  { name: "block_layer", type: "int", help: "REVE block whose output is hooked", default: -2 },
  { name: "hook", type: "string", help: "hook point", default: "resid_post" },
  { name: "batch_size", type: "int", help: "trials per REVE forward", default: 32 },
  { name: "out", type: "string", help: "run folder", default: "runs/sae" },
  {
    name: "resume",
    type: "string",
    help: "continue the run in this folder from its last checkpoint",
  },
  {
    name: "architecture",
    type: "string",
    help: "SAE type",
    default: "relu",
    choices: SAE_ARCHITECTURES,
  },
  { name: "expansion_factor", type: "number", help: "d_sae / d_in", default: 16 },
  {
    name: "l1_coefficient",
    type: "number",
    help: "L1 (relu) or L0 (jumprelu) coefficient",
    default: 1e-4,
  },
  {
    name: "l1_warm_up_steps",
    type: "int",
    help: "linear warm-up of the sparsity coefficient",
    default: 0,
  },
  {
    name: "mse_normalization",
    type: "string",
    help: "token_norm: per element /‖x_t‖ (PatchSAE); none: Σ_d, mean over tokens (SAELens)",
    default: "token_norm",
    choices: ["token_norm", "none"],
  },
  {
    name: "use_ghost_grads",
    type: "boolean",
    help: "ghost grads for dead features (relu)",
    default: true,
  },
  {
    name: "dead_feature_window",
    type: "int",
    help: "steps without firing before a feature counts as dead",
    default: 1000,
  },
  {
    name: "feature_sampling_window",
    type: "int",
    help: "steps per feature-density window",
    default: 2000,
  },
  { name: "k", type: "int", help: "topk/batchtopk: active features per token", default: 32 },
  { name: "k_aux", type: "int", help: "AuxK dead features per token (0: d_in/2)", default: 0 },
  { name: "aux_coefficient", type: "number", help: "AuxK loss coefficient", default: 1 / 32 },
  {
    name: "bandwidth",
    type: "number",
    help: "jumprelu straight-through bandwidth",
    default: 0.001,
  },
  { name: "initial_threshold", type: "number", help: "jumprelu initial threshold", default: 0.001 },
  { name: "lr", type: "number", help: "Adam learning rate", default: 3e-4 },
  {
    name: "lr_scheduler",
    type: "string",
    help: "learning-rate schedule",
    default: "constant",
    choices: ["constant", "constant_with_warmup", "cosine"],
  },
  { name: "lr_warm_up_steps", type: "int", help: "learning-rate warm-up steps", default: 0 },
  { name: "lr_end", type: "number", help: "final lr of the cosine schedule", default: 0 },
  {
    name: "max_grad_norm",
    type: "number",
    help: "clip gradients to this global norm (0: off)",
    default: 0,
  },
  { name: "train_batch_size_tokens", type: "int", help: "tokens per SAE step", default: 4096 },
  { name: "total_training_tokens", type: "int", help: "tokens to train on", default: 500000 },
  { name: "n_batches_in_buffer", type: "int", help: "shuffle buffer size in batches", default: 8 },
  {
    name: "b_dec_init",
    type: "string",
    help: "b_dec initialisation",
    default: "median",
    choices: ["median", "mean", "zeros"],
  },
  {
    name: "init_encoder_as_decoder_transpose",
    type: "boolean",
    help: "W_enc = W_decᵀ at init",
    default: true,
  },
  {
    name: "decoder_init_norm",
    type: "number",
    help: "initial decoder-row norm c, W_enc = c²·W_decᵀ (0: 0.1 for relu, else 1)",
    default: 0,
  },
  {
    name: "normalize_activations",
    type: "string",
    help: "scale activations so E‖x‖² = d_in (folded back on export)",
    default: "none",
    choices: ["none", "expected_average_only_in"],
  },
  { name: "log_every", type: "int", help: "steps between train_log.jsonl records", default: 10 },
  { name: "checkpoint_every", type: "int", help: "steps between checkpoints", default: 100 },
  { name: "chunk_tokens", type: "int", help: "tokens per encode chunk (0: automatic)", default: 0 },
  { name: "seed", type: "int", help: "random seed", default: 42 },
  { name: "progress", type: "boolean", help: "progress bar on stderr", default: true },
];

function configFrom(v: FlagValues): Partial<SaeTrainConfig> {
  const kAux = num(v, "k_aux");
  const decoderInitNorm = num(v, "decoder_init_norm");
  return {
    architecture: str(v, "architecture") as SaeTrainConfig["architecture"],
    expansionFactor: num(v, "expansion_factor"),
    l1Coefficient: num(v, "l1_coefficient"),
    l1WarmUpSteps: num(v, "l1_warm_up_steps"),
    mseNormalization: str(v, "mse_normalization") as SaeTrainConfig["mseNormalization"],
    useGhostGrads: bool(v, "use_ghost_grads"),
    deadFeatureWindow: num(v, "dead_feature_window"),
    featureSamplingWindow: num(v, "feature_sampling_window"),
    k: num(v, "k"),
    ...(kAux > 0 ? { kAux } : {}),
    auxCoefficient: num(v, "aux_coefficient"),
    bandwidth: num(v, "bandwidth"),
    initialThreshold: num(v, "initial_threshold"),
    lr: num(v, "lr"),
    lrSchedule: str(v, "lr_scheduler") as SaeTrainConfig["lrSchedule"],
    lrWarmUpSteps: num(v, "lr_warm_up_steps"),
    lrEnd: num(v, "lr_end"),
    maxGradNorm: num(v, "max_grad_norm"),
    trainBatchSizeTokens: num(v, "train_batch_size_tokens"),
    totalTrainingTokens: num(v, "total_training_tokens"),
    nBatchesInBuffer: num(v, "n_batches_in_buffer"),
    bDecInit: str(v, "b_dec_init") as SaeTrainConfig["bDecInit"],
    initEncoderAsDecoderTranspose: bool(v, "init_encoder_as_decoder_transpose"),
    ...(decoderInitNorm !== 0 ? { decoderInitNorm } : {}),
    normalizeActivations: str(v, "normalize_activations") as SaeTrainConfig["normalizeActivations"],
    logEvery: num(v, "log_every"),
    checkpointEvery: num(v, "checkpoint_every"),
    chunkTokens: num(v, "chunk_tokens"),
    seed: num(v, "seed"),
    provenance: {
      model: optStr(v, "model_name") ?? "",
      block_layer: num(v, "block_layer"),
      hook_name: `blocks.${num(v, "block_layer")}.hook_${str(v, "hook")}`,
      batch_size: num(v, "batch_size"),
    },
  };
}

function reveSpec(v: FlagValues) {
  const dbPath = optStr(v, "db_path");
  if (!dbPath) return undefined;
  const model = optStr(v, "model_name");
  if (!model) throw new FlagError("--db_path needs --model_name (a REVE model folder)");
  return {
    dbPath,
    model,
    blockLayer: num(v, "block_layer"),
    hook: str(v, "hook"),
    scaling: str(v, "scaling") as ScalingMode,
    batchSize: num(v, "batch_size"),
  };
}

runCli({
  usage:
    "deno task train --activations FILE.npy|DIR [--out runs/NAME] [--architecture relu|topk|batchtopk|jumprelu]\n" +
    "       deno task train --db_path LMDB --model_name REVE_DIR [--block_layer -2 --hook resid_post]\n" +
    "       deno task train --resume runs/NAME --activations FILE.npy|DIR",
  flags: FLAGS,
  main: async ({ values }) => {
    await runTraining({
      activations: optStr(values, "activations"),
      reve: reveSpec(values),
      out: str(values, "out"),
      resume: optStr(values, "resume"),
      config: configFrom(values),
      argv: Deno.args,
      progress: bool(values, "progress"),
    });
  },
});
