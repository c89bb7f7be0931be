/**
 * The feature pipeline: one pass over the trials through REVE and the SAE with every statistic
 * accumulated on the GPU (read back once), then a pass over the features' top trials that gathers
 * their token activations on the GPU and reads back the dense activations of the few trials that
 * get a trial page; then spectral signatures from the input EEG on the CPU.
 */
import { CommandBatch, getGpu, readback } from "../gpu/mod.ts";
import type { TrialSet } from "../data/trials.ts";
import { FeatureStatsGpu, MAX_TRIALS_PER_BATCH } from "../../kernels/feature_stats.ts";
import type { ReconstructionTotals } from "../../kernels/feature_stats_layout.ts";
import { type ActivationRunner, trialsPerPass } from "./activation_runner.ts";
import {
  type FeatureStatistics,
  FeatureStatsError,
  finaliseFeatureStats,
  type ReconstructionSummary,
  summariseReconstruction,
} from "./feature_stats.ts";
import {
  BandPowerBaseline,
  BandPowerEstimator,
  EEG_BANDS,
  type PatchGeometry,
  patchGeometry,
  type SpectralSignature,
  spectralSignature,
  trialPatchPowers,
} from "./spectral.ts";

export interface FeatureAnalysisOptions {
  /** Trials per GPU pass. */
  batchSize: number;
  /** Top trials kept per feature (feature_data.npz). */
  topK: number;
  /** Top trials per feature that get trial pages, at most this many pages in all. */
  siteTopTrials: number;
  maxTrialFiles: number;
  /** REVE's patch size and overlap in samples (where each token's input lies). */
  patchSize: number;
  patchOverlap: number;
  /** Called after each batch of each pass. */
  onProgress?: (pass: "statistics" | "top_trials", done: number, total: number) => void;
}

/** Per-trial sparse summary for the trial page. */
export interface TrialActivations {
  trial: number;
  /** Per token (channel-major), its top features (at most 5): [id, activation]. */
  tokenTop: [number, number][][];
  /** Every active feature: sum, max and firing tokens over the trial. */
  totals: { id: number; sum: number; max: number; nTokens: number }[];
  /** Per channel, its top features (at most 10) by activation summed over its tokens. */
  channelTop: [number, number][][];
}

export interface FeatureAnalysis {
  stats: FeatureStatistics;
  reconstruction: ReconstructionSummary & { deadFraction: number };
  reconstructionTotals: ReconstructionTotals;
  /** Token activations of each feature's top trials [F, k, T]. */
  topTokenActs: Float32Array;
  /** Per feature; null for dead features. */
  spectral: (SpectralSignature | null)[];
  geometry: PatchGeometry;
  trialPages: TrialActivations[];
}

/** The trials most often among the features' first `perFeature` top trials, at most `max`. */
export function trialsForPages(
  stats: FeatureStatistics,
  perFeature: number,
  max: number,
): number[] {
  const count = new Map<number, number>();
  for (let f = 0; f < stats.dSae; f++) {
    for (let j = 0; j < Math.min(perFeature, stats.topK); j++) {
      const t = stats.topTrials[f * stats.topK + j];
      if (t >= 0) count.set(t, (count.get(t) ?? 0) + 1);
    }
  }
  return [...count.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, max)
    .map(([t]) => t)
    .sort((a, b) => a - b);
}

/** The sparse page summary of one trial from its dense activations z [T, F]. */
export function summariseTrialActivations(
  trial: number,
  z: Float32Array,
  channels: number,
  patches: number,
  dSae: number,
): TrialActivations {
  const tokens = channels * patches;
  const tokenTop: [number, number][][] = [];
  const sums = new Float64Array(dSae);
  const maxes = new Float64Array(dSae);
  const fired = new Int32Array(dSae);
  const channelSums = new Float64Array(channels * dSae);
  for (let t = 0; t < tokens; t++) {
    const row = z.subarray(t * dSae, (t + 1) * dSae);
    const active: [number, number][] = [];
    const c = Math.floor(t / patches);
    for (let f = 0; f < dSae; f++) {
      const v = row[f];
      if (!(v > 0)) continue;
      active.push([f, v]);
      sums[f] += v;
      maxes[f] = Math.max(maxes[f], v);
      fired[f]++;
      channelSums[c * dSae + f] += v;
    }
    tokenTop.push(active.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5));
  }
  const totals = [];
  for (let f = 0; f < dSae; f++) {
    if (fired[f] > 0) totals.push({ id: f, sum: sums[f], max: maxes[f], nTokens: fired[f] });
  }
  totals.sort((a, b) => b.sum - a.sum || a.id - b.id);
  const channelTop: [number, number][][] = [];
  for (let c = 0; c < channels; c++) {
    const list: [number, number][] = [];
    for (let f = 0; f < dSae; f++) {
      if (channelSums[c * dSae + f] > 0) list.push([f, channelSums[c * dSae + f]]);
    }
    channelTop.push(list.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10));
  }
  return { trial, tokenTop, totals, channelTop };
}

function batchesOf(trials: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < trials.length; i += size) out.push(trials.slice(i, i + size));
  return out;
}

