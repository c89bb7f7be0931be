/** `deno task site --run runs/NAME [--run ...] [--out DIR] [--screenshots]`: the static report site. */
import { bool, list, optStr } from "./flags.ts";
import { runCli } from "./run_cli.ts";
import { siteCommand } from "../../site/tools/site_command.ts";

await runCli({
  usage: "deno task site --run runs/NAME [--run runs/OTHER] [--out site/dist] [--screenshots]",
  flags: [
    {
      name: "run",
      type: "list",
      help: "run folder to publish (repeat or comma-separate for several)",
    },
    { name: "out", type: "string", help: "output folder", default: "site/dist" },
    {
      name: "screenshots",
      type: "boolean",
      help: "also write PNGs of the overview and a feature page",
      default: false,
    },
  ],
  main: async ({ values }) => {
    await siteCommand({
      runs: list(values, "run"),
      out: optStr(values, "out"),
      screenshots: bool(values, "screenshots"),
    });
  },
});
