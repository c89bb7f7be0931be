/**
 * `features` and `probe` as their CLIs run them: a synthetic LMDB written by the data module, a
 * JumpReLU SAE checkpoint on disk, reve-tiny; outputs checked against the site's contract (the
 * trial store holds every trial), and a rerun of the probe from the saved pooled activations
 * (float16, deflated) reproduces the first run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSyntheticDataset } from "../compute/data/synthetic_dataset.ts";
import { writeSafetensors } from "../compute/io/safetensors.ts";
import { Rng } from "../compute/data/rng.ts";
import { runFeaturesTask } from "../compute/analysis/features_task.ts";
import { type ProbeTaskOptions, runProbeTask } from "../compute/analysis/probe_task.ts";
import { DEFAULT_PROBE_FIT } from "../compute/analysis/probe_fit.ts";
import { listZipEntries, readNpz } from "../compute/io/npz.ts";
import {
  decodeEegChunk,
  shapeOf,
  trialsInChunk,
  trialStorePaths,
  validateFeatureIndex,
  validateProbeResult,
  validateTrialActsChunk,
  validateTrialTable,
} from "../schema/run_folder.ts";

const CLASSES = ["left_hand", "right_hand", "feet", "tongue"];

async function writeJumpReluSae(dir: string, dIn: number, dSae: number): Promise<void> {
  const rng = new Rng(5);
  const wDec = Float32Array.from({ length: dSae * dIn }, () => rng.normal() / Math.sqrt(dIn));
  const wEnc = new Float32Array(dIn * dSae);
  for (let d = 0; d < dIn; d++) {
    for (let f = 0; f < dSae; f++) wEnc[d * dSae + f] = wDec[f * dIn + d];
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "sae_weights.safetensors"), {
    W_enc: { shape: [dIn, dSae], data: wEnc },
    b_enc: { shape: [dSae], data: new Float32Array(dSae) },
    W_dec: { shape: [dSae, dIn], data: wDec },
    b_dec: { shape: [dIn], data: new Float32Array(dIn) },
    threshold: { shape: [dSae], data: new Float32Array(dSae).fill(0.02) },
  });
  await Deno.writeTextFile(
    join(dir, "cfg.json"),
    JSON.stringify({
      d_in: dIn,
      d_sae: dSae,
      architecture: "jumprelu",
      hook_name: "blocks.0.hook_resid_post",
    }),
  );
}

Deno.test("features and probe tasks from disk: LMDB, JumpReLU checkpoint, reve-tiny", async () => {
  const dir = await Deno.makeTempDir({ prefix: "analysis_tasks_" });
  try {
    await writeSyntheticDataset(join(dir, "db"), {
      seed: 3,
      subjects: 9,
      trialsPerClass: 1,
      sfreq: 200,
      seconds: 2,
    });
    await writeJumpReluSae(join(dir, "sae"), 64, 16);
    const common = {
      saeDir: join(dir, "sae"),
      modelDir: "tests/golden/reve-tiny",
      dbPath: join(dir, "db"),
      scaling: "uv_div100" as const,
      batchSize: 8,
      classNames: CLASSES,
      skipBad: false,
    };
    await runFeaturesTask({
      ...common,
      split: "test",
      out: join(dir, "run", "features"),
      topK: 4,
      siteTopTrials: 2,
      trialChunkSize: 5,
      neighbours: 3,
      chunkSize: 128,
    });
    const index = validateFeatureIndex(
      JSON.parse(await Deno.readTextFile(join(dir, "run", "features", "index.json"))),
    );
    // The synthetic set's test split is subjects 8–9 (2 subjects × 2 sessions × 4 classes).
    assert.equal(index.n_trials, 16);
    assert.equal(index.d_sae, 16);
    assert.deepEqual(index.trial_store, { chunk_size: 5, n_chunks: 4 });
    const features = join(dir, "run", "features");
    const shape = shapeOf(index);
    const table = validateTrialTable(
      JSON.parse(await Deno.readTextFile(join(features, "trials.json"))),
      shape,
      16,
    );
    assert.ok(table.subjects.every((s) => s === 8 || s === 9));
    const trials: number[] = [];
    for (let k = 0; k < 4; k++) {
      const paths = trialStorePaths(index.trial_store, k * 5);
      const acts = validateTrialActsChunk(
        JSON.parse(await Deno.readTextFile(join(features, paths.acts))),
        shape,
        index.trial_store,
        16,
      );
      trials.push(...acts.trials.map((t) => t.trial));
      const n = trialsInChunk(index.trial_store, 16, k);
      const eeg = decodeEegChunk(
        await Deno.readFile(join(features, paths.eeg)),
        n,
        shape.n_channels,
        index.n_samples,
      );
      // Each trial-and-channel row is scaled so its largest sample is ±32767.
      for (let r = 0; r < n * shape.n_channels; r++) {
        const row = eeg.values.subarray(r * index.n_samples, (r + 1) * index.n_samples);
        assert.equal(Math.max(...row.map(Math.abs)), 32767, `chunk ${k} row ${r}`);
      }
    }
    assert.deepEqual(trials, Array.from({ length: 16 }, (_, i) => i));
    const npz = await readNpz(join(features, "feature_data.npz"));
    assert.deepEqual(npz.get("top_activating_trial_indices")!.shape, [16, 4]);
    const settings = JSON.parse((npz.get("settings_json")!.data as string[])[0]);
    assert.equal(settings.preprocessing.scaling, "uv_div100");

    const probe: ProbeTaskOptions = {
      ...common,
      out: join(dir, "run"),
      protocol: "cbramod_split",
      inputs: ["sae_mean_max", "reve_mean"],
      fit: DEFAULT_PROBE_FIT,
      kValues: [1, 2, "all"],
      rankings: ["mean", "selectivity"],
      oracle: false,
    };
    const first = await runProbeTask(probe);
    for (const r of first) {
      const file = join(dir, "run", "probe", `${r.name}.json`);
      validateProbeResult(JSON.parse(await Deno.readTextFile(file)), file);
    }
    assert.equal(
      first[0].protocol.description,
      "train subjects 1, 2, 3, 4, 5, validate 6, 7 (choosing C), test 8, 9",
    );
    assert.equal(first[0].settings.hook, "blocks.0.hook_resid_post");
    const pooledFile = join(dir, "run", "probe", "pooled_activations.npz");
    const pooled = await readNpz(pooledFile);
    for (const k of ["sae_mean", "sae_max", "reve_mean", "recon_mean"]) {
      assert.equal(pooled.get(k)!.dtype, "f2", k);
    }
    assert.deepEqual(pooled.get("sae_mean")!.shape, [72, 16]);
    assert.ok(
      listZipEntries(await Deno.readFile(pooledFile), pooledFile).every((e) => e.method === 8),
    );
    const again = await runProbeTask({
      ...probe,
      pooled: join(dir, "run", "probe", "pooled_activations.npz"),
    });
    assert.deepEqual(again.map((r) => r.metrics), first.map((r) => r.metrics));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
