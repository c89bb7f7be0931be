/** `deno task demo`: the whole pipeline on the embedded default, or on real inputs. */
import { bool, num, optStr, str } from "./flags.ts";
import { flagList, FLAGS, withDefaults } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { type DemoSize, runDemo } from "../pipeline/demo.ts";
import type { ScalingMode } from "../data/trials.ts";

await runCli({
  usage:
    "deno task demo [--out runs/demo] [--size tiny|small|full] [--model REVE] [--db_path DIR | --gdf_dir DIR]\n\n" +
    "Without --model, a REVE of random weights; without --db_path or --gdf_dir, synthetic BCIC2a-shaped trials.",
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
    {
      name: "gdf_dir",
      type: "string",
      help:
        "folder of BCIC2a GDF files (A01T.gdf, ...; evaluation labels as A01E.txt), instead of --db_path",
    },
    FLAGS.scaling,
    { name: "site", type: "boolean", help: "build the report site", default: true },
  ),
  main: async ({ values }) => {
    await runDemo({
      out: str(values, "out"),
      size: str(values, "size") as DemoSize,
      model: optStr(values, "model"),
      dbPath: optStr(values, "db_path"),
      gdfDir: optStr(values, "gdf_dir"),
      scaling: str(values, "scaling") as ScalingMode,
      seed: num(values, "seed"),
      site: bool(values, "site"),
      argv: Deno.args,
    });
  },
});
