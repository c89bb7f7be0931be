/** `deno task demo`: the whole pipeline on the embedded default, or on real inputs. */
import { bool, list, num, optNum, optStr, str } from "./flags.ts";
import { flagList, FLAGS, recordingOptionsFrom, withDefaults } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { type DemoSize, runDemo } from "../pipeline/demo.ts";
import type { ScalingMode } from "../data/trials.ts";

await runCli({
  usage:
    "deno task demo [--out runs/demo] [--size tiny|small|full] [--model REVE] [--db_path DIR | --recordings FILE|DIR,...]\n\n" +
    "Without --model, a REVE of random weights; without --db_path or --recordings, synthetic BCIC2a-shaped trials.",
  flags: flagList(
    withDefaults([FLAGS.out, FLAGS.seed], { out: "runs/demo", seed: 2026 }),
    {
      name: "size",
      type: "string",
      help: "synthetic data and model size",
      choices: ["tiny", "small", "full"],
      default: "small",
    },
    FLAGS.model,
    FLAGS.db_path,
    FLAGS.recordings,
    FLAGS.channels,
    FLAGS.events,
    FLAGS.window,
    FLAGS.label_file,
    FLAGS.scaling,
    withDefaults([FLAGS.cv_folds], { cv_folds: { note: "5 when the data hold one subject" } }),
    { name: "site", type: "boolean", help: "build the report site", default: true },
  ),
  main: async ({ values }) => {
    await runDemo({
      out: str(values, "out"),
      size: str(values, "size") as DemoSize,
      model: optStr(values, "model"),
      dbPath: optStr(values, "db_path"),
      recordings: list(values, "recordings"),
      recordingOptions: recordingOptionsFrom(values),
      cvFolds: optNum(values, "cv_folds"),
      scaling: str(values, "scaling") as ScalingMode,
      seed: num(values, "seed"),
      site: bool(values, "site"),
      argv: Deno.args,
    });
  },
});
