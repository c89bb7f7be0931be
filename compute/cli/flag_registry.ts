/**
 * Every flag that more than one command takes, declared once (type, default, choices, help), in
 * groups that the CLIs pick: where the trials come from, which REVE model and hook, which SAE, how
 * an SAE is trained. A command's own flags stay in its file. `flagList` joins groups and refuses a
 * name declared twice; `withDefaults` gives a command its own default without restating the flag.
 * To add a group: declare its flags in `FLAGS`, export the group, and read it in one function here.
 */
import { SAE_ARCHITECTURES } from "../../kernels/sae_common.ts";
import { ADAPTER_CHOICES } from "../gpu/device.ts";
import { BCIC2A_CLASS_NAMES } from "../data/montage.ts";
import type { SourceSpec } from "../data/open_source.ts";
import { parseEventClasses, type RecordingSourceOptions } from "../data/recording_source.ts";
import { SCALING_MODES } from "../data/preprocess.ts";
import {
  ACTIVATION_NORMALIZATIONS,
  B_DEC_INITS,
  FINETUNING_METHODS,
  LR_SCHEDULES,
  MSE_NORMALIZATIONS,
  SAE_CONFIG_DEFAULTS,
  type SaeTrainConfig,
} from "../sae/config.ts";
import {
  bool,
  FlagError,
  type FlagSpec,
  type FlagValue,
  type FlagValues,
  type LegacyFlag,
  list,
  num,
  optNum,
  optStr,
  str,
} from "./flags.ts";

type Declared = Omit<FlagSpec, "name">;

function declare<K extends string>(table: Record<K, Declared>): Record<K, FlagSpec> {
  const out = {} as Record<K, FlagSpec>;
  for (const name of Object.keys(table) as K[]) out[name] = { name, ...table[name] };
  return out;
}

/** Flags shared by several commands. */
export const FLAGS = declare({
  out: {
    type: "string",
    help: "where the results go: the run folder, or the file or folder the usage names",
  },
  seed: { type: "int", help: "random seed" },
  // Where the trials come from.
  db_path: { type: "string", help: "LMDB of trials (the earlier pipeline's format)" },
  recordings: {
    type: "list",
    help: "recording files or folders, comma-separated or repeated (GDF 1.x/2.x, EDF/EDF+, BDF, " +
      "BNCI MAT; format told from the content), instead of --db_path",
    aliases: ["gdf", "gdf_dir"],
  },
  channels: {
    type: "list",
    help: "recordings: one electrode name per file channel, - drops it (default: the labels the " +
      "position bank knows; BCIC2a's 22); LMDB: the stored channels' names",
    aliases: ["channel_names"],
  },
  events: {
    type: "list",
    help:
      "recordings: CODE=CLASS event codes that start trials, e.g. 769=left_hand,770=right_hand " +
      "(default for BCIC2a: trial start 768, class from cues 769–772)",
  },
  window: {
    type: "list",
    help: "recordings: trial window START,END in s after the event (BCIC2a: 2,6; else 0,4)",
  },
  label_file: {
    type: "string",
    help: "BCIC2a evaluation labels (the competition's A01E.mat, or classes 1–4 one per line)",
  },
  cv_folds: {
    type: "int",
    help: "probe by within-subject K-fold cross-validation (stratified, time-contiguous folds)",
  },
  sfreq: { type: "number", help: "LMDB: stored rate (default: dataset.json, else 200)" },
  unit_scale: { type: "number", help: "LMDB: stored value × this = µV (default 1)" },
  skip_bad: {
    type: "boolean",
    help: "skip and list undecodable or malformed trials",
    default: false,
  },
  class_names: {
    type: "list",
    help: "class names in label order",
    default: [...BCIC2A_CLASS_NAMES],
  },
  // The REVE model and what is read from it.
  model: {
    type: "string",
    help: "REVE: a folder with config.json and model.safetensors, or a hub name " +
      "(brain-bzh/reve-base) found in the HuggingFace cache",
    aliases: ["model_name", "local_model_path"],
  },
  block_layer: {
    type: "int",
    help: "REVE block whose hook is read (negative counts from the end)",
    default: -2,
  },
  hook: {
    type: "string",
    help: "REVE hook: a point (resid_post, mlp_in, attn.hook_q, ...) of --block_layer, or a " +
      "full name (blocks.5.hook_resid_post, transformer.layers.5.ff.hook_mlp_in)",
    default: "resid_post",
  },
  scaling: {
    type: "string",
    help: "signal scaling before REVE: zscore_clip15 (per channel, clipped at ±15, as in " +
      "pretraining), uv_div100 (µV/100), none",
    choices: SCALING_MODES,
    default: "zscore_clip15",
  },
  batch_size: {
    type: "int",
    help: "trials per REVE forward (the earlier pipeline's --batch_size was the SAE's batch: " +
      "that is --train_batch_size_tokens here)",
    default: 32,
  },

  // Which WebGPU adapter runs the work (every command takes it).
  adapter: {
    type: "string",
    help: "WebGPU adapter: high-performance (a discrete GPU where there are two), low-power, or " +
      "fallback (the software adapter); DENO_WEBGPU_BACKEND=vulkan|metal|dx12|gl picks the backend",
    choices: ADAPTER_CHOICES,
  },
  // A trained SAE.
  sae: {
    type: "string",
    help: "SAE: our folder (cfg.json + sae_weights.safetensors) or run folder, a SAELens 5/6 " +
      "folder, or the earlier pipeline's .pt or .pkl.gz (see deno task import-sae)",
  },
});

