/**
 * The analyses find the synthetic data's planted structure. The encoder here is transparent
 * instead of REVE: each token's activation vector holds the z-scored log band powers of its own
 * input patch in its channel's block (d_in = 22 channels × 5 bands), and the "SAE" has one feature
 * per (channel, band) that fires on desynchronisation, z = ReLU(−x). The generator plants mu/beta
 * ERD at C4 (left hand), C3 (right hand) and Cz (feet). Checked numbers:
 * - the leave-one-subject-out probe (3 folds) on mean-pooled features: balanced accuracy > 0.45
 *   (chance 0.25; 0.59 when written);
 * - top-1 feature per class by selectivity, chosen on training subjects: C4 mu/beta for left hand,
 *   C3 mu/beta for right hand, Cz mu/beta for feet;
 * - the spectral signature of the C3-mu feature: mu is its lowest band ratio (< 0.8) at C3.
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu } from "../compute/gpu/mod.ts";
import { BCIC2A_CHANNELS } from "../compute/data/montage.ts";
import type { TrialSet } from "../compute/data/trials.ts";
import { AnalysisSae } from "../compute/analysis/analysis_sae.ts";
import type { ActivationRunner } from "../compute/analysis/activation_runner.ts";
import { analyseFeatures } from "../compute/analysis/features.ts";
import { poolActivations, runProbes } from "../compute/analysis/probe.ts";
import { DEFAULT_PROBE_FIT } from "../compute/analysis/probe_fit.ts";
import { classFeatureScores, topKPerClass } from "../compute/analysis/topk_masking.ts";
import { matrix } from "../compute/analysis/matrix.ts";
import { leaveOneSubjectOut } from "../compute/analysis/splits.ts";
import {
  BandPowerEstimator,
  EEG_BANDS,
  patchGeometry,
  trialPatchPowers,
} from "../compute/analysis/spectral.ts";
import { syntheticTrialSet } from "./fixtures/trial_sets.ts";

const C = BCIC2A_CHANNELS.length;
const NB = EEG_BANDS.length;
const MU = EEG_BANDS.findIndex((b) => b.name === "mu_alpha");
const BETA = EEG_BANDS.findIndex((b) => b.name === "beta");
const CH = (name: string) => BCIC2A_CHANNELS.indexOf(name);

function syntheticSet(): TrialSet {
  return syntheticTrialSet({ seed: 7, subjects: 3, trialsPerClass: 12, sfreq: 200, seconds: 4 });
}

/** Token activations: z-scored log band powers of the token's patch, in its channel's block. */
function bandPowerRunner(set: TrialSet, sae: AnalysisSae): ActivationRunner {
  const geometry = patchGeometry(C, set.samples, 200, 20);
  const est = new BandPowerEstimator(200, set.sfreq);
  const per = C * set.samples;
  const p = geometry.patches;
  const logs = Array.from(
    { length: set.n },
    (_, i) =>
      trialPatchPowers(set.eeg.subarray(i * per, (i + 1) * per), geometry, est).map(Math.log),
  );
  const mean = new Float64Array(C * NB);
  const sq = new Float64Array(C * NB);
  for (const l of logs) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < p; i++) {
        for (let b = 0; b < NB; b++) {
          const v = l[(c * p + i) * NB + b];
          mean[c * NB + b] += v;
          sq[c * NB + b] += v * v;
        }
      }
    }
  }
  const count = set.n * p;
  const sd = mean.map((m, j) => Math.sqrt(sq[j] / count - (m / count) ** 2));
  mean.forEach((m, j) => (mean[j] = m / count));
  const dIn = C * NB;
  const tokens = C * p;
  return {
    dIn,
    dSae: dIn,
    channels: C,
    patches: p,
    tokensPerTrial: tokens,
    async run(trials) {
      const gpu = await getGpu();
      const x = new Float32Array(trials.length * tokens * dIn);
      trials.forEach((t, b) => {
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < p; i++) {
            const row = (b * tokens + c * p + i) * dIn;
            for (let k = 0; k < NB; k++) {
              const j = c * NB + k;
              x[row + j] = (logs[t][(c * p + i) * NB + k] - mean[j]) / sd[j];
            }
          }
        }
      });
      const xt = createTensor(gpu, [trials.length, tokens, dIn], "f32", "x", x);
      const z = createTensor(gpu, [trials.length, tokens, dIn], "f32", "z");
      const xHat = createTensor(gpu, [trials.length, tokens, dIn], "f32", "xhat");
      const batch = new CommandBatch(gpu, "band power sae");
      sae.encodeDecode(batch, xt, z, xHat);
      await batch.submit();
      return { x: xt, z, xHat, release: () => [xt, z, xHat].forEach((t) => t.buffer.destroy()) };
    },
  };
}

Deno.test("probe, top-K and spectral signatures find the planted channels and bands", async () => {
  const gpu = await getGpu();
  const set = syntheticSet();
  const d = C * NB;
  const negIdentity = new Float32Array(d * d);
  for (let j = 0; j < d; j++) negIdentity[j * d + j] = -1;
  const sae = new AnalysisSae(gpu, {
    dIn: d,
    dSae: d,
    wEnc: negIdentity,
    bEnc: new Float32Array(d),
    wDec: negIdentity,
    bDec: new Float32Array(d),
  });
  try {
    const runner = bandPowerRunner(set, sae);
    const pooled = await poolActivations(runner, set.n, 16);
    const [probe] = runProbes(pooled, set.labels, set.subjects, {
      protocol: "all_subjects",
      inputs: ["sae_mean"],
      fit: { ...DEFAULT_PROBE_FIT, c: 1 },
      kValues: [],
      rankings: [],
      oracle: false,
      classNames: ["left_hand", "right_hand", "feet", "tongue"],
      settings: {},
    });
    assert.ok(probe.converged);
    assert.ok(
      probe.metrics.balanced_accuracy > 0.45,
      `balanced accuracy ${probe.metrics.balanced_accuracy} (chance 0.25)`,
    );

    const split = leaveOneSubjectOut(set.subjects, 3);
    const scores = classFeatureScores(
      matrix(pooled.saeMean, set.n, d),
      set.labels,
      split.train,
      4,
      "selectivity",
    );
    const top = topKPerClass(scores, 4, 1).map(([f]) => ({
      channel: BCIC2A_CHANNELS[Math.floor(f / NB)],
      band: f % NB,
    }));
    const planted = [["C4", 0], ["C3", 1], ["Cz", 2]] as const;
    for (const [channel, label] of planted) {
      assert.equal(top[label].channel, channel, JSON.stringify(top));
      assert.ok(top[label].band === MU || top[label].band === BETA, JSON.stringify(top));
    }

    const analysis = await analyseFeatures(runner, set, 4, {
      batchSize: 16,
      topK: 10,
      patchSize: 200,
      patchOverlap: 20,
    });
    const c3mu = CH("C3") * NB + MU;
    const sig = analysis.spectral[c3mu];
    assert.ok(sig, "the C3-mu feature is alive");
    const atC3 = sig.channelRatio[CH("C3")];
    assert.equal(atC3.indexOf(Math.min(...atC3)), MU, JSON.stringify(atC3));
    assert.ok(sig.ratio[MU] < 0.8, `mu ratio at the top tokens ${sig.ratio[MU]}`);
  } finally {
    sae.dispose();
  }
});
