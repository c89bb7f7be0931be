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
 * - EEG lives once, in the trial store (`features/eeg/<k>.bin`): the preprocessed units the model
 *   saw (see `RunInfo.preprocessing`), quantised to int16 per trial and channel. Feature files refer
 *   to trials by index, so nothing grows with the number of features that share a trial.
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
  /** Dead features resampled since the previous row (runs with --resample_dead_every). */
  resampled?: number;
  /** Set on the rows of the decoder fine-tuning (runs with --finetuning_method decoder). */
  finetuning?: boolean;
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

/**
 * The trial store. Trial `i` is in chunk `floor(i / chunk_size)` of `features/eeg/<k>.bin` and
 * `features/trial_acts/<k>.json`; chunk `k` holds trials `k·chunk_size ..` up to `n_trials`.
 */
export interface TrialStoreLayout {
  chunk_size: number;
  n_chunks: number;
}

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
  /** Samples per trial in the trial store (at `sfreq`). */
  n_samples: number;
  /** How `trials.json`, `eeg/` and `trial_acts/` are chunked: every trial is in the store. */
  trial_store: TrialStoreLayout;
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
  /** Token (`c·n_patches + i`) where that max is. */
  token: number;
  /** Class index. */
  label: number;
  subject: number;
  /** Source key (LMDB key or `subject/session/trial`). */
  key: string;
  /**
   * Sparse feature activation per token: `[token, activation]` for every token where it fires,
   * by token; `null` past the first `site_top_trials` entries. The EEG is in the trial store.
   */
  token_acts: FeatureAct[] | null;
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
// features/trials.json, features/eeg/<k>.bin, features/trial_acts/<k>.json
// ---------------------------------------------------------------------------------------------

export interface ReconstructionMetrics {
  mse: number;
  cosine: number;
  l0: number;
}

/** `[feature id, activation]` (or `[token, activation]` where a field says so). */
export type FeatureAct = [number, number];

/** `features/trials.json`: every analysed trial, by index. */
export interface TrialTable {
  n_trials: number;
  labels: number[];
  subjects: number[];
  /** Source keys (LMDB key or `subject/session/trial`); the search box finds a trial by it. */
  keys: string[];
  /** Per trial `[mse, cosine, l0]` of the SAE reconstruction over its tokens. */
  reconstruction: [number, number, number][];
}

/** Top features by summed activation kept per trial, and how many of them carry an in-trial map. */
export const TRIAL_TOP_FEATURES = 64;
export const TRIAL_MAPPED_FEATURES = 16;
/** Levels of a quantised in-trial map: `value = q / MAP_LEVELS · max`. */
export const MAP_LEVELS = 255;

/** `[feature id, sum over the trial's tokens, max, tokens where it fires]`. */
export type TrialFeatureTotal = [number, number, number, number];

/** One trial's SAE activations, as the trial explorer shows them. */
export interface TrialActs {
  trial: number;
  /** Features that fire on at least one token of the trial. */
  n_active: number;
  /** The top `TRIAL_TOP_FEATURES` by sum, highest first. */
  top: TrialFeatureTotal[];
  /**
   * The rest of the rank/sum curve: `[rank (1-based), sum]` at log-spaced ranks after `top`,
   * the last active feature included, so the activation distribution is drawn in full.
   */
  tail: FeatureAct[];
  /** Strongest activation of each token `[C][p]` and the feature that has it (−1: none fires). */
  token_max: number[][];
  token_argmax: number[][];
  /** Per channel `[C]`, its top features (at most 10) summed over the channel's tokens. */
  channel_top: FeatureAct[][];
  /**
   * In-trial maps of the first `TRIAL_MAPPED_FEATURES` entries of `top`: per feature, its
   * activation on each token (`c·n_patches + i`) quantised as `q / MAP_LEVELS · top[j][2]`.
   */
  maps: number[][];
}

/** `features/trial_acts/<k>.json`: the trials of chunk `k`, in index order. */
export interface TrialActsChunk {
  chunk: number;
  chunk_size: number;
  trials: TrialActs[];
}

/**
 * `features/eeg/<k>.bin`: the preprocessed EEG (model input units, at `sfreq`) of chunk `k`'s `n`
 * trials, quantised for display. Little-endian: float32 scales `[n][C]`, then int16 `[n][C][T]`;
 * sample = int16 · scale (scale = max |x| / 32767 of that trial and channel).
 */