/** Joins groups and flags; a name (or alias) given twice is a programming error. */
export function flagList(...groups: readonly (FlagSpec | readonly FlagSpec[])[]): FlagSpec[] {
  const flags = groups.flat();
  const seen = new Set<string>();
  for (const f of flags) {
    for (const n of [f.name, ...(f.aliases ?? [])]) {
      if (seen.has(n)) throw new Error(`flag --${n} is declared twice`);
      seen.add(n);
    }
  }
  return flags;
}

/**
 * The group with a command's own defaults: a value, or `{ note }` for a default that is not a
 * fixed value (the flag is then absent unless given, and `--help` shows the note).
 */
export function withDefaults(
  group: readonly FlagSpec[],
  defaults: Record<string, FlagValue | { note: string }>,
): FlagSpec[] {
  return group.map((f) => {
    if (!(f.name in defaults)) return f;
    const d = defaults[f.name];
    return typeof d === "object" && d !== null && !Array.isArray(d)
      ? { ...f, default: undefined, defaultNote: d.note }
      : { ...f, default: d };
  });
}

/** Recordings and how trials are cut from them. */
export const RECORDING_FLAGS: readonly FlagSpec[] = [
  FLAGS.recordings,
  FLAGS.channels,
  FLAGS.events,
  FLAGS.window,
  FLAGS.label_file,
];

/** The trials of an LMDB or of recordings. */
export const SOURCE_FLAGS: readonly FlagSpec[] = [
  FLAGS.db_path,
  ...RECORDING_FLAGS,
  FLAGS.sfreq,
  FLAGS.unit_scale,
  FLAGS.skip_bad,
];

/** How trials are cut from recordings. */
export function recordingOptionsFrom(v: FlagValues): RecordingSourceOptions {
  const channels = list(v, "channels");
  const events = list(v, "events");
  return {
    channels: channels.length ? channels : undefined,
    events: events.length ? parseEventClasses(events) : undefined,
    window: pairFrom(v, "window"),
    labelFile: optStr(v, "label_file"),
  };
}

/**
 * Reads SOURCE_FLAGS. `extra` names a path flag that may be either kind (extract's --source): a
 * folder is an LMDB, a file a recording (its format told from its content).
 */
