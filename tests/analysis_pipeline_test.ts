/**
 * The features and probe pipelines end to end on a tiny case: synthetic trials through the
 * reve-tiny golden model and a small random ReLU SAE. The GPU statistics must equal the CPU
 * reference on read-back activations, and every file must satisfy the site's contract: the trial
 * store holds every trial (its EEG within int16 quantisation, its activation summary equal to the
 * CPU summary of its read-back activations), and feature files point into it by index.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { getGpu, readback } from "../compute/gpu/mod.ts";
import { Rng } from "../compute/data/rng.ts";
import { preprocessTrialSet } from "../compute/data/preprocess.ts";
import type { TrialSet } from "../compute/data/trials.ts";
import { loadReve } from "../compute/reve/model.ts";
import { AnalysisSae } from "../compute/analysis/analysis_sae.ts";
import { reveSaeRunner } from "../compute/analysis/activation_runner.ts";
import { analyseFeatures } from "../compute/analysis/features.ts";
import { summariseTrialActs } from "../compute/analysis/trial_acts.ts";
import { TrialStoreWriter } from "../compute/analysis/trial_store_writer.ts";
import { round4 } from "../compute/analysis/site_numbers.ts";
import {
  addBatch,
  addReconstructionBatch,
  finaliseFeatureStats,
  summariseReconstruction,
  trialReconstruction,
} from "../compute/analysis/feature_stats.ts";
import { emptyReconstructionTotals, emptyTotals } from "../kernels/feature_stats_layout.ts";
import { writeFeatureOutputs } from "../compute/analysis/feature_writers.ts";
import { poolActivations, runProbes } from "../compute/analysis/probe.ts";
import { DEFAULT_PROBE_FIT } from "../compute/analysis/probe_fit.ts";
import { gatherTopRef } from "../kernels/feature_stats.ts";
import { poolTokensRef } from "../kernels/token_pool.ts";
import {
  decodeEegChunk,
  EEG_QUANT_MAX,
  shapeOf,
  trialsInChunk,
  trialStorePaths,
  validateFeatureDetail,
  validateFeatureIndex,
  validateProbeResult,
  validateTrialActsChunk,
  validateTrialTable,
} from "../schema/run_folder.ts";
import { listZipEntries, readNpz } from "../compute/io/npz.ts";
import { syntheticTrialSet } from "./fixtures/trial_sets.ts";
import { assertEachClose } from "./kernel_helpers.ts";

const CLASSES = ["left_hand", "right_hand", "feet", "tongue"];

/** 2 subjects × 2 sessions × 4 classes × 1 trial, 2 s at 200 Hz, scaled µV/100. */
function tinySet(): TrialSet {
  const raw = syntheticTrialSet({
    seed: 4,
    subjects: 2,
    trialsPerClass: 1,
    sfreq: 200,
    seconds: 2,
  });
  return preprocessTrialSet(raw, {
    sfreq: 200,
    bandpass: null,
    scaling: "uv_div100",
    euclideanAlignment: false,
  });
}

function randomSae(dIn: number, dSae: number, seed: number) {
  const rng = new Rng(seed);
  const wDec = new Float32Array(dSae * dIn);
  for (let f = 0; f < dSae; f++) {
    let norm = 0;
    for (let d = 0; d < dIn; d++) norm += (wDec[f * dIn + d] = rng.normal()) ** 2;
    for (let d = 0; d < dIn; d++) wDec[f * dIn + d] /= Math.sqrt(norm);
  }
  const wEnc = new Float32Array(dIn * dSae);
  for (let d = 0; d < dIn; d++) {
    for (let f = 0; f < dSae; f++) wEnc[d * dSae + f] = wDec[f * dIn + d];
  }
  const bEnc = Float32Array.from({ length: dSae }, (_, f) => (f === dSae - 1 ? -1e6 : 0.05)); // last one dead
  const bDec = Float32Array.from({ length: dIn }, () => 0.1 * rng.normal());
  return { dIn, dSae, wEnc, bEnc, wDec, bDec };
}