export interface EegChunk {
  n: number;
  channels: number;
  samples: number;
  scales: Float32Array;
  values: Int16Array;
}

export const EEG_QUANT_MAX = 32767;

/** Trials in chunk `k` of a store of `nTrials` trials. */
export function trialsInChunk(layout: TrialStoreLayout, nTrials: number, k: number): number {
  return Math.max(0, Math.min(layout.chunk_size, nTrials - k * layout.chunk_size));
}

/** Quantises `n` trials `[n][C][T]` into the bytes of an `eeg/<k>.bin` file. */
export function encodeEegChunk(
  eeg: Float32Array,
  n: number,
  channels: number,
  samples: number,
): Uint8Array {
  const rows = n * channels;
  if (eeg.length !== rows * samples) {
    throw new ReportSchemaError("eeg chunk", "eeg", `${rows * samples} values`, eeg.length);
  }
  const bytes = new Uint8Array(rows * 4 + rows * samples * 2);
  const view = new DataView(bytes.buffer);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let t = 0; t < samples; t++) max = Math.max(max, Math.abs(eeg[r * samples + t]));
    const scale = max > 0 ? max / EEG_QUANT_MAX : 1;
    view.setFloat32(r * 4, scale, true);
    const base = rows * 4 + r * samples * 2;
    for (let t = 0; t < samples; t++) {
      view.setInt16(base + t * 2, Math.round(eeg[r * samples + t] / scale), true);
    }
  }
  return bytes;
}

/** Reads an `eeg/<k>.bin` file of `n` trials; the size must match exactly. */
export function decodeEegChunk(
  bytes: Uint8Array,
  n: number,
  channels: number,
  samples: number,
  file = "features/eeg/<k>.bin",
): EegChunk {
  const rows = n * channels;
  const want = rows * 4 + rows * samples * 2;
  if (bytes.byteLength !== want) {
    throw new ReportSchemaError(
      file,
      "(bytes)",
      `${want} bytes (${n} trials × ${channels} channels × ${samples} samples)`,
      bytes.byteLength,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) scales[r] = view.getFloat32(r * 4, true);
  const values = new Int16Array(rows * samples);
  for (let i = 0; i < values.length; i++) values[i] = view.getInt16(rows * 4 + i * 2, true);
  return { n, channels, samples, scales, values };
}

/** Trial `j` of a decoded chunk as `[C][T]` in model input units. */
export function eegRows(chunk: EegChunk, j: number): number[][] {
  const { channels, samples } = chunk;
  return Array.from({ length: channels }, (_, c) => {
    const r = j * channels + c;
    const scale = chunk.scales[r];
    return Array.from(chunk.values.subarray(r * samples, (r + 1) * samples), (q) => q * scale);
  });
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
  strs(v: unknown, field: string, length?: number): string[] {
    const a = this.arr(v, field, length);
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
  if (o.resampled !== undefined) c.int(o.resampled, "resampled");
  if (o.finetuning !== undefined) c.bool(o.finetuning, "finetuning");
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
  c.int(o.n_samples, "n_samples", 1);
  const store = c.obj(o.trial_store, "trial_store");
  const chunkSize = c.int(store.chunk_size, "trial_store.chunk_size", 1);
  const wantChunks = Math.ceil((o.n_trials as number) / chunkSize);
  if (c.int(store.n_chunks, "trial_store.n_chunks") !== wantChunks) {
    c.fail(
      "trial_store.n_chunks",
      `${wantChunks} (n_trials / chunk_size, rounded up)`,
      store.n_chunks,
    );
  }
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
    const tokens = shape.n_channels * shape.n_patches;
    if (c.int(to.token, `${tt}.token`) >= tokens) {
      c.fail(`${tt}.token`, `a token < ${tokens}`, to.token);
    }
    if (to.token_acts !== null) {
      c.arr(to.token_acts, `${tt}.token_acts`).forEach((p, j) => {
        const [tok] = c.nums(p, `${tt}.token_acts[${j}]`, 2);
        if (!Number.isInteger(tok) || tok < 0 || tok >= tokens) {
          c.fail(`${tt}.token_acts[${j}][0]`, `a token index < ${tokens}`, tok);
        }
      });
    }
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

/** Validates a parsed `features/trials.json` against the index's trial count. */
export function validateTrialTable(
  value: unknown,
  shape: ReportShape,
  nTrials: number,
  file = "features/trials.json",
): TrialTable {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  if (c.int(o.n_trials, "n_trials") !== nTrials) c.fail("n_trials", `${nTrials}`, o.n_trials);
  c.nums(o.labels, "labels", nTrials).forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= shape.n_classes) {
      c.fail(`labels[${i}]`, `a class index < ${shape.n_classes}`, l);
    }
  });
  c.nums(o.subjects, "subjects", nTrials);
  c.strs(o.keys, "keys", nTrials);
  c.matrix(o.reconstruction, "reconstruction", nTrials, 3);
  return o as unknown as TrialTable;
}

