/** `deno task features`: per-feature statistics, spectral signatures and the site JSON of a trained SAE. */
import {
  flagList,
  FLAGS,
  RECORDING_FLAGS,
  SAE_ANALYSIS_FLAGS,
  TRIAL_LABEL_FLAGS,
} from "./flag_registry.ts";
import { bool, FlagError, list, num, optNum, optStr, str } from "./flags.ts";
import { requiredLmdb } from "./recording_flags.ts";
import { runCli } from "./run_cli.ts";
import { dirname, join, resolve } from "node:path";
import { runFeaturesTask } from "../analysis/features_task.ts";
import type { ScalingMode, Split } from "../data/trials.ts";

await runCli({
  usage:
    "deno task features --sae DIR --model DIR --db_path DIR|--recordings PATH [--split test|all] " +
    "--out runs/NAME/features\n\n" +
    "One pass over the trials through REVE and the SAE on the GPU, accumulating every statistic\n" +
    "there; writes feature_data.npz (feature_mean_acts, feature_sparsity, per_class_mean_acts,\n" +
    "top_activating_trial_indices, ...), the trial store (trials.json, eeg/<k>.bin,\n" +
    "trial_acts/<k>.json: every trial, in chunks) and the report site's JSON (index.json,\n" +
    "f/ or chunks/).",
  flags: flagList(
    SAE_ANALYSIS_FLAGS,
    FLAGS.db_path,
    RECORDING_FLAGS,
    {
      name: "split",
      type: "string",
      help: "trials to analyse",
      choices: ["test", "val", "train", "all"],
      default: "test",
    },
    FLAGS.out,
    { name: "top_k", type: "int", help: "top trials kept per feature", default: 20 },
    {
      name: "site_top_trials",
      type: "int",
      help: "top trials per feature whose token activations the feature files carry",
      default: 5,
    },
    {
      name: "trial_chunk_size",
      type: "int",
      help: "trials per chunk of the trial store (eeg/<k>.bin, trial_acts/<k>.json)",
      default: 64,
    },
    { name: "neighbours", type: "int", help: "decoder neighbours per feature", default: 8 },
    {
      name: "chunk_size",
      type: "int",
      help: "features per detail file when d_sae > 2048 (one file per feature below)",
      default: 128,
    },
    TRIAL_LABEL_FLAGS,
  ),
  async main({ values }) {
    const positive = ["batch_size", "top_k", "site_top_trials", "chunk_size", "trial_chunk_size"];
    for (const name of positive) {
      if (num(values, name) < 1) throw new FlagError(`--${name} must be at least 1`);
    }
    await runFeaturesTask({
      saeDir: str(values, "sae"),
      modelDir: str(values, "model"),
      // Converted recordings go beside the features folder (the run folder's data/), not into it.
      dbPath: await requiredLmdb(values, join(dirname(resolve(str(values, "out"))), "data")),
      split: str(values, "split") as Split | "all",
      out: str(values, "out"),
      scaling: optStr(values, "scaling") as ScalingMode | undefined,
      hook: optStr(values, "hook"),
      blockLayer: optNum(values, "block_layer"),
      batchSize: num(values, "batch_size"),
      topK: num(values, "top_k"),
      siteTopTrials: num(values, "site_top_trials"),
      trialChunkSize: num(values, "trial_chunk_size"),
      neighbours: num(values, "neighbours"),
      chunkSize: num(values, "chunk_size"),
      classNames: list(values, "class_names"),
      skipBad: bool(values, "skip_bad"),
    });
  },
});