Deno.test("features and probe pipelines on reve-tiny: GPU = CPU reference, files match the contract", async () => {
  const gpu = await getGpu();
  const set = tinySet();
  const model = await loadReve("tests/golden/reve-tiny", gpu);
  const params = randomSae(64, 24, 9);
  const sae = new AnalysisSae(gpu, params);
  const runner = reveSaeRunner(model, sae, set, "blocks.-2.hook_resid_post");
  const out = await Deno.makeTempDir({ prefix: "features_test_" });
  try {
    assert.deepEqual([runner.channels, runner.patches, runner.tokensPerTrial], [22, 2, 44]);
    const topK = 3;
    // Chunks of 3 trials, batches of 5: chunks end inside batches and the last one is short.
    const store = new TrialStoreWriter(out, set, 3);
    const analysis = await analyseFeatures(runner, set, 4, {
      batchSize: 5,
      topK,
      patchSize: 200,
      patchOverlap: 20,
      onTrialActs: (acts) => store.add(acts),
    });

    // CPU reference from the dense activations of every trial, read back.
    const all = Array.from({ length: set.n }, (_, i) => i);
    const dense = await runner.run(all);
    const z = await readback(gpu, dense.z);
    const x = await readback(gpu, dense.x);
    const xHat = await readback(gpu, dense.xHat);
    dense.release();
    const ids = Int32Array.from(all);
    const totals = emptyTotals({ dSae: 24, nClasses: 4, tokensPerTrial: 44, topK });
    addBatch(totals, { z, labels: set.labels, trialIds: ids });
    const recon = emptyReconstructionTotals(64, set.n);
    addReconstructionBatch(recon, x, xHat, z, ids, 44);
    const ref = finaliseFeatureStats(totals, 22, set.labels);
    const s = analysis.stats;
    assertEachClose(s.meanActs, ref.meanActs, 1e-4, "mean acts");
    assertEachClose(s.sparsity, ref.sparsity, 0, "sparsity");
    assertEachClose(s.perClassMeanActs, ref.perClassMeanActs, 1e-4, "per-class");
    assertEachClose(s.channelPatchMeans, ref.channelPatchMeans, 1e-4, "channel × patch");
    assert.deepEqual(Array.from(s.topTrials), Array.from(ref.topTrials));
    assertEachClose(s.labelEntropyTop, ref.labelEntropyTop, 1e-6, "entropy top");
    assertEachClose(
      recon.perTrial,
      analysis.reconstructionTotals.perTrial,
      1e-4,
      "per-trial reconstruction",
    );
    const cpuSummary = summariseReconstruction(recon);
    const r = analysis.reconstruction;
    assertEachClose(
      [r.mse, r.explainedVariance, r.cosine, r.l0],
      [
        cpuSummary.mse,
        cpuSummary.explainedVariance,
        cpuSummary.cosine,
        cpuSummary.l0,
      ],
      1e-4,
      "reconstruction summary",
    );
    assert.ok(r.explainedVariance !== 0, "explained variance is computed, not defaulted");
    const gathered = new Float32Array(24 * topK * 44);
    gatherTopRef(totals, z, ids, gathered);
    assertEachClose(analysis.topTokenActs, gathered, 1e-6, "top token activations");
    assert.equal(s.alive[23], 0, "the feature with a huge negative bias is dead");
    assert.ok(s.alive.reduce((a, b) => a + b, 0) >= 12, "most features fire");
    assert.ok(analysis.reconstruction.deadFraction > 0);
    assert.ok(analysis.spectral.every((sig, f) => (sig === null) === (s.alive[f] === 0)));

    const neighbours = sae.decoderNeighbours(Array.from({ length: 24 }, (_, i) => i), 3);
    const written = await writeFeatureOutputs(out, analysis, set, {
      classNames: CLASSES,
      siteTopTrials: 2,
      trialStore: store.finish(),
      neighbours,
      chunkSize: 0,
      settings: { test: true },
    });
    const index = validateFeatureIndex(
      JSON.parse(await Deno.readTextFile(join(out, "index.json"))),
    );
    assert.equal(index.n_alive, written.featureFiles);
    const shape = shapeOf(index);
    assert.equal(index.n_samples, set.samples);
    assert.deepEqual(index.trial_store, { chunk_size: 3, n_chunks: Math.ceil(set.n / 3) });
    const zOf = (trial: number) => z.subarray(trial * 44 * 24, (trial + 1) * 44 * 24);
    for (const f of index.features.filter((f) => f.alive)) {
      const detail = validateFeatureDetail(
        JSON.parse(await Deno.readTextFile(join(out, "f", `${f.id}.json`))),
        shape,
      );
      assert.equal(detail.top_trials[0].value, s.topValues[f.id * topK]);
      detail.top_trials.forEach((top, j) => {
        assert.equal(top.trial, ref.topTrials[f.id * topK + j]);
        assert.equal(top.token, s.topTokens[f.id * topK + j]);
        // The token is where the feature's maximum in that trial is.
        const atToken = zOf(top.trial)[top.token * 24 + f.id];
        assert.ok(Math.abs(atToken - top.value) <= 1e-5 * top.value, `${atToken} vs ${top.value}`);
        assert.equal(top.label, set.labels[top.trial]);
        if (j >= 2) return assert.equal(top.token_acts, null, "past site_top_trials");
        // The feature's activations in that trial, from the read-back z, where it fires.
        const want: [number, number][] = [];
        for (let tok = 0; tok < 44; tok++) {
          const v = zOf(top.trial)[tok * 24 + f.id];
          if (v > 0) want.push([tok, round4(v)]);
        }
        assert.ok(want.length > 0);
        assert.equal(top.token_acts!.length, want.length);
        top.token_acts!.forEach(([tok, v], i) => {
          assert.equal(tok, want[i][0]);
          assert.ok(Math.abs(v - want[i][1]) <= 1e-3 * Math.abs(want[i][1]), `${v} vs ${want[i]}`);
        });
      });
    }

    // The trial store: every trial, EEG within half an int16 step, summaries = the CPU's.
    const table = validateTrialTable(
      JSON.parse(await Deno.readTextFile(join(out, "trials.json"))),
      shape,
      set.n,
    );
    assert.deepEqual(table.labels, Array.from(set.labels));
    assert.deepEqual(table.keys, set.keys);
    for (let i = 0; i < set.n; i++) {
      const r = trialReconstruction(recon, i, 44);
      assertEachClose(table.reconstruction[i], [r.mse, r.cosine, r.l0], 1e-3, `trial ${i} recon`);
    }
    const per = 22 * set.samples;
    const seen: number[] = [];
    for (let k = 0; k < index.trial_store.n_chunks; k++) {
      const n = trialsInChunk(index.trial_store, set.n, k);
      const paths = trialStorePaths(index.trial_store, k * 3);
      const chunk = validateTrialActsChunk(
        JSON.parse(await Deno.readTextFile(join(out, paths.acts))),
        shape,
        index.trial_store,
        set.n,
      );
      const eeg = decodeEegChunk(await Deno.readFile(join(out, paths.eeg)), n, 22, set.samples);
      for (const [j, acts] of chunk.trials.entries()) {
        seen.push(acts.trial);
        const cpu = summariseTrialActs(acts.trial, zOf(acts.trial), 22, 2, 24);
        // The GPU's z and the read-back z are the same numbers: the summaries are equal.
        assert.deepEqual(acts, cpu, `trial ${acts.trial}`);
        for (let c = 0; c < 22; c++) {
          const row = set.eeg.subarray(
            acts.trial * per + c * set.samples,
            acts.trial * per + (c + 1) * set.samples,
          );
          let max = 0;
          for (const v of row) max = Math.max(max, Math.abs(v));
          const r = j * 22 + c;
          for (let t = 0; t < set.samples; t++) {
            const back = eeg.values[r * set.samples + t] * eeg.scales[r];
            assert.ok(
              Math.abs(back - row[t]) <= (0.5 + 1e-3) * max / EEG_QUANT_MAX + 1e-12,
              `trial ${acts.trial} channel ${c} sample ${t}: ${back} vs ${row[t]}`,
            );
          }
        }
      }
    }
    assert.deepEqual(seen, all, "every trial once, in order");
    for (const dir of ["eeg", "trial_acts"]) {
      const files = [];
      for await (const e of Deno.readDir(join(out, dir))) files.push(e.name);
      assert.equal(files.length, index.trial_store.n_chunks, dir);
    }

    const npzBytes = await Deno.readFile(join(out, "feature_data.npz"));
    assert.ok(listZipEntries(npzBytes, "feature_data.npz").every((e) => e.method === 8));
    const npz = await readNpz(join(out, "feature_data.npz"));
    assert.deepEqual([...npz.keys()].sort(), [
      "activation_histogram",
      "activation_histogram_log10_edges",
      "band_edges_hz",
      "band_names",
      "channel_names",
      "channel_patch_mean_acts",
      "class_names",
      "dead_fraction",
      "feature_alive",
      "feature_max_acts",
      "feature_mean_acts",
      "feature_sparsity",
      "feature_trial_sparsity",
      "label_entropy_all",
      "label_entropy_top",
      "per_class_mean_acts",
      "reconstruction_cosine",
      "reconstruction_explained_variance",
      "reconstruction_l0",
      "reconstruction_mse",
      "settings_json",
      "spectral_band_ratio",
      "spectral_channel_band_ratio",
      "top_activating_token_acts",
      "top_activating_tokens",
      "top_activating_trial_indices",
      "top_activating_values",
      "trial_keys",
      "trial_labels",
      "trial_reconstruction_mse_cosine_l0",
      "trial_subjects",
    ]);
    const want: Record<string, [string, number[]]> = {
      feature_mean_acts: ["f4", [24]],
      feature_sparsity: ["f4", [24]],
      per_class_mean_acts: ["f4", [4, 24]],
      top_activating_trial_indices: ["i8", [24, topK]],
      channel_patch_mean_acts: ["f4", [24, 22, 2]],
      spectral_band_ratio: ["f4", [24, 5]],
      label_entropy_top: ["f4", [24]],
    };
    for (const [name, [dtype, dims]] of Object.entries(want)) {
      const a = npz.get(name);
      assert.ok(a, `feature_data.npz lacks ${name}`);
      assert.equal(a.dtype, dtype, name);
      assert.deepEqual(a.shape, dims, name);
    }
    assertEachClose(
      npz.get("feature_mean_acts")!.data as Float32Array,
      s.meanActs,
      0,
      "npz mean acts",
    );

    // Probe: pooling on the GPU equals pooling the read-back activations.
    const pooled = await poolActivations(runner, set.n, 5);
    const zPool = poolTokensRef(z, set.n, 44);
    for (let i = 0; i < set.n; i++) {
      assertEachClose(
        pooled.saeMean.subarray(i * 24, (i + 1) * 24),
        zPool.subarray(i * 48, i * 48 + 24),
        1e-5,
        "sae mean",
      );
      assertEachClose(
        pooled.saeMax.subarray(i * 24, (i + 1) * 24),
        zPool.subarray(i * 48 + 24, (i + 1) * 48),
        0,
        "sae max",
      );
    }
    const results = runProbes(pooled, set.labels, set.subjects, {
      protocol: "loso",
      testSubject: 2,
      inputs: ["sae_mean_max", "reve_mean"],
      fit: DEFAULT_PROBE_FIT,
      kValues: [1, "all"],
      rankings: ["mean", "selectivity"],
      oracle: true,
      classNames: CLASSES,
      settings: { test: true },
    });
    assert.deepEqual(results.map((r) => r.name), ["loso_s2_sae_mean_max", "loso_s2_reve_mean"]);
    for (const r of results) validateProbeResult(JSON.parse(JSON.stringify(r)));
    assert.deepEqual(results[0].topk.map((c) => c.ranking), ["mean", "selectivity", "oracle"]);
    assert.equal(results[0].topk[0].points[1].n_features, 24);
    assert.equal(
      results[0].topk[0].points[1].balanced_accuracy,
      results[0].metrics.balanced_accuracy,
    );
    assert.ok(results[1].spliced !== null && results[0].spliced === null);
    assert.equal(results[0].folds[0].metrics.confusion.flat().reduce((a, b) => a + b, 0), 8);
  } finally {
    sae.dispose();
    model.dispose();
    await Deno.remove(out, { recursive: true });
  }
});
