/**
 * The trial store's writer without a GPU: chunks appear as their last trial arrives (the short
 * last one included), the EEG round-trips within half an int16 step, and trials out of order or a
 * store left incomplete are refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TrialStoreWriter } from "../compute/analysis/trial_store_writer.ts";
import { FeatureStatsError } from "../compute/analysis/feature_stats.ts";
import {
  decodeEegChunk,
  EEG_QUANT_MAX,
  type TrialActs,
  validateTrialActsChunk,
} from "../schema/run_folder.ts";
import { syntheticTrialSet } from "./fixtures/trial_sets.ts";
import { rejectsWith, throwsWith } from "./fixtures/data_helpers.ts";

function actsOf(trial: number, channels: number, patches: number): TrialActs {
  const grid = (v: number) => Array.from({ length: channels }, () => new Array(patches).fill(v));
  return {
    trial,
    n_active: 1,
    top: [[trial % 5, trial + 1, trial + 1, 1]],
    tail: [],
    token_max: grid(0),
    token_argmax: grid(-1),
    channel_top: Array.from({ length: channels }, () => []),
    maps: [new Array(channels * patches).fill(0)],
  };
}

Deno.test("TrialStoreWriter writes each chunk when its last trial arrives", async () => {
  const set = syntheticTrialSet({
    seed: 2,
    subjects: 2,
    trialsPerClass: 1,
    sfreq: 200,
    seconds: 2,
  });
  const dir = await Deno.makeTempDir({ prefix: "trial_store_" });
  try {
    const C = set.channels.length;
    const store = new TrialStoreWriter(dir, set, 5);
    assert.equal(set.n, 16);
    const files = async (sub: string) => {
      const names: string[] = [];
      for await (const e of Deno.readDir(join(dir, sub))) names.push(e.name);
      return names.sort();
    };
    for (let i = 0; i < 4; i++) await store.add(actsOf(i, C, 2));
    await assert.rejects(() => Deno.stat(join(dir, "eeg")), Deno.errors.NotFound);
    await store.add(actsOf(4, C, 2));
    assert.deepEqual(await files("eeg"), ["0.bin"]);
    assert.deepEqual(await files("trial_acts"), ["0.json"]);
    throwsWith(() => store.finish(), FeatureStatsError, /5 of the set's 16 trials/);
    await rejectsWith(
      () => store.add(actsOf(6, C, 2)),
      FeatureStatsError,
      "expected trial 5, got 6",
    );
    for (let i = 5; i < 16; i++) await store.add(actsOf(i, C, 2));
    const layout = store.finish();
    assert.deepEqual(layout, { chunk_size: 5, n_chunks: 4 });
    assert.deepEqual(await files("eeg"), ["0.bin", "1.bin", "2.bin", "3.bin"]);
    const last = validateTrialActsChunk(
      JSON.parse(await Deno.readTextFile(join(dir, "trial_acts", "3.json"))),
      { n_classes: 4, n_channels: C, n_patches: 2 },
      layout,
      16,
    );
    assert.deepEqual(last.trials.map((t) => t.trial), [15]);
    const eeg = decodeEegChunk(await Deno.readFile(join(dir, "eeg", "3.bin")), 1, C, set.samples);
    const row = set.eeg.subarray(15 * C * set.samples, 16 * C * set.samples);
    for (let c = 0; c < C; c++) {
      const ch = row.subarray(c * set.samples, (c + 1) * set.samples);
      const max = Math.max(...ch.map(Math.abs));
      ch.forEach((v, t) => {
        const back = eeg.values[c * set.samples + t] * eeg.scales[c];
        assert.ok(Math.abs(back - v) <= (0.5 + 1e-3) * max / EEG_QUANT_MAX, `${c}/${t}`);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
