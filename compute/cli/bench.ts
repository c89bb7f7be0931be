/** `deno task bench`: kernel throughput against the adapter's FMA peak and onnxruntime-web. */
import { bool, list } from "./flags.ts";
import { runCli } from "./run_cli.ts";
import { BENCH_SECTIONS, runBench } from "../bench/run_bench.ts";

await runCli({
  usage:
    "deno task bench [--quick] [--json] [--no_ort] [--autotune] [--full_shapes] [--only SECTION,...]",
  flags: [
    {
      name: "quick",
      type: "boolean",
      help: "fewer runs; skip the slowest comparisons",
      default: false,
    },
    {
      name: "json",
      type: "boolean",
      help: "print one JSON object on stdout (the tables go to stderr)",
      default: false,
    },
    { name: "no_ort", type: "boolean", help: "do not race onnxruntime-web", default: false },
    {
      name: "autotune",
      type: "boolean",
      help: "time candidate matmul tiles first (cached in ~/.cache/eeg-sae/) and use the fastest",
      default: false,
    },
    {
      name: "full_shapes",
      type: "boolean",
      help: "SAE step at d_in 512, d_sae 8192, 4096 tokens even on a software adapter (minutes)",
      default: false,
    },
    {
      name: "only",
      type: "list",
      help: `sections to run: ${BENCH_SECTIONS.map((s) => s.name).join(", ")}`,
    },
  ],
  async main({ values }) {
    const json = bool(values, "json");
    const results = await runBench({
      quick: bool(values, "quick"),
      ort: !bool(values, "no_ort"),
      autotune: bool(values, "autotune"),
      fullShapes: bool(values, "full_shapes"),
      only: list(values, "only"),
      // With --json, stdout holds only the JSON object; the tables still show progress on stderr.
      log: json ? (line) => console.error(line) : (line) => console.log(line),
    });
    if (json) console.log(JSON.stringify(results));
  },
});
