/** `deno task demo`: the whole pipeline on the embedded default, or on real inputs. */
import { bool, num, optNum, optStr, str } from "./flags.ts";
import { RECORDING_FLAGS, recordingOptions, recordingPaths } from "./recording_flags.ts";
import { runCli } from "./run_cli.ts";
import { type DemoSize, runDemo } from "../pipeline/demo.ts";
import type { ScalingMode } from "../data/trials.ts";

await runCli({
  usage:
    "deno task demo [--out runs/demo] [--size tiny|small|full] [--model DIR] [--db_path DIR | --recordings FILE|DIR,...]",
  flags: [
    { name: "out", type: "string", help: "run folder", default: "runs/demo" },
    {
      name: "size",
      type: "string",
      help: "synthetic data and model size",
      choices: ["tiny", "small", "full"],
      default: "small",
    },
    {
      name: "model",
      type: "string",
      help:
        "REVE folder (config.json + model.safetensors, e.g. brain-bzh/reve-base); random weights when absent",
    },
    {
      name: "db_path",
      type: "string",
      help: "LMDB of trials (seed format); synthetic BCIC2a-shaped data when absent",
    },
    ...RECORDING_FLAGS,
    {
      name: "scaling",
      type: "string",
      help: "signal scaling before REVE",
      choices: ["zscore_clip15", "uv_div100"],
      default: "zscore_clip15",
    },
    {
      name: "cv_folds",
      type: "int",
      help: "probe by within-subject K-fold CV (default 5 when the data hold one subject)",
    },
    { name: "seed", type: "int", help: "seed for data, model and SAE", default: 2026 },
    { name: "site", type: "boolean", help: "build the report site", default: true },
  ],
  main: async ({ values }) => {
    await runDemo({
      out: str(values, "out"),
      size: str(values, "size") as DemoSize,
      model: optStr(values, "model"),
      dbPath: optStr(values, "db_path"),
      recordings: recordingPaths(values),
      recordingOptions: recordingOptions(values),
      cvFolds: optNum(values, "cv_folds"),
      scaling: str(values, "scaling") as ScalingMode,
      seed: num(values, "seed"),
      site: bool(values, "site"),
      argv: Deno.args,
    });
  },
});
