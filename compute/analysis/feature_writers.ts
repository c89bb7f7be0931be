/**
 * Writes a feature analysis: `feature_data.npz` (the earlier Python pipeline's four arrays under
 * their names, plus everything else; deflated as np.savez_compressed writes it) and the report
 * site's JSON (`index.json`, per-feature or chunked detail files, `trials.json`) in the shapes of
 * schema/run_folder.ts. The trial store's chunks are written during the analysis
 * (trial_store_writer.ts); feature files refer to its trials by index.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { f32, i32, i64, type NdArray, str } from "../io/npy.ts";
import { writeNpz } from "../io/npz.ts";
import type { TrialSet } from "../data/trials.ts";
import { trialReconstruction } from "./feature_stats.ts";
import { histogramEdges } from "../../kernels/feature_stats_layout.ts";
import type { FeatureAnalysis } from "./features.ts";
import { EEG_BANDS } from "./spectral.ts";
import { round4 } from "./site_numbers.ts";
import type {
  FeatureAct,
  FeatureChunk,
  FeatureDetail,
  FeatureFileLayout,
  FeatureIndex,
  FeatureSummary,
  TopTrial,
  TrialStoreLayout,
  TrialTable,
} from "../../schema/run_folder.ts";

export interface FeatureWriteOptions {
  classNames: string[];
  /** Top trials per feature whose token activations the detail file carries. */
  siteTopTrials: number;
  /** The trial store written during the analysis (every trial of the set). */
  trialStore: TrialStoreLayout;
  /** Decoder-direction neighbours per alive feature, [F] (empty lists for dead features). */
  neighbours: { id: number; cosine: number }[][];
  /** Detail files in chunks of this many feature ids when d_sae exceeds it; 0: one file each. */
  chunkSize: number;
  /** Written into the npz as `settings_json`. */
  settings: Record<string, unknown>;
}

/** Site files are compact JSON (no indentation): thousands of them are read over the network. */
function writeCompactJson(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value));
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
  for (let j = 0; j < s.topK; j++) {
    const at = feat * s.topK + j;
    const trial = s.topTrials[at];
    if (trial < 0) break;
    let tokenActs: FeatureAct[] | null = null;
    if (j < opts.siteTopTrials) {
      const acts = a.topTokenActs.subarray(at * t, (at + 1) * t);
      tokenActs = [];
      for (let tok = 0; tok < t; tok++) if (acts[tok] > 0) tokenActs.push([tok, round4(acts[tok])]);
    }
    topTrials.push({
      trial,
      value: s.topValues[at],
      token: s.topTokens[at],
      label: set.labels[trial],
      subject: set.subjects[trial],
      key: set.keys[trial],
      token_acts: tokenActs,
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

/** `trials.json`: labels, subjects, keys and the per-trial reconstruction of every trial. */
export function trialTable(a: FeatureAnalysis, set: TrialSet): TrialTable {
  const tokens = a.stats.channels * a.stats.patches;
  return {
    n_trials: set.n,
    labels: Array.from(set.labels),
    subjects: Array.from(set.subjects),
    keys: set.keys,
    reconstruction: Array.from({ length: set.n }, (_, i) => {
      const r = trialReconstruction(a.reconstructionTotals, i, tokens);
      return [round4(r.mse), round4(r.cosine), round4(r.l0)];
    }),
  };
}

/** Writes `feature_data.npz` and the site JSON under `out`; returns the detail files' count. */
export async function writeFeatureOutputs(
  out: string,
  a: FeatureAnalysis,
  set: TrialSet,
  opts: FeatureWriteOptions,
): Promise<{ featureFiles: number }> {
  const s = a.stats;
  const arrays = featureDataArrays(a, set, opts.classNames);
  arrays.settings_json = str([JSON.stringify(opts.settings)], []);
  await writeNpz(join(out, "feature_data.npz"), arrays, { compress: true });
  await writeCompactJson(join(out, "trials.json"), trialTable(a, set));

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
    n_samples: set.samples,
    trial_store: opts.trialStore,
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
      await writeCompactJson(join(out, "f", `${f}.json`), featureDetail(a, set, f, opts));
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
        features: ids.map((f) => featureDetail(a, set, f, opts)),
      };
      await writeCompactJson(join(out, "chunks", `${k}.json`), chunk);
      featureFiles++;
    }
  }
  return { featureFiles };
}
