/**
 * Dataset-mode extraction: a synthetic LMDB through the CLI into activation shards; the shards
 * hold the hook's rows for every trial (checked against the model run directly on the same
 * preprocessed trials) and index.json labels every token with its trial, channel, patch and label.
 */
import assert from "node:assert/strict";
import { lookupPositions } from "../compute/data/montage.ts";
import { openTrialSource } from "../compute/data/open_source.ts";
import { preprocessTrialSet } from "../compute/data/preprocess.ts";
import { writeSyntheticDataset } from "../compute/data/synthetic_dataset.ts";
import { loadTrialSet } from "../compute/data/trials.ts";
import { readActivationIndex, readActivationShard } from "../compute/reve/activation_shards.ts";
import { loadReve } from "../compute/reve/model.ts";
import { GOLDEN_DIR } from "./fixtures/reve_helpers.ts";

const CLI = new URL("../compute/cli/extract.ts", import.meta.url).pathname;
const MODEL = `${GOLDEN_DIR}reve-tiny`;

Deno.test("extract over an LMDB writes shards and a per-token index matching the model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reve_dataset_" });
  try {
    const db = `${dir}/db`;
    await writeSyntheticDataset(db, {
      seed: 5,
      subjects: 1,
      trialsPerClass: 1,
      sfreq: 250,
      seconds: 4,
    });
    const out = `${dir}/acts`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        "--model",
        MODEL,
        "--db_path",
        db,
        "--out",
        out,
        "--batch_size",
        "3",
        "--shard_trials",
        "5",
        "--scaling",
        "uv_div100",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));

    const index = await readActivationIndex(out);
    assert.equal(index.hook, "blocks.0.hook_resid_post");
    assert.equal(index.d, 64);
    assert.equal(index.patches, 4);
    assert.equal(index.tokens_per_trial, 88);
    assert.equal(index.trials.key.length, 8);
    assert.equal(index.tokens, 8 * 88);
    assert.deepEqual(index.shards.map((s) => s.tokens), [6 * 88, 2 * 88]);
    assert.equal(index.preprocessing.scaling, "uv_div100");
    assert.equal(index.preprocessing.sfreq, 200);

    // The same trials, preprocessed the same way, run directly.
    const source = await openTrialSource({ dbPath: db });
    let set;
    try {
      set = preprocessTrialSet(await loadTrialSet(source), {
        sfreq: 200,
        bandpass: null,
        scaling: "uv_div100",
        euclideanAlignment: false,
      });
    } finally {
      source.close();
    }
    const model = await loadReve(MODEL);
    let want: Float32Array;
    try {
      const r = await model.forward({
        eeg: new Float32Array(set.eeg),
        batch: set.n,
        channels: 22,
        samples: set.samples,
        pos: new Float32Array(lookupPositions(set.channels)),
      }, { outputs: ["hidden.1"] });
      want = r.get("hidden.1")!;
    } finally {
      model.dispose();
    }
    let row = 0;
    for (const shard of index.shards) {
      const acts = await readActivationShard(out, index, shard);
      for (let k = 0; k < shard.tokens; k++, row++) {
        const trial = Math.floor(row / 88);
        assert.equal(shard.trial[k], trial);
        assert.equal(shard.channel[k], Math.floor((row % 88) / 4));
        assert.equal(shard.patch[k], row % 4);
        assert.equal(shard.label[k], set.labels[trial]);
      }
      const offset = (row - shard.tokens) * 64;
      let max = 0;
      for (let i = 0; i < acts.length; i++) {
        max = Math.max(max, Math.abs(acts[i] - want[offset + i]));
      }
      assert.ok(max < 1e-5, `shard ${shard.file} differs by ${max}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