export function sourceSpecFrom(v: FlagValues, extra?: string): SourceSpec {
  const either = extra ? optStr(v, extra) : undefined;
  const paths = list(v, "recordings");
  const given = [optStr(v, "db_path"), paths.length ? "recordings" : undefined, either];
  if (given.filter((x) => x !== undefined).length > 1) {
    throw new FlagError(`give one of --db_path, --recordings${extra ? ` or --${extra}` : ""}`);
  }
  const eitherIsLmdb = either !== undefined && isDirectory(either);
  return {
    ...recordingOptionsFrom(v),
    dbPath: optStr(v, "db_path") ?? (eitherIsLmdb ? either : undefined),
    recordings: either !== undefined && !eitherIsLmdb ? [either] : paths,
    sfreq: optNum(v, "sfreq"),
    unitScale: optNum(v, "unit_scale"),
    skipBad: bool(v, "skip_bad"),
  };
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** A "a,b" list flag as two numbers (undefined when empty). */
export function pairFrom(v: FlagValues, name: string): [number, number] | undefined {
  const xs = list(v, name);
  if (xs.length === 0) return undefined;
  const ns = xs.map(Number);
  if (ns.length !== 2 || ns.some((x) => !Number.isFinite(x))) {
    throw new FlagError(`--${name} expects two numbers "a,b", got "${xs.join(",")}"`);
  }
  return [ns[0], ns[1]];
}

/** The REVE model, the hook read from it and how trials reach it. */
export const REVE_FLAGS: readonly FlagSpec[] = [
  FLAGS.model,
  FLAGS.block_layer,
  FLAGS.hook,
  FLAGS.scaling,
  FLAGS.batch_size,
];

/**
 * Analysis over a trained SAE (features, probe): the hook, block and scaling default to those
 * recorded in the SAE's cfg.json.
 */
export const SAE_ANALYSIS_FLAGS: readonly FlagSpec[] = [
  FLAGS.sae,
  ...withDefaults(REVE_FLAGS, {
    block_layer: { note: "the block of the SAE's hook_name" },
    hook: { note: "the SAE's hook_name" },
    scaling: { note: "the scaling recorded in the SAE's cfg.json" },
    batch_size: 8,
  }),
];

/** Class names and undecodable trials, for commands that read labels. */
export const TRIAL_LABEL_FLAGS: readonly FlagSpec[] = [FLAGS.class_names, FLAGS.skip_bad];

type SaeFlagKey = Exclude<
  keyof typeof SAE_CONFIG_DEFAULTS,
  "thresholdMomentum" | "beta1" | "beta2" | "adamEps"
>;

/** Each SAE training flag and the config field it sets; defaults and choices come from config.ts. */
const SAE_TRAINING_TABLE: readonly {
  name: string;
  key: SaeFlagKey;
  type: "int" | "number" | "string" | "boolean";
  help: string;
  choices?: readonly string[];
}[] = [
  {
    name: "architecture",
    key: "architecture",
    type: "string",
    help: "SAE type",
    choices: SAE_ARCHITECTURES,
  },
  { name: "expansion_factor", key: "expansionFactor", type: "number", help: "d_sae / d_in" },
  {
    name: "l1_coefficient",
    key: "l1Coefficient",
    type: "number",
    help: "L1 (relu) or L0 (jumprelu) coefficient",
  },
  {
    name: "l1_warm_up_steps",
    key: "l1WarmUpSteps",
    type: "int",
    help: "linear warm-up of the sparsity coefficient",
  },
  {
    name: "mse_normalization",
    key: "mseNormalization",
    type: "string",
    help: "token_norm: per element /‖x_t‖ (PatchSAE); none: Σ_d, mean over tokens (SAELens)",
    choices: MSE_NORMALIZATIONS,
  },
  {
    name: "use_ghost_grads",
    key: "useGhostGrads",
    type: "boolean",
    help: "ghost grads for dead features (relu)",
  },
  {
    name: "dead_feature_window",
    key: "deadFeatureWindow",
    type: "int",
    help: "steps without firing before a feature counts as dead",
  },
  {
    name: "resample_dead_every",
    key: "resampleDeadEvery",
    type: "int",
    help:
      "every N steps, features silent since the last resample restart from a badly reconstructed token's residual (0: never)",
  },
  {
    name: "resample_dead_until",
    key: "resampleDeadUntil",
    type: "number",
    help: "fraction of the run after which resampling stops",
  },
  {
    name: "feature_sampling_window",
    key: "featureSamplingWindow",
    type: "int",
    help: "steps per feature-density window",
  },
  { name: "k", key: "k", type: "int", help: "topk/batchtopk: active features per token" },
  { name: "aux_coefficient", key: "auxCoefficient", type: "number", help: "AuxK loss coefficient" },
  {
    name: "bandwidth",
    key: "bandwidth",
    type: "number",
    help: "jumprelu straight-through bandwidth",
  },
  {
    name: "initial_threshold",
    key: "initialThreshold",
    type: "number",
    help: "jumprelu initial threshold",
  },
  { name: "lr", key: "lr", type: "number", help: "Adam learning rate" },
  {
    name: "lr_scheduler",
    key: "lrSchedule",
    type: "string",
    help: "learning-rate schedule",
    choices: LR_SCHEDULES,
  },
  {
    name: "lr_warm_up_steps",
    key: "lrWarmUpSteps",
    type: "int",
    help: "learning-rate warm-up steps",
  },
  { name: "lr_end", key: "lrEnd", type: "number", help: "final lr of the cosine schedule" },
  {
    name: "max_grad_norm",
    key: "maxGradNorm",
    type: "number",
    help: "clip gradients to this global norm (0: off)",
  },
  {
    name: "finetuning_method",
    key: "finetuningMethod",
    type: "string",
    help:
      "decoder: the last finetuning_tokens train W_dec alone, no L1, encoder frozen (relu: undoes L1 shrinkage at the same L0)",
    choices: FINETUNING_METHODS,
  },
  {
    name: "finetuning_tokens",
    key: "finetuningTokens",
    type: "int",
    help: "tokens of the decoder fine-tuning, the tail of total_training_tokens",
  },
  {
    name: "train_batch_size_tokens",
    key: "trainBatchSizeTokens",
    type: "int",
    help: "tokens per SAE step",
  },
  {
    name: "total_training_tokens",
    key: "totalTrainingTokens",
    type: "int",
    help: "tokens to train on, rounded up to whole steps",
  },
  {
    name: "n_batches_in_buffer",
    key: "nBatchesInBuffer",
    type: "int",
    help: "shuffle buffer size in batches",
  },
  {
    name: "b_dec_init",
    key: "bDecInit",
    type: "string",
    help: "b_dec initialisation",
    choices: B_DEC_INITS,
  },
  {
    name: "init_encoder_as_decoder_transpose",
    key: "initEncoderAsDecoderTranspose",
    type: "boolean",
    help: "W_enc = W_decᵀ at init",
  },
  {
    name: "normalize_activations",
    key: "normalizeActivations",
    type: "string",
    help: "scale activations so E‖x‖² = d_in (folded back on export)",
    choices: ACTIVATION_NORMALIZATIONS,
  },
  {
    name: "log_every",
    key: "logEvery",
    type: "int",
    help: "steps between train_log.jsonl records",
  },
  {
    name: "checkpoint_every",
    key: "checkpointEvery",
    type: "int",
    help: "steps between checkpoints",
  },
  {
    name: "chunk_tokens",
    key: "chunkTokens",
    type: "int",
    help: "tokens per encode chunk (0: automatic)",
  },
  { ...FLAGS.seed, type: "int", key: "seed" },
];

const K_AUX: FlagSpec = {
  name: "k_aux",
  type: "int",
  help: "AuxK dead features per token (0: d_in/2)",
  default: 0,
};

const DECODER_INIT_NORM: FlagSpec = {
  name: "decoder_init_norm",
  type: "number",
  help:
    "initial decoder-row norm c, W_enc = c²·W_decᵀ (0: 0.1 for relu, 1 for jumprelu, fitted on the data for topk and batchtopk)",
  default: 0,
};

/** How an SAE is trained: one flag per field of SaeTrainConfig. */
export const SAE_TRAINING_FLAGS: readonly FlagSpec[] = [
  ...SAE_TRAINING_TABLE.map((t): FlagSpec => ({
    name: t.name,
    type: t.type,
    help: t.help,
    default: SAE_CONFIG_DEFAULTS[t.key],
    ...(t.choices ? { choices: t.choices } : {}),
  })),
  K_AUX,
  DECODER_INIT_NORM,
];

/** The config fields SAE_TRAINING_FLAGS set. */
export function saeConfigFrom(v: FlagValues): Partial<SaeTrainConfig> {
  const cfg: Record<string, FlagValue> = {};
  for (const t of SAE_TRAINING_TABLE) {
    cfg[t.key] = t.type === "boolean"
      ? bool(v, t.name)
      : t.type === "string"
      ? str(v, t.name)
      : num(v, t.name);
  }
  const kAux = num(v, K_AUX.name);
  if (kAux > 0) cfg.kAux = kAux;
  const decoderInitNorm = num(v, DECODER_INIT_NORM.name);
  if (decoderInitNorm !== 0) cfg.decoderInitNorm = decoderInitNorm;
  return cfg as Partial<SaeTrainConfig>;
}

const DEVICES = ["cpu", "cuda", "mps", "webgpu"];

/** The earlier pipeline's scheduler names that differ from ours. */
const SEED_LR_SCHEDULERS: Record<string, string> = {
  constantwithwarmup: "constant_with_warmup",
  cosineannealing: "cosine",
  cosineannealingwarmup: "cosine",
};

/**
 * Flags of the earlier pipeline's train script and demo that have no flag of their own here: each
 * passed on to ours or answered in one line (a command without the target flag treats it as unknown).
 */
export const LEGACY_FLAGS: readonly LegacyFlag[] = [
  {
    name: "device",
    takesValue: true,
    value: (d) => {
      if (!DEVICES.includes(d)) {
        throw new FlagError(`--device must be one of ${DEVICES.join(", ")}; got "${d}"`);
      }
      return d;
    },
    answer: "all work runs on WebGPU; --adapter picks the adapter, " +
      "DENO_WEBGPU_BACKEND=vulkan|metal|dx12|gl the backend",
  },
  {
    name: "checkpoint_path",
    takesValue: true,
    to: "out",
    answer: "is --out here: the run folder; the SAE is saved in OUT/sae",
  },
  {
    name: "sae_path",
    takesValue: true,
    to: "sae",
    answer: "is --sae here",
  },
  {
    name: "module_name",
    takesValue: true,
    to: "hook",
    value: (m) => m === "resid" ? "resid_post" : m,
    answer: "is --hook here (resid: resid_post)",
  },
  {
    name: "no_ghost_grads",
    takesValue: false,
    to: "use_ghost_grads",
    value: (b) => String(!/^(true|1|yes)$/i.test(b)),
    answer: "is --no-use_ghost_grads here",
  },
  {
    name: "lr_scheduler_name",
    takesValue: true,
    to: "lr_scheduler",
    value: (s) => SEED_LR_SCHEDULERS[s.toLowerCase()] ?? s,
    answer: "is --lr_scheduler here (constantwithwarmup: constant_with_warmup)",
  },
  {
    name: "b_dec_init_method",
    takesValue: true,
    to: "b_dec_init",
    value: (m) => m === "geometric_median" ? "median" : m,
    answer: "is --b_dec_init here (geometric_median: median)",
  },
  {
    name: "scale_div",
    takesValue: true,
    to: "scaling",
    value: (d) => {
      if (Number(d) !== 100) {
        throw new FlagError(
          `--scale_div ${d}: only 100 has a counterpart here (--scaling uv_div100)`,
        );
      }
      return "uv_div100";
    },
    answer: "100 is --scaling uv_div100 here (no other value has a counterpart)",
  },
  {
    name: "wandb_log_frequency",
    takesValue: true,
    to: "log_every",
    answer: "is --log_every here (steps between train_log.jsonl records)",
  },
  ...["log_to_wandb", "wandb_project", "wandb_entity"].map((name): LegacyFlag => ({
    name,
    takesValue: name !== "log_to_wandb",
    with: "log_every",
    answer: "no Weights & Biases here: metrics go to OUT/train_log.jsonl and the report site",
  })),
  {
    name: "n_checkpoints",
    takesValue: true,
    with: "checkpoint_every",
    answer: "ignored: a checkpoint is written every --checkpoint_every steps, the latest kept",
  },
  {
    name: "d_in",
    takesValue: true,
    with: "block_layer",
    answer: "ignored: d_in is the width of the activations REVE gives",
  },
  ...["seq_len", "patch_size", "patch_overlap"].map((name): LegacyFlag => ({
    name,
    takesValue: true,
    with: "block_layer",
    answer: "ignored: taken from the data and REVE's config.json",
  })),
  {
    name: "pos_bank_name",
    takesValue: true,
    with: "model",
    answer: "ignored: electrode positions come from REVE's position bank shipped in data/",
  },
  {
    name: "class_token",
    takesValue: false,
    with: "block_layer",
    answer: "ignored: REVE has no class token; every (channel, patch) token is used",
  },
  {
    name: "dead_feature_threshold",
    takesValue: true,
    with: "dead_feature_window",
    answer: "ignored: a feature is dead when it has not fired for --dead_feature_window steps",
  },
];
