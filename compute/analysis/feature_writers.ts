/**
 * Writes a feature analysis: `feature_data.npz` (the earlier Python pipeline's four arrays under their names, plus
 * everything else) and the report site's JSON (`index.json`, per-feature or chunked detail files,
 * trial pages) in the shapes of schema/run_folder.ts.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { f32, i32, i64, type NdArray, str } from "../io/npy.ts";
import { writeNpz } from "../io/npz.ts";
import type { TrialSet } from "../data/trials.ts";
import { trialReconstruction } from "./feature_stats.ts";
import { histogramEdges } from "../../kernels/feature_stats_layout.ts";
import type { FeatureAnalysis, TrialActivations } from "./features.ts";
import { EEG_BANDS } from "./spectral.ts";
import {
  type FeatureChunk,
  type FeatureDetail,
  type FeatureFileLayout,
  type FeatureIndex,
  type FeatureSummary,
  type TopTrial,
  type TrialDetail,
} from "../../schema/run_folder.ts";

export interface FeatureWriteOptions {
  classNames: string[];
  /** Top trials shown per feature page. */
  siteTopTrials: number;
  /** Decoder-direction neighbours per alive feature, [F] (empty lists for dead features). */
  neighbours: { id: number; cosine: number }[][];
  /** Detail files in chunks of this many feature ids when d_sae exceeds it; 0: one file each. */
  chunkSize: number;
  /** Written into the npz as `settings_json`. */
  settings: Record<string, unknown>;
}

/** Site files are compact JSON (no indentation): EEG traces make pretty-printed files balloon. */
function writeCompactJson(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value));
}

/** Rounds to 4 significant digits (site files stay small). */
export function round4(v: number): number {
  return v === 0 || !Number.isFinite(v) ? 0 : Number(v.toPrecision(4));
}

function scalar(v: number): NdArray {
  return f32(new Float32Array([v]), []);
}