export async function analyseFeatures(
  runner: ActivationRunner,
  set: TrialSet,
  nClasses: number,
  opts: FeatureAnalysisOptions,
): Promise<FeatureAnalysis> {
  const { dSae, dIn, tokensPerTrial: t, channels, patches } = runner;
  if (channels !== set.channels.length) {
    throw new FeatureStatsError(`runner has ${channels} channels, the set ${set.channels.length}`);
  }
  for (let i = 0; i < set.n; i++) {
    if (set.labels[i] < 0 || set.labels[i] >= nClasses) {
      throw new FeatureStatsError(
        `trial ${i} (${set.keys[i]}) has label ${set.labels[i]}, outside 0..${nClasses - 1}`,
      );
    }
  }
  const acc = new FeatureStatsGpu(await getGpu(), {
    dSae,
    nClasses,
    tokensPerTrial: t,
    topK: opts.topK,
    dIn,
    setTrials: set.n,
  });
  try {
    const perPass = trialsPerPass(
      runner,
      opts.batchSize,
      acc.gpu.limits.maxStorageBufferBindingSize,
      MAX_TRIALS_PER_BATCH,
    );
    const all = Array.from({ length: set.n }, (_, i) => i);
    const passOne = batchesOf(all, perPass);
    for (const [i, ids] of passOne.entries()) {
      const out = await runner.run(ids);
      const batch = new CommandBatch(acc.gpu, "feature statistics");
      const trialIds = Int32Array.from(ids);
      acc.accumulate(batch, out.z, out.x, out.xHat, trialIds, trialIds.map((id) => set.labels[id]));
      await batch.submit();
      out.release();
      opts.onProgress?.("statistics", i + 1, passOne.length);
    }
    const { features, reconstruction: reconTotals } = await acc.readTotals();
    const stats = finaliseFeatureStats(features, channels, set.labels);

    const topUnion = new Set<number>();
    for (const trial of stats.topTrials) if (trial >= 0) topUnion.add(trial);
    const pages = new Set(trialsForPages(stats, opts.siteTopTrials, opts.maxTrialFiles));
    const trialPages: TrialActivations[] = [];
    const passTwo = batchesOf([...topUnion].sort((a, b) => a - b), perPass);
    for (const [i, ids] of passTwo.entries()) {
      const out = await runner.run(ids);
      const batch = new CommandBatch(acc.gpu, "top trial gather");
      acc.gatherTop(batch, out.z, Int32Array.from(ids));
      await batch.submit();
      if (ids.some((id) => pages.has(id))) {
        const z = await readback(acc.gpu, out.z);
        ids.forEach((id, b) => {
          if (!pages.has(id)) return;
          const rows = z.subarray(b * t * dSae, (b + 1) * t * dSae);
          trialPages.push(summariseTrialActivations(id, rows, channels, patches, dSae));
        });
      }
      out.release();
      opts.onProgress?.("top_trials", i + 1, passTwo.length);
    }
    const topTokenActs = passTwo.length > 0
      ? await acc.readGathered()
      : new Float32Array(dSae * opts.topK * t);

    const geometry = patchGeometry(channels, set.samples, opts.patchSize, opts.patchOverlap);
    if (geometry.patches !== patches) {
      throw new FeatureStatsError(
        `patch geometry gives ${geometry.patches} patches but the model made ${patches}`,
      );
    }
    const spectral = spectralSignatures(set, stats, geometry);
    let alive = 0;
    for (const a of stats.alive) alive += a;
    return {
      stats,
      reconstruction: { ...summariseReconstruction(reconTotals), deadFraction: 1 - alive / dSae },
      reconstructionTotals: reconTotals,
      topTokenActs,
      spectral,
      geometry,
      trialPages,
    };
  } finally {
    acc.destroy();
  }
}

/** Band-power signatures of every alive feature against the set's per-channel average. */
export function spectralSignatures(
  set: TrialSet,
  stats: FeatureStatistics,
  geometry: PatchGeometry,
): (SpectralSignature | null)[] {
  const estimator = new BandPowerEstimator(geometry.patchSize, set.sfreq);
  const baseline = new BandPowerBaseline(geometry, EEG_BANDS.length);
  const per = set.channels.length * set.samples;
  const needed = new Set<number>();
  for (const trial of stats.topTrials) if (trial >= 0) needed.add(trial);
  const cache = new Map<number, Float64Array>();
  for (let i = 0; i < set.n; i++) {
    const powers = trialPatchPowers(set.eeg.subarray(i * per, (i + 1) * per), geometry, estimator);
    baseline.add(powers);
    if (needed.has(i)) cache.set(i, powers);
  }
  const mean = baseline.mean();
  const out: (SpectralSignature | null)[] = [];
  for (let f = 0; f < stats.dSae; f++) {
    const top = [];
    for (let j = 0; j < stats.topK; j++) {
      const trial = stats.topTrials[f * stats.topK + j];
      if (trial >= 0) top.push({ trial, token: stats.topTokens[f * stats.topK + j] });
    }
    out.push(
      stats.alive[f] && top.length > 0
        ? spectralSignature(top, (trial) => cache.get(trial)!, mean, geometry)
        : null,
    );
  }
  return out;
}
