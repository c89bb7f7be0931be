/**
 * The feature pipeline: one pass over the trials through REVE and the SAE with every statistic
 * accumulated on the GPU (read back once) and, where a trial store is written, each batch's
 * activations read back and summarised per trial on the CPU; then a pass over the features' top
 * trials that gathers their token activations on the GPU; then spectral signatures from the
 * input EEG on the CPU.
 */
import { CommandBatch, getGpu, readback } from "../gpu/mod.ts";
import type { TrialSet } from "../data/trials.ts";
import { FeatureStatsGpu, MAX_TRIALS_PER_BATCH } from "../../kernels/feature_stats.ts";
import type { ReconstructionTotals } from "../../kernels/feature_stats_layout.ts";
import type { TrialActs } from "../../schema/run_folder.ts";
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
import { summariseTrialActs, TrialActsScratch } from "./trial_acts.ts";

export interface FeatureAnalysisOptions {
  /** Trials per GPU pass. */
  batchSize: number;
  /** Top trials kept per feature (feature_data.npz). */
  topK: number;
  /** REVE's patch size and overlap in samples (where each token's input lies). */
  patchSize: number;
  patchOverlap: number;
  /**
   * Receives every trial's summary, in index order, during the statistics pass (the trial
   * store's writer). Without it the activations stay on the GPU.
   */
  onTrialActs?: (acts: TrialActs) => Promise<void>;
  /** Called after each batch of each pass. */
  onProgress?: (pass: "statistics" | "top_trials", done: number, total: number) => void;
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
    const scratch = new TrialActsScratch(channels, dSae);
    for (const [i, ids] of passOne.entries()) {
      const out = await runner.run(ids);
      const batch = new CommandBatch(acc.gpu, "feature statistics");
      const trialIds = Int32Array.from(ids);
      acc.accumulate(batch, out.z, out.x, out.xHat, trialIds, trialIds.map((id) => set.labels[id]));
      await batch.submit();
      if (opts.onTrialActs) {
        const z = await readback(acc.gpu, out.z, 0, ids.length * t * dSae);
        for (const [b, id] of ids.entries()) {
          const rows = z.subarray(b * t * dSae, (b + 1) * t * dSae);
          await opts.onTrialActs(summariseTrialActs(id, rows, channels, patches, dSae, scratch));
        }
      }
      out.release();
      opts.onProgress?.("statistics", i + 1, passOne.length);
    }
    const { features, reconstruction: reconTotals } = await acc.readTotals();
    const stats = finaliseFeatureStats(features, channels, set.labels);

    const topUnion = new Set<number>();
    for (const trial of stats.topTrials) if (trial >= 0) topUnion.add(trial);
    const passTwo = batchesOf([...topUnion].sort((a, b) => a - b), perPass);
    for (const [i, ids] of passTwo.entries()) {
      const out = await runner.run(ids);
      const batch = new CommandBatch(acc.gpu, "top trial gather");
      acc.gatherTop(batch, out.z, Int32Array.from(ids));
      await batch.submit();
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
