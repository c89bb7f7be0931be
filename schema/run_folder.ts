/**
 * The contract between the pipeline and the report site: every file the site reads from a run
 * folder (docs/ARCHITECTURE.md, "Run folder"), as TypeScript interfaces, with one `validate…`
 * function per file kind.
 *
 * Writers (train, features, probe) build these objects and write them with `writeJsonAtomic`;
 * the site reads them through the validators, which throw a `ReportSchemaError` naming the file,
 * the field path and what was expected, so a malformed run fails the build with a useful message.
 *
 * Conventions:
 * - Field names are snake_case, as in the earlier Python pipeline and SAELens.
 * - Matrices are nested arrays, row-major in the order named: `[C][p]` is channel-major, rows are
 *   channels in `FeatureIndex.channels` order, columns are time patches `0..n_patches-1`.
 * - `null` means "not computed" (e.g. a metric the run did not measure); absent optional fields too.
 * - Raw EEG in site files is in the preprocessed units the model saw (see `RunInfo.preprocessing`),
 *   rounded to 4 significant digits to keep files small.
 */
import { EegSaeError } from "../compute/util/errors.ts";

// ---------------------------------------------------------------------------------------------
// run.json
// ---------------------------------------------------------------------------------------------

/** `run.json`: what produced this run. Written once by the first stage (train or demo). */
export interface RunInfo {
  /** Run folder name (`runs/<name>`); shown as the site title. */
  name: string;
  /** ISO 8601 time the run started. */
  created_at: string;
  /** The command line, e.g. `deno task train --db_path ... --block_layer -2`. */
  command: string;
  /** Every flag value after defaults were applied (snake_case keys). */
  flags: Record<string, string | number | boolean | string[] | null>;
  /** Tool versions: at least `deno`; also `eeg_sae` (git commit) where known, `v8`, ... */
  versions: Record<string, string>;
  /** The WebGPU adapter the run used (`null` if it ran without a GPU). */
  adapter: AdapterInfo | null;
  data: DataSourceInfo;
  preprocessing: PreprocessingInfo;
  model: ModelInfo;
  /** Hook the SAE reads, e.g. `blocks.20.hook_resid_post`. */
  hook_name: string;
  /** The earlier Python pipeline's `block_layer` (may be negative: -2 = second-to-last). */
  block_layer: number;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export const DATA_SOURCE_KINDS = ["lmdb", "gdf", "recordings", "synthetic"] as const;
export type DataSourceKind = typeof DATA_SOURCE_KINDS[number];

export interface DataSourceInfo {
  kind: DataSourceKind;
  /** Path of the LMDB / GDF folder; `null` for synthetic data. */
  path: string | null;
  /** Dataset name, e.g. `BCIC2a`. */
  dataset: string;
  /** Subjects used (1-based ids as in the dataset). */
  subjects: number[];
  /** Sessions used, e.g. `["T", "E"]`. */
  sessions: string[];
  /** Split the features/probe were computed on, e.g. `test` or `all`. */
  split: string;
  n_trials: number;
  channels: string[];
  class_names: string[];
  /** Seed of the synthetic generator; `null` for recorded data. */
  seed: number | null;
}

export const SCALING_KINDS = ["zscore_clip15", "uv_div100"] as const;
export type ScalingKind = typeof SCALING_KINDS[number];

export interface PreprocessingInfo {
  /** Sampling rate after resampling (Hz); REVE expects 200. */
  sfreq: number;
  /** Sampling rate of the source before resampling (Hz). */
  source_sfreq: number;
  /** `zscore_clip15`: per-channel z-score over the session clipped at ±15; `uv_div100`: µV/100. */
  scaling: ScalingKind;
  /** Trial window relative to the cue, seconds `[start, end)`. */
  window_s: [number, number];
  /** Samples per trial after preprocessing (T). */
  n_samples: number;
}

export interface ModelInfo {
  /** Folder holding `config.json` and `model.safetensors`. */
  path: string;
  /** REVE config, `config.json` keys (docs/ARCHITECTURE.md, "REVE"). */
  config: Record<string, number | boolean | string>;
  /** True when the weights were randomly initialised (tests, demo without weights). */
  random_weights: boolean;
}

// ---------------------------------------------------------------------------------------------
// sae/cfg.json
// ---------------------------------------------------------------------------------------------

/** As SAELens names them: "standard" is the ReLU SAE (ours also writes `training_architecture`). */
export const SAE_CFG_ARCHITECTURES = ["standard", "relu", "topk", "batchtopk", "jumprelu"] as const;
export type SaeCfgArchitecture = typeof SAE_CFG_ARCHITECTURES[number];

/** `sae/cfg.json`: SAELens keys where they exist, plus ours. Unknown keys are kept. */
export interface SaeCfg {
  d_in: number;
  d_sae: number;
  architecture: SaeCfgArchitecture;
  hook_name: string;
  hook_layer: number;
  model_name: string;
  dtype: string;
  device: string;
  apply_b_dec_to_input: boolean;
  normalize_activations: string;
  context_size?: number;
  expansion_factor?: number;
  l1_coefficient?: number;
  lr?: number;
  k?: number;
  total_training_tokens?: number;
  use_ghost_grads?: boolean;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// train_log.jsonl
// ---------------------------------------------------------------------------------------------

/** The log10 feature-density histogram of a log step (fraction of tokens each feature fires on). */
export interface FeatureDensity {
  /** Lower edge (log10) of each bin. */
  log10_bins: number[];
  counts: number[];
  /** Features that never fired in the window. */
  never: number;
}

/** One line of `train_log.jsonl`, written by the SAE trainer at each log step (names as in
 * compute/sae/trainer.ts). Metrics an architecture does not have may be absent or `null`. */
export interface TrainLogRow {
  step: number;
  /** Tokens seen so far. */
  tokens: number;
  lr: number;
  l1_coefficient: number;
  loss: number;
  mse_loss: number;
  sparsity_loss?: number | null;
  /** Ghost-gradient or AuxK loss. */
  aux_loss?: number | null;
  /** Mean number of active features per token. */
  l0: number;
  l1?: number | null;
  /** Centred explained variance over the batch. */
  explained_variance: number;
  /** The per-token (legacy) explained variance, named as such. */
  explained_variance_legacy?: number | null;
  cosine_similarity?: number | null;
  /** ‖x̂‖/‖x‖. */
  norm_ratio?: number | null;
  /** Fraction of features that did not fire in the dead-feature window. */
  dead_fraction: number;
  tokens_per_second?: number | null;
  feature_density?: FeatureDensity;
  /** Set while explained variance is below 0 after a tenth of the run. */
  warning?: string;
}

// ---------------------------------------------------------------------------------------------
// features/index.json
// ---------------------------------------------------------------------------------------------

/** A frequency band of the spectral signature. */
export interface BandDef {
  name: string;
  /** Hz, `[low, high)`. */
  range: [number, number];
}

export const FEATURE_FILE_LAYOUT_KINDS = [
  "per_feature",
  "chunks",
] as const satisfies readonly FeatureFileLayout["kind"][];

/** How the per-feature detail files are laid out under `features/`. */
export type FeatureFileLayout =
  /** `features/f/<id>.json`, one `FeatureDetail` each. */
  | { kind: "per_feature" }
  /** `features/chunks/<floor(id / chunk_size)>.json`, one `FeatureChunk` each. */
  | { kind: "chunks"; chunk_size: number };

/** One row of the feature table: enough for the overview scatter, search and class tables. */
export interface FeatureSummary {
  id: number;
  /** Fired at least once on the analysed set. */
  alive: boolean;
  /** Fraction of tokens where the feature fires (> 0). */
  sparsity: number;
  /** Fraction of trials with at least one firing token. */
  trial_sparsity: number;
  /** Mean activation over all tokens (zeros included). */
  mean_act: number;
  max_act: number;
  /** Label entropy over its top trials (bits); low = class-selective. `null` if dead. */
  class_entropy_top: number | null;
  /** Label entropy of its activation mass over all trials (bits). `null` if dead. */
  class_entropy_all: number | null;
  /** Mean activation per class, in `class_names` order. */
  per_class_mean: number[];
  /** Index into `class_names` of the highest per-class mean; `null` if dead. */
  top_class: number | null;
  /** Index into `channels` of the highest channel mean; `null` if dead. */
  top_channel: number | null;
  /** Name of the band with the highest ratio in the spectral signature; `null` if unknown. */
  dominant_band: string | null;
}

/** `features/index.json`. */
export interface FeatureIndex {
  d_sae: number;
  n_alive: number;
  class_names: string[];
  channels: string[];
  /** Time patches per channel (p). */
  n_patches: number;
  /** Sampling rate of the trials in the site files (Hz). */
  sfreq: number;
  /** Samples per patch and step between patches (`patch_size - patch_overlap`). */
  patch_size: number;
  patch_step: number;
  n_trials: number;
  /** Trial indices that have a `features/trials/<i>.json` file. */
  trial_files: number[];
  bands: BandDef[];
  layout: FeatureFileLayout;
  /** Reconstruction over the analysed set. */
  reconstruction: ReconstructionMetrics & { explained_variance: number; dead_fraction: number };
  /** All `d_sae` features, sorted by id. */
  features: FeatureSummary[];
}

// ---------------------------------------------------------------------------------------------
// features/f/<id>.json and features/chunks/<k>.json
// ---------------------------------------------------------------------------------------------

export interface Histogram {
  /** Bin edges (`n + 1` values); `log10` tells whether they are log10(activation). */
  edges: number[];
  counts: number[];
  log10: boolean;
  /** Tokens where the feature was 0 (not in the bins). */
  zero_count: number;
}

export interface SpectralSignatureJson {
  /** Band name → band power at the top activations / dataset average band power (1 = average). */
  bands: Record<string, number>;
  /** Band name → per-channel ratio `[C]` (optional). */
  per_channel?: Record<string, number[]>;
}

export interface TopTrial {
  /** Trial index in the analysed set (stable id used by `/trials/<index>/`). */
  trial: number;
  /** Max activation of the feature in this trial. */
  value: number;
  /** Class index. */
  label: number;
  subject: number;
  /** Source key (LMDB key or `subject/session/trial`). */
  key: string;
  /** Feature activation per token `[C][p]`. */
  token_acts: number[][];
  /** Raw EEG `[C][T]` (4 significant digits), or `null` when only in `trials/<trial>.json`. */
  eeg: number[][] | null;
}

export interface Neighbour {
  id: number;
  /** Cosine of the decoder directions. */
  cosine: number;
}

/** Everything one feature page shows. */
export interface FeatureDetail {
  id: number;
  alive: boolean;
  histogram: Histogram;
  per_class_mean: number[];
  /** Mean activation per channel and time patch `[C][p]`. */
  channel_patch_mean: number[][];
  spectral: SpectralSignatureJson;
  /** Sorted by `value`, highest first. */
  top_trials: TopTrial[];
  /** Closest decoder directions, highest cosine first. */
  neighbours: Neighbour[];
}

/** `features/chunks/<k>.json`: features `k·chunk_size ..` that are alive, sorted by id. */
export interface FeatureChunk {
  chunk: number;
  chunk_size: number;
  features: FeatureDetail[];
}

// ---------------------------------------------------------------------------------------------
// features/trials/<i>.json
// ---------------------------------------------------------------------------------------------

export interface ReconstructionMetrics {
  mse: number;
  cosine: number;
  l0: number;
}

/** `[feature id, activation]`. */
export type FeatureAct = [number, number];

export interface TrialFeatureTotal {
  id: number;
  /** Sum of activations over the trial's tokens. */
  sum: number;
  max: number;
  /** Tokens where it fires. */
  n_tokens: number;
}

/** `features/trials/<i>.json`: the trial explorer page. */
export interface TrialDetail {
  trial: number;
  label: number;
  subject: number;
  key: string;
  /** Raw EEG `[C][T]` (4 significant digits). */
  eeg: number[][];
  /** Per token `[C][p]`, its top SAE features (at most 5), highest first. */
  token_top_features: FeatureAct[][][];
  /** Every feature active in the trial, by `sum` descending (the activation distribution). */
  feature_totals: TrialFeatureTotal[];
  /** Per channel `[C]`, its top features summed over the channel's tokens (at most 10). */
  channel_top_features: FeatureAct[][];
  reconstruction: ReconstructionMetrics;
}

// ---------------------------------------------------------------------------------------------
// probe/*.json
// ---------------------------------------------------------------------------------------------

export interface ProbeMetrics {
  accuracy: number;
  balanced_accuracy: number;
  kappa: number;
  weighted_f1: number;
  /** `[true class][predicted class]` counts. */
  confusion: number[][];
}

export const PROBE_PROTOCOL_KINDS = [
  "loso",
  "all_subjects",
  "cbramod_split",
  "within_subject_cv",
] as const;
export type ProbeProtocolKind = typeof PROBE_PROTOCOL_KINDS[number];

export interface ProbeProtocol {
  kind: ProbeProtocolKind;
  /** Human-readable, e.g. "train subjects 1–5, validate 6–7, test 8–9". */
  description: string;
  train_subjects: number[];
  val_subjects: number[];
  test_subjects: number[];
}

export type ProbeInput = "sae_mean" | "sae_max" | "sae_mean_max" | "reve_mean" | string;

export interface ProbeFold {
  fold: number;
  test_subjects: number[];
  metrics: ProbeMetrics;
}

export interface TopKPointJson {
  /** Features kept per class; `null` = all features. */
  k: number | null;
  /** Size of the union over classes. */
  n_features: number;
  accuracy: number;
  balanced_accuracy: number;
}

/** How top-K features were ranked: `mean` or `selectivity`; `oracle` must be labelled as such. */
export const TOPK_RANKINGS = ["mean", "selectivity", "oracle"] as const;
export type TopKRanking = typeof TOPK_RANKINGS[number];

export interface TopKCurve {
  ranking: TopKRanking;
  points: TopKPointJson[];
}

export interface SplicedEvaluation {
  /** Probe on the original activations. */
  original: ProbeMetrics;
  /** The same probe on SAE reconstructions. */
  spliced: ProbeMetrics;
}

/** A published number to draw for comparison. */
export interface ProbeAnchor {
  label: string;
  balanced_accuracy: number;
  source: string;
}

/** `probe/<name>.json`. */
export interface ProbeResult {
  name: string;
  input: ProbeInput;
  protocol: ProbeProtocol;
  class_names: string[];
  /** Regularisation, solver, convergence: every setting that produced the result. */
  settings: Record<string, string | number | boolean | null>;
  converged: boolean;
  /** Mean over folds (or the single test split). */
  metrics: ProbeMetrics;
  /** Standard deviation over folds; `null` for one split. */
  metrics_std: { accuracy: number; balanced_accuracy: number } | null;
  folds: ProbeFold[];
  topk: TopKCurve[];
  spliced: SplicedEvaluation | null;
  anchor: ProbeAnchor | null;
}

/** REVE-base's published frozen linear probe on BCIC2a, drawn when a probe file has no anchor. */
export const REVE_LINEAR_PROBE_ANCHOR: ProbeAnchor = {
  label: "REVE-base frozen linear probe",
  balanced_accuracy: 0.517,
  source: "REVE paper, BCIC2a linear probing",
};

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export class ReportSchemaError extends EegSaeError {
  constructor(
    readonly file: string,
    readonly field: string,
    expected: string,
    got: unknown,
    options?: ErrorOptions,
  ) {
    super(`${file}: field "${field}" must be ${expected}, got ${describe(got)}`, options);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 60 ? s.slice(0, 57) + "..." : s}`;
}

/** Field checks that share the file name and report the dotted field path. */
class Checker {
  constructor(readonly file: string) {}

  fail(field: string, expected: string, got: unknown): never {
    throw new ReportSchemaError(this.file, field, expected, got);
  }
  obj(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "an object", v);
    return v as Record<string, unknown>;
  }
  num(v: unknown, field: string): number {
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(field, "a finite number", v);
    return v;
  }
  int(v: unknown, field: string, min = 0): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      this.fail(field, `an integer ≥ ${min}`, v);
    }
    return v;
  }
  numOrNull(v: unknown, field: string): number | null {
    return v === null ? null : this.num(v, field);
  }
  str(v: unknown, field: string): string {
    if (typeof v !== "string") this.fail(field, "a string", v);
    return v;
  }
  bool(v: unknown, field: string): boolean {
    if (typeof v !== "boolean") this.fail(field, "true or false", v);
    return v;
  }
  arr(v: unknown, field: string, length?: number): unknown[] {
    if (!Array.isArray(v)) this.fail(field, "an array", v);
    if (length !== undefined && v.length !== length) {
      this.fail(field, `an array of length ${length}`, v);
    }
    return v;
  }
  nums(v: unknown, field: string, length?: number): number[] {
    const a = this.arr(v, field, length);
    a.forEach((x, i) => this.num(x, `${field}[${i}]`));
    return a as number[];
  }
  strs(v: unknown, field: string): string[] {
    const a = this.arr(v, field);
    a.forEach((x, i) => this.str(x, `${field}[${i}]`));
    return a as string[];
  }
  /** A `[rows][cols]` matrix of finite numbers. */
  matrix(v: unknown, field: string, rows: number, cols?: number): number[][] {
    const a = this.arr(v, field, rows);
    a.forEach((row, i) => this.nums(row, `${field}[${i}]`, cols));
    return a as number[][];
  }
  oneOf<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
    if (typeof v !== "string" || !choices.includes(v as T)) {
      this.fail(field, `one of ${choices.join(", ")}`, v);
    }
    return v as T;
  }
}

/** Validates a parsed `run.json`. */
export function validateRunInfo(value: unknown, file = "run.json"): RunInfo {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  c.str(o.name, "name");
  c.str(o.created_at, "created_at");
  c.str(o.command, "command");
  c.obj(o.flags, "flags");
  const versions = c.obj(o.versions, "versions");
  for (const [k, v] of Object.entries(versions)) c.str(v, `versions.${k}`);
  if (o.adapter !== null) {
    const a = c.obj(o.adapter, "adapter");
    for (const k of ["vendor", "architecture", "device", "description"]) {
      c.str(a[k], `adapter.${k}`);
    }
  }
  const d = c.obj(o.data, "data");
  c.oneOf(d.kind, "data.kind", DATA_SOURCE_KINDS);
  if (d.path !== null) c.str(d.path, "data.path");
  c.str(d.dataset, "data.dataset");
  c.nums(d.subjects, "data.subjects");
  c.strs(d.sessions, "data.sessions");
  c.str(d.split, "data.split");
  c.int(d.n_trials, "data.n_trials");
  c.strs(d.channels, "data.channels");
  c.strs(d.class_names, "data.class_names");
  if (d.seed !== null) c.num(d.seed, "data.seed");
  const p = c.obj(o.preprocessing, "preprocessing");
  c.num(p.sfreq, "preprocessing.sfreq");
  c.num(p.source_sfreq, "preprocessing.source_sfreq");
  c.oneOf(p.scaling, "preprocessing.scaling", SCALING_KINDS);
  c.nums(p.window_s, "preprocessing.window_s", 2);
  c.int(p.n_samples, "preprocessing.n_samples", 1);
  const m = c.obj(o.model, "model");
  c.str(m.path, "model.path");
  c.obj(m.config, "model.config");
  c.bool(m.random_weights, "model.random_weights");
  c.str(o.hook_name, "hook_name");
  c.int(o.block_layer, "block_layer", -1000);
  return o as unknown as RunInfo;
}

/** Validates a parsed `sae/cfg.json`. */
export function validateSaeCfg(value: unknown, file = "sae/cfg.json"): SaeCfg {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  c.int(o.d_in, "d_in", 1);
  c.int(o.d_sae, "d_sae", 1);
  c.oneOf(o.architecture, "architecture", SAE_CFG_ARCHITECTURES);
  c.str(o.hook_name, "hook_name");
  c.int(o.hook_layer, "hook_layer");
  c.str(o.model_name, "model_name");
  c.str(o.dtype, "dtype");
  c.str(o.device, "device");
  c.bool(o.apply_b_dec_to_input, "apply_b_dec_to_input");
  c.str(o.normalize_activations, "normalize_activations");
  return o as unknown as SaeCfg;
}

/** Validates one parsed row of `train_log.jsonl` (`line` is 1-based, for the message). */
export function validateTrainLogRow(
  value: unknown,
  file = "train_log.jsonl",
  line = 1,
): TrainLogRow {
  const c = new Checker(`${file}:${line}`);
  const o = c.obj(value, "(row)");
  c.int(o.step, "step");
  c.int(o.tokens, "tokens");
  for (
    const k of ["lr", "l1_coefficient", "loss", "mse_loss", "l0", "explained_variance"]
  ) c.num(o[k], k);
  c.num(o.dead_fraction, "dead_fraction");
  for (
    const k of [
      "sparsity_loss",
      "aux_loss",
      "l1",
      "explained_variance_legacy",
      "cosine_similarity",
      "norm_ratio",
      "tokens_per_second",
    ]
  ) if (o[k] !== undefined) c.numOrNull(o[k], k);
  if (o.warning !== undefined) c.str(o.warning, "warning");
  if (o.feature_density !== undefined) {
    const d = c.obj(o.feature_density, "feature_density");
    const bins = c.nums(d.log10_bins, "feature_density.log10_bins");
    c.nums(d.counts, "feature_density.counts", bins.length);
    c.int(d.never, "feature_density.never");
  }
  return o as unknown as TrainLogRow;
}

/** Parses and validates the whole `train_log.jsonl` text (blank lines are skipped). */
export function parseTrainLog(text: string, file = "train_log.jsonl"): TrainLogRow[] {
  const rows: TrainLogRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new ReportSchemaError(`${file}:${i + 1}`, "(row)", "valid JSON", (e as Error).message, {
        cause: e,
      });
    }
    rows.push(validateTrainLogRow(parsed, file, i + 1));
  });
  return rows;
}

/** Validates a parsed `features/index.json`, including every summary row against the header. */
export function validateFeatureIndex(value: unknown, file = "features/index.json"): FeatureIndex {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  const dSae = c.int(o.d_sae, "d_sae", 1);
  c.int(o.n_alive, "n_alive");
  const classes = c.strs(o.class_names, "class_names");
  const channels = c.strs(o.channels, "channels");
  c.int(o.n_patches, "n_patches", 1);
  c.num(o.sfreq, "sfreq");
  c.int(o.patch_size, "patch_size", 1);
  c.int(o.patch_step, "patch_step", 1);
  c.int(o.n_trials, "n_trials");
  c.nums(o.trial_files, "trial_files");
  c.arr(o.bands, "bands").forEach((b, i) => {
    const bo = c.obj(b, `bands[${i}]`);
    c.str(bo.name, `bands[${i}].name`);
    c.nums(bo.range, `bands[${i}].range`, 2);
  });
  const layout = c.obj(o.layout, "layout");
  const kind = c.oneOf(layout.kind, "layout.kind", FEATURE_FILE_LAYOUT_KINDS);
  if (kind === "chunks") c.int(layout.chunk_size, "layout.chunk_size", 1);
  const r = c.obj(o.reconstruction, "reconstruction");
  for (const k of ["mse", "cosine", "l0", "explained_variance", "dead_fraction"]) {
    c.num(r[k], `reconstruction.${k}`);
  }
  const features = c.arr(o.features, "features", dSae);
  let alive = 0;
  features.forEach((f, i) => {
    const at = `features[${i}]`;
    const fo = c.obj(f, at);
    if (c.int(fo.id, `${at}.id`) !== i) c.fail(`${at}.id`, `${i} (rows sorted by id)`, fo.id);
    if (c.bool(fo.alive, `${at}.alive`)) alive++;
    for (const k of ["sparsity", "trial_sparsity", "mean_act", "max_act"]) {
      c.num(fo[k], `${at}.${k}`);
    }
    c.numOrNull(fo.class_entropy_top, `${at}.class_entropy_top`);
    c.numOrNull(fo.class_entropy_all, `${at}.class_entropy_all`);
    c.nums(fo.per_class_mean, `${at}.per_class_mean`, classes.length);
    if (fo.top_class !== null && c.int(fo.top_class, `${at}.top_class`) >= classes.length) {
      c.fail(`${at}.top_class`, `a class index < ${classes.length}`, fo.top_class);
    }
    if (fo.top_channel !== null && c.int(fo.top_channel, `${at}.top_channel`) >= channels.length) {
      c.fail(`${at}.top_channel`, `a channel index < ${channels.length}`, fo.top_channel);
    }
    if (fo.dominant_band !== null) c.str(fo.dominant_band, `${at}.dominant_band`);
  });
  if (alive !== o.n_alive) c.fail("n_alive", `${alive} (the number of alive rows)`, o.n_alive);
  return o as unknown as FeatureIndex;
}

/** The shape a feature/trial file must have, taken from the index. */
export interface ReportShape {
  n_classes: number;
  n_channels: number;
  n_patches: number;
}

export function shapeOf(index: FeatureIndex): ReportShape {
  return {
    n_classes: index.class_names.length,
    n_channels: index.channels.length,
    n_patches: index.n_patches,
  };
}

function checkFeatureDetail(c: Checker, v: unknown, at: string, shape: ReportShape): void {
  const o = c.obj(v, at);
  c.int(o.id, `${at}.id`);
  c.bool(o.alive, `${at}.alive`);
  const h = c.obj(o.histogram, `${at}.histogram`);
  const edges = c.nums(h.edges, `${at}.histogram.edges`);
  c.nums(h.counts, `${at}.histogram.counts`, Math.max(0, edges.length - 1));
  c.bool(h.log10, `${at}.histogram.log10`);
  c.int(h.zero_count, `${at}.histogram.zero_count`);
  c.nums(o.per_class_mean, `${at}.per_class_mean`, shape.n_classes);
  c.matrix(o.channel_patch_mean, `${at}.channel_patch_mean`, shape.n_channels, shape.n_patches);
  const s = c.obj(o.spectral, `${at}.spectral`);
  const bands = c.obj(s.bands, `${at}.spectral.bands`);
  for (const [k, x] of Object.entries(bands)) c.num(x, `${at}.spectral.bands.${k}`);
  if (s.per_channel !== undefined) {
    const pc = c.obj(s.per_channel, `${at}.spectral.per_channel`);
    for (const [k, x] of Object.entries(pc)) {
      c.nums(x, `${at}.spectral.per_channel.${k}`, shape.n_channels);
    }
  }
  c.arr(o.top_trials, `${at}.top_trials`).forEach((t, i) => {
    const tt = `${at}.top_trials[${i}]`;
    const to = c.obj(t, tt);
    c.int(to.trial, `${tt}.trial`);
    c.num(to.value, `${tt}.value`);
    if (c.int(to.label, `${tt}.label`) >= shape.n_classes) {
      c.fail(`${tt}.label`, `a class index < ${shape.n_classes}`, to.label);
    }
    c.int(to.subject, `${tt}.subject`);
    c.str(to.key, `${tt}.key`);
    c.matrix(to.token_acts, `${tt}.token_acts`, shape.n_channels, shape.n_patches);
    if (to.eeg !== null) c.matrix(to.eeg, `${tt}.eeg`, shape.n_channels);
  });
  c.arr(o.neighbours, `${at}.neighbours`).forEach((n, i) => {
    const no = c.obj(n, `${at}.neighbours[${i}]`);
    c.int(no.id, `${at}.neighbours[${i}].id`);
    c.num(no.cosine, `${at}.neighbours[${i}].cosine`);
  });
}

/** Validates a parsed `features/f/<id>.json`. */
export function validateFeatureDetail(
  value: unknown,
  shape: ReportShape,
  file = "features/f/<id>.json",
): FeatureDetail {
  const c = new Checker(file);
  checkFeatureDetail(c, value, "(root)", shape);
  return value as FeatureDetail;
}

/** Validates a parsed `features/chunks/<k>.json`: every feature belongs to chunk `k`. */
export function validateFeatureChunk(
  value: unknown,
  shape: ReportShape,
  file = "features/chunks/<k>.json",
): FeatureChunk {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  const k = c.int(o.chunk, "chunk");
  const size = c.int(o.chunk_size, "chunk_size", 1);
  c.arr(o.features, "features").forEach((f, i) => {
    checkFeatureDetail(c, f, `features[${i}]`, shape);
    const id = (f as FeatureDetail).id;
    if (Math.floor(id / size) !== k) {
      c.fail(`features[${i}].id`, `an id in [${k * size}, ${(k + 1) * size})`, id);
    }
  });
  return o as unknown as FeatureChunk;
}

/** Validates a parsed `features/trials/<i>.json`. */
export function validateTrialDetail(
  value: unknown,
  shape: ReportShape,
  file = "features/trials/<i>.json",
): TrialDetail {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  c.int(o.trial, "trial");
  if (c.int(o.label, "label") >= shape.n_classes) {
    c.fail("label", `a class index < ${shape.n_classes}`, o.label);
  }
  c.int(o.subject, "subject");
  c.str(o.key, "key");
  c.matrix(o.eeg, "eeg", shape.n_channels);
  const pairs = (v: unknown, field: string) =>
    c.arr(v, field).forEach((p, i) => c.nums(p, `${field}[${i}]`, 2));
  c.arr(o.token_top_features, "token_top_features", shape.n_channels).forEach((row, ch) =>
    c.arr(row, `token_top_features[${ch}]`, shape.n_patches).forEach((cell, i) =>
      pairs(cell, `token_top_features[${ch}][${i}]`)
    )
  );
  c.arr(o.feature_totals, "feature_totals").forEach((t, i) => {
    const to = c.obj(t, `feature_totals[${i}]`);
    c.int(to.id, `feature_totals[${i}].id`);
    c.num(to.sum, `feature_totals[${i}].sum`);
    c.num(to.max, `feature_totals[${i}].max`);
    c.int(to.n_tokens, `feature_totals[${i}].n_tokens`);
  });
  c.arr(o.channel_top_features, "channel_top_features", shape.n_channels).forEach((row, ch) =>
    pairs(row, `channel_top_features[${ch}]`)
  );
  const r = c.obj(o.reconstruction, "reconstruction");
  for (const k of ["mse", "cosine", "l0"]) c.num(r[k], `reconstruction.${k}`);
  return o as unknown as TrialDetail;
}

function checkProbeMetrics(c: Checker, v: unknown, at: string, nClasses: number): void {
  const o = c.obj(v, at);
  for (const k of ["accuracy", "balanced_accuracy", "kappa", "weighted_f1"]) {
    c.num(o[k], `${at}.${k}`);
  }
  c.matrix(o.confusion, `${at}.confusion`, nClasses, nClasses);
}

/** Validates a parsed `probe/<name>.json`. */
export function validateProbeResult(value: unknown, file = "probe/<name>.json"): ProbeResult {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  c.str(o.name, "name");
  c.str(o.input, "input");
  const p = c.obj(o.protocol, "protocol");
  c.oneOf(p.kind, "protocol.kind", PROBE_PROTOCOL_KINDS);
  c.str(p.description, "protocol.description");
  c.nums(p.train_subjects, "protocol.train_subjects");
  c.nums(p.val_subjects, "protocol.val_subjects");
  c.nums(p.test_subjects, "protocol.test_subjects");
  const n = c.strs(o.class_names, "class_names").length;
  c.obj(o.settings, "settings");
  c.bool(o.converged, "converged");
  checkProbeMetrics(c, o.metrics, "metrics", n);
  if (o.metrics_std !== null) {
    const s = c.obj(o.metrics_std, "metrics_std");
    c.num(s.accuracy, "metrics_std.accuracy");
    c.num(s.balanced_accuracy, "metrics_std.balanced_accuracy");
  }
  c.arr(o.folds, "folds").forEach((f, i) => {
    const fo = c.obj(f, `folds[${i}]`);
    c.int(fo.fold, `folds[${i}].fold`);
    c.nums(fo.test_subjects, `folds[${i}].test_subjects`);
    checkProbeMetrics(c, fo.metrics, `folds[${i}].metrics`, n);
  });
  c.arr(o.topk, "topk").forEach((t, i) => {
    const to = c.obj(t, `topk[${i}]`);
    c.oneOf(to.ranking, `topk[${i}].ranking`, TOPK_RANKINGS);
    c.arr(to.points, `topk[${i}].points`).forEach((pt, j) => {
      const at = `topk[${i}].points[${j}]`;
      const po = c.obj(pt, at);
      if (po.k !== null) c.int(po.k, `${at}.k`, 1);
      c.int(po.n_features, `${at}.n_features`);
      c.num(po.accuracy, `${at}.accuracy`);
      c.num(po.balanced_accuracy, `${at}.balanced_accuracy`);
    });
  });
  if (o.spliced !== null) {
    const s = c.obj(o.spliced, "spliced");
    checkProbeMetrics(c, s.original, "spliced.original", n);
    checkProbeMetrics(c, s.spliced, "spliced.spliced", n);
  }
  if (o.anchor !== null) {
    const a = c.obj(o.anchor, "anchor");
    c.str(a.label, "anchor.label");
    c.num(a.balanced_accuracy, "anchor.balanced_accuracy");
    c.str(a.source, "anchor.source");
  }
  return o as unknown as ProbeResult;
}

/** Path of the detail file holding feature `id`, relative to `features/`. */
export function featureFilePath(layout: FeatureFileLayout, id: number): string {
  return layout.kind === "per_feature"
    ? `f/${id}.json`
    : `chunks/${Math.floor(id / layout.chunk_size)}.json`;
}