function checkTrialActs(c: Checker, v: unknown, at: string, shape: ReportShape): void {
  const o = c.obj(v, at);
  c.int(o.trial, `${at}.trial`);
  const nActive = c.int(o.n_active, `${at}.n_active`);
  const top = c.arr(o.top, `${at}.top`);
  if (top.length > Math.min(nActive, TRIAL_TOP_FEATURES)) {
    c.fail(`${at}.top`, `at most ${Math.min(nActive, TRIAL_TOP_FEATURES)} entries`, top);
  }
  top.forEach((t, i) => c.nums(t, `${at}.top[${i}]`, 4));
  c.arr(o.tail, `${at}.tail`).forEach((t, i) => c.nums(t, `${at}.tail[${i}]`, 2));
  c.matrix(o.token_max, `${at}.token_max`, shape.n_channels, shape.n_patches);
  c.matrix(o.token_argmax, `${at}.token_argmax`, shape.n_channels, shape.n_patches);
  c.arr(o.channel_top, `${at}.channel_top`, shape.n_channels).forEach((row, ch) =>
    c.arr(row, `${at}.channel_top[${ch}]`).forEach((p, i) =>
      c.nums(p, `${at}.channel_top[${ch}][${i}]`, 2)
    )
  );
  const maps = c.arr(o.maps, `${at}.maps`);
  if (maps.length !== Math.min(top.length, TRIAL_MAPPED_FEATURES)) {
    c.fail(`${at}.maps`, `${Math.min(top.length, TRIAL_MAPPED_FEATURES)} maps`, maps);
  }
  maps.forEach((m, j) =>
    c.nums(m, `${at}.maps[${j}]`, shape.n_channels * shape.n_patches).forEach((q, i) => {
      if (!Number.isInteger(q) || q < 0 || q > MAP_LEVELS) {
        c.fail(`${at}.maps[${j}][${i}]`, `an integer in 0..${MAP_LEVELS}`, q);
      }
    })
  );
}

/** Validates a parsed `features/trial_acts/<k>.json`: chunk `k`'s trials, in order. */
export function validateTrialActsChunk(
  value: unknown,
  shape: ReportShape,
  layout: TrialStoreLayout,
  nTrials: number,
  file = "features/trial_acts/<k>.json",
): TrialActsChunk {
  const c = new Checker(file);
  const o = c.obj(value, "(root)");
  const k = c.int(o.chunk, "chunk");
  if (c.int(o.chunk_size, "chunk_size", 1) !== layout.chunk_size) {
    c.fail("chunk_size", `${layout.chunk_size} (the index's trial_store.chunk_size)`, o.chunk_size);
  }
  const n = trialsInChunk(layout, nTrials, k);
  c.arr(o.trials, "trials", n).forEach((t, j) => {
    checkTrialActs(c, t, `trials[${j}]`, shape);
    const want = k * layout.chunk_size + j;
    if ((t as TrialActs).trial !== want) {
      c.fail(`trials[${j}].trial`, `${want}`, (t as TrialActs).trial);
    }
  });
  return o as unknown as TrialActsChunk;
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

/** Paths of trial `i`'s store files relative to `features/`, and its row in them. */
export function trialStorePaths(layout: TrialStoreLayout, i: number) {
  const k = Math.floor(i / layout.chunk_size);
  return {
    chunk: k,
    row: i - k * layout.chunk_size,
    eeg: `eeg/${k}.bin`,
    acts: `trial_acts/${k}.json`,
  };
}

/** Path of the detail file holding feature `id`, relative to `features/`. */
export function featureFilePath(layout: FeatureFileLayout, id: number): string {
  return layout.kind === "per_feature"
    ? `f/${id}.json`
    : `chunks/${Math.floor(id / layout.chunk_size)}.json`;
}