/** `feature_data.npz`. */
export function featureDataArrays(a: FeatureAnalysis, set: TrialSet, classNames: string[]) {
  const s = a.stats;
  const { dSae: f, topK: k, nClasses, channels, patches } = s;
  const nb = EEG_BANDS.length;
  const spectral = new Float32Array(f * nb);
  const channelSpectral = new Float32Array(f * channels * nb);
  a.spectral.forEach((sig, feat) => {
    if (!sig) return;
    spectral.set(sig.ratio, feat * nb);
    sig.channelRatio.forEach((row, c) => channelSpectral.set(row, (feat * channels + c) * nb));
  });
  const trialRecon = new Float32Array(set.n * 3);
  for (let i = 0; i < set.n; i++) {
    const r = trialReconstruction(a.reconstructionTotals, i, channels * patches);
    trialRecon.set([r.mse, r.cosine, r.l0], i * 3);
  }
  const arrays: Record<string, NdArray> = {
    feature_mean_acts: f32(s.meanActs, [f]),
    feature_sparsity: f32(s.sparsity, [f]),
    per_class_mean_acts: f32(s.perClassMeanActs, [nClasses, f]),
    top_activating_trial_indices: i64(Array.from(s.topTrials), [f, k]),
    top_activating_values: f32(s.topValues, [f, k]),
    top_activating_tokens: i32(s.topTokens, [f, k]),
    top_activating_token_acts: f32(a.topTokenActs, [f, k, channels, patches]),
    feature_trial_sparsity: f32(s.trialSparsity, [f]),
    feature_max_acts: f32(s.maxActs, [f]),
    feature_alive: { dtype: "b1", shape: [f], data: Uint8Array.from(s.alive) },
    channel_patch_mean_acts: f32(s.channelPatchMeans, [f, channels, patches]),
    label_entropy_top: f32(s.labelEntropyTop, [f]),
    label_entropy_all: f32(s.labelEntropyAll, [f]),
    activation_histogram: i64(Array.from(s.histogram), [f, s.histogram.length / f]),
    activation_histogram_log10_edges: f32(Float32Array.from(histogramEdges())),
    spectral_band_ratio: f32(spectral, [f, nb]),
    spectral_channel_band_ratio: f32(channelSpectral, [f, channels, nb]),
    band_names: str(EEG_BANDS.map((b) => b.name)),
    band_edges_hz: f32(Float32Array.from(EEG_BANDS.flatMap((b) => [b.lowHz, b.highHz])), [nb, 2]),
    class_names: str(classNames),
    channel_names: str(set.channels),
    trial_labels: i32(set.labels),
    trial_subjects: i32(set.subjects),
    trial_keys: str(set.keys),
    trial_reconstruction_mse_cosine_l0: f32(trialRecon, [set.n, 3]),
    reconstruction_mse: scalar(a.reconstruction.mse),
    reconstruction_explained_variance: scalar(a.reconstruction.explainedVariance),
    reconstruction_cosine: scalar(a.reconstruction.cosine),
    reconstruction_l0: scalar(a.reconstruction.l0),
    dead_fraction: scalar(a.reconstruction.deadFraction),
  };
  return arrays;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function eegRows(set: TrialSet, trial: number): number[][] {
  const c = set.channels.length;
  const per = c * set.samples;
  return Array.from({ length: c }, (_, ch) =>
    Array.from(
      set.eeg.subarray(trial * per + ch * set.samples, trial * per + (ch + 1) * set.samples),
      round4,
    ));
}

function featureSummary(a: FeatureAnalysis, feat: number): FeatureSummary {
  const s = a.stats;
  const alive = s.alive[feat] === 1;
  const perClass = Array.from(
    { length: s.nClasses },
    (_, c) => s.perClassMeanActs[c * s.dSae + feat],
  );
  const t = s.channels * s.patches;
  const channelMeans = Array.from({ length: s.channels }, (_, c) => {
    let sum = 0;
    for (let i = 0; i < s.patches; i++) sum += s.channelPatchMeans[feat * t + c * s.patches + i];
    return sum / s.patches;
  });
  const sig = a.spectral[feat];
  return {
    id: feat,
    alive,
    sparsity: s.sparsity[feat],
    trial_sparsity: s.trialSparsity[feat],
    mean_act: s.meanActs[feat],
    max_act: s.maxActs[feat],
    class_entropy_top: alive ? s.labelEntropyTop[feat] : null,
    class_entropy_all: alive ? s.labelEntropyAll[feat] : null,
    per_class_mean: perClass,
    top_class: alive ? argmax(perClass) : null,
    top_channel: alive ? argmax(channelMeans) : null,
    dominant_band: sig ? EEG_BANDS[argmax(sig.ratio)].name : null,
  };
}

function featureDetail(
  a: FeatureAnalysis,
  set: TrialSet,
  feat: number,
  opts: FeatureWriteOptions,
  pages: Set<number>,
): FeatureDetail {
  const s = a.stats;
  const t = s.channels * s.patches;
  const hist = Array.from(
    s.histogram.subarray(
      feat * (s.histogram.length / s.dSae),
      (feat + 1) * (s.histogram.length / s.dSae),
    ),
  );
  const firing = hist.reduce((x, y) => x + y, 0);
  const topTrials: TopTrial[] = [];
  for (let j = 0; j < Math.min(opts.siteTopTrials, s.topK); j++) {
    const trial = s.topTrials[feat * s.topK + j];
    if (trial < 0) break;
    const acts = a.topTokenActs.subarray((feat * s.topK + j) * t, (feat * s.topK + j + 1) * t);
    topTrials.push({
      trial,
      value: s.topValues[feat * s.topK + j],
      label: set.labels[trial],
      subject: set.subjects[trial],
      key: set.keys[trial],
      token_acts: Array.from(
        { length: s.channels },
        (_, c) => Array.from(acts.subarray(c * s.patches, (c + 1) * s.patches), round4),
      ),
      eeg: pages.has(trial) ? null : eegRows(set, trial),
    });
  }
  const sig = a.spectral[feat];
  return {
    id: feat,
    alive: s.alive[feat] === 1,
    histogram: {
      edges: histogramEdges(),
      counts: hist,
      log10: true,
      zero_count: s.nTokens - firing,
    },
    per_class_mean: Array.from(
      { length: s.nClasses },
      (_, c) => s.perClassMeanActs[c * s.dSae + feat],
    ),
    channel_patch_mean: Array.from({ length: s.channels }, (_, c) =>
      Array.from(
        s.channelPatchMeans.subarray(feat * t + c * s.patches, feat * t + (c + 1) * s.patches),
        round4,
      )),
    spectral: sig
      ? {
        bands: Object.fromEntries(sig.bands.map((b, i) => [b, round4(sig.ratio[i])])),
        per_channel: Object.fromEntries(
          sig.bands.map((b, i) => [b, sig.channelRatio.map((row) => round4(row[i]))]),
        ),
      }
      : { bands: {} },
    top_trials: topTrials,
    neighbours: (opts.neighbours[feat] ?? []).map((n) => ({ id: n.id, cosine: round4(n.cosine) })),
  };
}

function trialDetail(a: FeatureAnalysis, set: TrialSet, page: TrialActivations): TrialDetail {
  const { channels, patches } = a.stats;
  const pair = ([id, v]: [number, number]): [number, number] => [id, round4(v)];
  return {
    trial: page.trial,
    label: set.labels[page.trial],
    subject: set.subjects[page.trial],
    key: set.keys[page.trial],
    eeg: eegRows(set, page.trial),
    token_top_features: Array.from(
      { length: channels },
      (_, c) => Array.from({ length: patches }, (_, i) => page.tokenTop[c * patches + i].map(pair)),
    ),
    feature_totals: page.totals.map((x) => ({
      id: x.id,
      sum: round4(x.sum),
      max: round4(x.max),
      n_tokens: x.nTokens,
    })),
    channel_top_features: page.channelTop.map((row) => row.map(pair)),
    reconstruction: trialReconstruction(a.reconstructionTotals, page.trial, channels * patches),
  };
}

/** Writes `feature_data.npz` and the site JSON under `out`; returns the files' count. */
export async function writeFeatureOutputs(
  out: string,
  a: FeatureAnalysis,
  set: TrialSet,
  opts: FeatureWriteOptions,
): Promise<{ featureFiles: number; trialFiles: number }> {
  const s = a.stats;
  const arrays = featureDataArrays(a, set, opts.classNames);
  arrays.settings_json = str([JSON.stringify(opts.settings)], []);
  await writeNpz(join(out, "feature_data.npz"), arrays);

  const pages = new Set(a.trialPages.map((p) => p.trial));
  const layout: FeatureFileLayout = opts.chunkSize > 0 && s.dSae > opts.chunkSize
    ? { kind: "chunks", chunk_size: opts.chunkSize }
    : { kind: "per_feature" };
  const summaries = Array.from({ length: s.dSae }, (_, f) => featureSummary(a, f));
  const index: FeatureIndex = {
    d_sae: s.dSae,
    n_alive: summaries.filter((x) => x.alive).length,
    class_names: opts.classNames,
    channels: set.channels,
    n_patches: s.patches,
    sfreq: set.sfreq,
    patch_size: a.geometry.patchSize,
    patch_step: a.geometry.step,
    n_trials: set.n,
    trial_files: [...pages].sort((x, y) => x - y),
    bands: EEG_BANDS.map((b) => ({ name: b.name, range: [b.lowHz, b.highHz] })),
    layout,
    reconstruction: {
      mse: a.reconstruction.mse,
      cosine: a.reconstruction.cosine,
      l0: a.reconstruction.l0,
      explained_variance: a.reconstruction.explainedVariance,
      dead_fraction: a.reconstruction.deadFraction,
    },
    features: summaries,
  };
  await writeCompactJson(join(out, "index.json"), index);

  let featureFiles = 0;
  const alive = summaries.filter((x) => x.alive).map((x) => x.id);
  if (layout.kind === "per_feature") {
    for (const f of alive) {
      await writeCompactJson(join(out, "f", `${f}.json`), featureDetail(a, set, f, opts, pages));
      featureFiles++;
    }
  } else {
    const byChunk = new Map<number, number[]>();
    for (const f of alive) {
      const k = Math.floor(f / layout.chunk_size);
      byChunk.set(k, [...(byChunk.get(k) ?? []), f]);
    }
    for (const [k, ids] of byChunk) {
      const chunk: FeatureChunk = {
        chunk: k,
        chunk_size: layout.chunk_size,
        features: ids.map((f) => featureDetail(a, set, f, opts, pages)),
      };
      await writeCompactJson(join(out, "chunks", `${k}.json`), chunk);
      featureFiles++;
    }
  }
  for (const page of a.trialPages) {
    await writeCompactJson(join(out, "trials", `${page.trial}.json`), trialDetail(a, set, page));
  }
  return { featureFiles, trialFiles: a.trialPages.length };
}
